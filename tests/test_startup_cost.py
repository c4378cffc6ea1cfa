"""What keeps start-up cheap (#10), as behaviour: one TLS context whose CA bundle is read on the
first TLS handshake only, verifying exactly like httpx's default; no LLM client under --no-llm;
loading plugin.py the MaiBot way builds no model schema and imports neither httpx nor Pillow; a
pass-through draw and the plugin's import load no code they do not use and compile no pattern early.
The timings themselves are in bench/startup.py and bench/plugin_import.py."""

from __future__ import annotations

import base64
import http.server
import io
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import respx
from PIL import Image

from llm2pic.backends import tls
from llm2pic.backends.registry import make_client
from llm2pic.frontends.cli.main import main
from llm2pic.config.backends import GradioBackendConfig, OpenAIBackendConfig
from llm2pic.lazy_regex import lazy_compile
from llm2pic.prompt.parse import has_cjk
from llm2pic.prompt.safety import _whole_word_in

ROOT = Path(__file__).resolve().parent.parent


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("content-length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


def _serve(server: http.server.HTTPServer):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def http_server():
    server = _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello))
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (no CA anyone trusts)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def https_server(certificate):
    cert, key = certificate
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    _serve(server)
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh_context(monkeypatch):
    """A process-wide context of this test's own, counting how often a CA store is read."""
    monkeypatch.setattr(tls, "_shared", None)
    loads = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        loads.append(type(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    created = []
    original_default = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context",
                        lambda *a, **k: created.append(a) or original_default(*a, **k))
    return loads, created


def _context_of(client: httpx.AsyncClient) -> ssl.SSLContext:
    return client._transport._pool._ssl_context  # httpx 0.28 / httpcore 1.x


async def test_clients_share_one_context_and_an_http_only_run_reads_no_ca_bundle(fresh_context, http_server):
    loads, created = fresh_context
    configs = [GradioBackendConfig(name="a", base_url=http_server),
               GradioBackendConfig(name="b", base_url="http://127.0.0.1:9"),
               OpenAIBackendConfig(name="c", api_key="sk-test")]
    clients = [make_client(config) for config in configs]
    try:
        assert {id(_context_of(client)) for client in clients} == {id(tls.shared_tls_context())}
        response = await clients[0].get(http_server + "/")
        assert response.text == "hello"
    finally:
        for client in clients:
            await client.aclose()
    assert loads == [] and created == [], "an http:// run read a CA bundle"
    assert not tls.shared_tls_context().ca_loaded


async def test_https_is_verified_and_the_bundle_read_once_for_every_client(fresh_context, https_server):
    loads, created = fresh_context
    clients = [make_client(GradioBackendConfig(name=f"b{i}", base_url=https_server)) for i in range(3)]
    try:
        for client in clients:  # certifi's bundle does not trust a self-signed certificate
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(https_server + "/")
    finally:
        for client in clients:
            await client.aclose()
    assert len(loads) == 1 and created == []
    assert tls.shared_tls_context().ca_loaded


async def test_ssl_cert_file_is_honoured_as_by_httpx(fresh_context, https_server, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    async with make_client(GradioBackendConfig(name="own-ca", base_url=https_server)) as client:
        assert (await client.get(https_server + "/")).text == "hello"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|match"):
            await client.get(https_server.replace("127.0.0.1", "localhost") + "/")  # not the certificate's name


def test_the_shared_context_is_set_up_like_httpx_default():
    ours, httpx_default = tls._DeferredCAContext.create(), httpx.create_ssl_context()
    for attribute in ("protocol", "verify_mode", "check_hostname", "options", "verify_flags", "minimum_version",
                      "maximum_version", "post_handshake_auth"):
        assert getattr(ours, attribute) == getattr(httpx_default, attribute), attribute


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("no_llm, clients", [(True, 1), (False, 2)])
def test_draw_builds_the_llm_client_only_when_an_llm_is_asked(tmp_path, monkeypatch, capsys, no_llm, clients):
    config = tmp_path / "config.toml"
    config.write_text('[plugin]\nconfig_version = "1.0.0"\n\n[llm]\nbase_url = "https://llm.example/v1"\n'
                      'model = "m"\napi_key = "sk-llm-0000"\n\n[[backends]]\ntype = "openai"\nname = "img"\n'
                      'api_key = "sk-img-0000"\nmodel = "gpt-image-1"\n', encoding="utf-8")
    built = []
    original = httpx.AsyncClient.__init__

    def counting(self, *args, **kwargs):
        built.append(kwargs.get("verify"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "__init__", counting)
    with respx.mock(assert_all_called=False) as router:
        router.post("https://api.openai.com/v1/images/generations").respond(
            200, json={"created": 1, "data": [{"b64_json": base64.b64encode(png()).decode()}]})
        llm = router.post("https://llm.example/v1/chat/completions").respond(
            200, json={"choices": [{"message": {"content": "a red fox in the snow"}}]})
        argv = ["draw", "画一只狐狸", "--config", str(config), "--out", str(tmp_path / "out.png")]
        assert main(argv + (["--no-llm"] if no_llm else [])) == 0, capsys.readouterr().err
    assert len(built) == clients and llm.called == (not no_llm)
    assert all(verify is tls.shared_tls_context() for verify in built)


def test_loading_the_plugin_builds_no_schema_and_imports_neither_httpx_nor_pillow():
    """In a fresh interpreter, as tests/maibot_fake_host.py loads it; then the runner's first
    validation builds the SDK copy of the model, and the original model stays unbuilt."""
    code = f"""
import sys
sys.path.insert(0, {str(ROOT / 'tests')!r})
from pathlib import Path
from maibot_fake_host import load_plugin_module
module = load_plugin_module(Path({str(ROOT)!r}))
heavy = sorted(name for name in ("httpx", "PIL", "certifi") if name in sys.modules)
assert heavy == [], heavy
model = module.LLM2PicPlugin.config_model
config_module = sys.modules[module.__name__ + ".config.model"]
assert not model.__pydantic_complete__ and not config_module.Config.__pydantic_complete__
plugin = module.LLM2PicPlugin()
plugin.set_plugin_config({{}})
assert plugin.config.backends[0].type == "gradio" and model.__pydantic_complete__
assert not config_module.Config.__pydantic_complete__, "the model tree was built twice"
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert result.stdout.strip() == "ok", result.stderr[-3000:]


def test_lazy_patterns_compile_once_on_first_use_and_behave_like_re():
    pattern = lazy_compile(r"(?P<word>fox)", re.I)
    assert pattern._compiled is None
    assert pattern.search("A FOX").group("word") == "FOX"
    compiled = pattern._compiled
    assert pattern.sub("cat", "fox Fox") == "cat cat" and pattern._compiled is compiled
    assert (pattern.pattern, pattern.flags) == (compiled.pattern, compiled.flags)


# --- what a pass-through draw and the plugin's import leave unloaded and uncompiled (#10, round 2) ---------

# Modules a `draw --no-llm` through a Gradio backend whose image goes out unchanged never uses: other
# backends' code, the doctor, deploy and config-upgrade code and their libraries, Pillow, httpx's own CLI.
NOT_FOR_A_PASS_THROUGH_DRAW = (
    "llm2pic.backends.gradio.doctor", "llm2pic.backends.openai", "llm2pic.backends.openai_chat",
    "llm2pic.backends.hf_inference", "llm2pic.backends.sd_webui", "llm2pic.backends.comfyui",
    "llm2pic.drawing.llm_endpoint", "llm2pic.backends.download", "llm2pic.frontends.maibot.config_adoption",
    "llm2pic.hub",
    "PIL", "tomlkit", "huggingface_hub", "websockets", "click", "rich", "pygments",
)
# Patterns compiled on first use that such a draw never uses (an app's error text, long-text CJK check).
LAZY_PATTERNS = ("backends.gradio.errors._QUOTA", "backends.gradio.errors._REJECTED", "prompt.parse._CJK",
                 "prompt.parse._REASONING_CLOSE")

_DRAW_IN_A_FRESH_PROCESS = """
import importlib, runpy, sys
sys.argv = ["llm2pic", "draw", "a red fox", "--no-llm", "--seed", "1", "--config", sys.argv[1], "--out", sys.argv[2]]
try:
    runpy.run_module("llm2pic", run_name="__main__")  # exactly `python -m llm2pic draw …`
except SystemExit as exit:
    assert exit.code == 0, exit.code
loaded = sorted(name for name in {not_loaded!r} if name in sys.modules and sys.modules[name] is not None)
assert loaded == [], loaded
for dotted in {lazy!r}:
    module, name = dotted.rsplit(".", 1)
    assert getattr(importlib.import_module("llm2pic." + module), name)._compiled is None, dotted
print("ok")
"""


def test_a_pass_through_draw_loads_only_what_it_uses(lab_servers, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[plugin]\nconfig_version = "1.0.0"\n\n[[backends]]\ntype = "gradio"\nname = "lab"\n'
                      f'base_url = "{lab_servers["6"].url}"\npreset = "z-image-turbo"\n', encoding="utf-8")
    out = tmp_path / "out.png"
    code = _DRAW_IN_A_FRESH_PROCESS.format(not_loaded=NOT_FOR_A_PASS_THROUGH_DRAW, lazy=LAZY_PATTERNS)
    result = subprocess.run([sys.executable, "-c", code, str(config), str(out)], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"})
    assert result.stdout.splitlines()[-1:] == ["ok"], result.stderr[-3000:]  # after the draw's own line
    assert out.read_bytes().startswith(b"\x89PNG")  # the app's PNG, unchanged


def test_loading_the_plugin_compiles_no_redaction_pattern_and_loads_no_doctor_deploy_or_backend_code():
    code = f"""
import sys
sys.path.insert(0, {str(ROOT / 'tests')!r})
from pathlib import Path
from maibot_fake_host import load_plugin_module
module = load_plugin_module(Path({str(ROOT)!r}))
prefix = module.__name__ + "."
ours = [prefix + name.removeprefix("llm2pic.") for name in {NOT_FOR_A_PASS_THROUGH_DRAW!r}
        if name.startswith("llm2pic.") and name != "llm2pic.frontends.maibot.config_adoption"]  # create_plugin() adopts the file
others = [name for name in {NOT_FOR_A_PASS_THROUGH_DRAW!r} if not name.startswith("llm2pic.")]
loaded = sorted(name for name in ours + others + [prefix + "backends.gradio.backend"] if name in sys.modules)
assert loaded == [], loaded
redaction = sys.modules[prefix + "redaction"]
patterns = [redaction._TOKEN_SHAPES, redaction._URL_USERINFO, redaction._TOKEN_RUN, *redaction._KEY_ECHOES]
assert all(pattern._compiled is None for pattern in patterns), "a redaction pattern was compiled at import"
shown = redaction.redact("Incorrect API key provided: abc123secret. hf_abcdefghijkl")  # compiled on use
assert shown.startswith("Incorrect API key provided: ***") and "abc123" not in shown and "hf_abc" not in shown, shown
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert result.stdout.strip() == "ok", result.stderr[-3000:]


_CJK_CLASS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f]")


def _word_pattern(needle: str) -> re.Pattern:
    return re.compile(rf"(?<![a-z0-9_]){re.escape(needle)}(?:s|es)?(?![a-z0-9_])")


@pytest.mark.parametrize("needle, haystack, found", [
    ("nude", "nudes", True), ("nude", "denuded", False), ("sex", "sexes", True), ("sex", "sexy", False),
    ("sex", "unisex", False), ("sex", "a sex_", False), ("sex", "x sexs sex", True), ("gore", "gore", True),
    ("gore", "gore-tex", True), ("gore", "goree", False), ("child porn", "a child porns", True),
])
def test_whole_word_safety_matching_is_the_pattern_it_replaced(needle, haystack, found):
    assert _whole_word_in(needle, haystack) is found
    assert bool(_word_pattern(needle).search(haystack)) is found


def test_whole_word_matching_and_the_cjk_check_agree_with_the_patterns_on_random_text():
    rnd = random.Random(10)
    letters = "abes _9-xé"
    alphabet = "abe 9\u00e9\u303f\u3040\u30ff\u3100\u33ff\u3400\u4dbf\u4e00\u9fff\ua000\uac00\ud7af\ud7b0" \
               "\uf8ff\uf900\ufaff\ufb00\uff65\uff66\uff9f\uffa0"
    for _ in range(20_000):
        haystack = "".join(rnd.choice(letters) for _ in range(rnd.randint(0, 14)))
        needle = "".join(rnd.choice("abes") for _ in range(rnd.randint(1, 3)))
        assert _whole_word_in(needle, haystack) == bool(_word_pattern(needle).search(haystack)), (needle, haystack)
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 10)))
        for sample in (text, text * 30):  # short texts by character ranges, long ones by the pattern
            assert has_cjk(sample) == bool(_CJK_CLASS.search(sample)), sample
