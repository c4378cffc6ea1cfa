"""Everything the CLI prints or logs that came from a server (an app's log lines, its parameter
defaults and labels, error text) or from the config (URLs with user:password@, a key pasted into
`*_env`) is redacted. The Gradio app is respx-mocked with the wire shapes of gradio/queueing.py
(`log` messages) and gradio/routes.py (`/config`, `/info`)."""

from __future__ import annotations

import io
import json

import httpx
import respx
from PIL import Image

from llm2pic.frontends.cli.main import main

BASE = "https://lab.example.org"
TOKEN = "plain-CANARY-token-4242"  # not token-shaped: only exact-match redaction can catch it
PASSWORD = "CANARYpassword77"
PASTED = "CANARYpastedKey-0011223344"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, "PNG")
    return buffer.getvalue()


def app(router, events):
    config = {"version": "5.9.1", "api_prefix": "/gradio_api", "protocol": "sse_v3",
              "components": [{"id": 1, "type": "textbox", "props": {"label": f"Prompt {TOKEN}", "value": TOKEN}}],
              "dependencies": [{"id": 0, "api_name": "draw", "targets": [[3, "click"]], "inputs": [1], "outputs": []}]}
    info = {"named_endpoints": {"/draw": {"parameters": [
        {"label": f"Prompt {TOKEN}", "parameter_name": "prompt", "parameter_has_default": True,
         "parameter_default": TOKEN, "component": "Textbox"}]}}}
    router.get(f"{BASE}/config").respond(json=config)
    router.get(f"{BASE}/gradio_api/info").respond(json=info)
    router.post(f"{BASE}/gradio_api/queue/join").respond(json={"event_id": "e1"})
    body = "".join(f"data: {json.dumps(event)}\n\n" for event in events)
    router.get(f"{BASE}/gradio_api/queue/data").respond(200, headers={"content-type": "text/event-stream"},
                                                        content=body.encode())
    router.get(url__startswith=f"{BASE}/gradio_api/file=").respond(200, content=png())


def write_config(tmp_path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[[backends]]
type = "gradio"
name = "lab"
base_url = "https://me:{PASSWORD}@lab.example.org"
preset = "none"
api_name = "/draw"
inputs = {{ prompt = "{{prompt}}" }}
hf_token_env = "LAB_TOKEN"
startup_wait = 0

[[backends]]
type = "openai"
name = "relay"
enabled = false
base_url = "http://127.0.0.1:9/v1"
api_key_env = "{PASTED}"
""", encoding="utf-8")
    return str(path)


def test_an_apps_log_lines_and_errors_are_redacted_on_stderr(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LAB_TOKEN", TOKEN)
    events = [{"msg": "log", "event_id": "e1", "log": f"received token {TOKEN}", "title": "Info"},
              {"msg": "log", "event_id": "e1", "log": "\x1b[2J\x1b]0;owned\x07\rfake line", "title": "Info"},
              {"msg": "process_completed", "event_id": "e1", "success": False,
               "output": {"error": f"bad token {TOKEN} for me:{PASSWORD}", "title": "Error"}}]
    with respx.mock(assert_all_called=False) as router:
        app(router, events)
        code = main(["-v", "draw", "a cat", "--no-llm", "--config", write_config(tmp_path),
                     "--out", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "received token ***" in err  # the line is shown, the token is not
    assert TOKEN not in err and PASSWORD not in err and PASTED not in err
    assert "\x1b" not in err and "\x07" not in err and "\r" not in err  # no terminal escapes from a server


def test_the_prompt_and_json_output_are_redacted(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LAB_TOKEN", TOKEN)
    events = [{"msg": "process_completed", "event_id": "e1", "success": True,
               "output": {"data": [{"path": "/tmp/x.png", "url": None, "orig_name": "x.png",
                                    "meta": {"_type": "gradio.FileData"}}]}}]
    with respx.mock(assert_all_called=False) as router:
        app(router, events)
        code = main(["draw", f"a cat saying {TOKEN}", "--no-llm", "--json", "--config", write_config(tmp_path),
                     "--out", str(tmp_path / "o.png")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert TOKEN not in captured.out + captured.err


def test_doctor_redacts_defaults_labels_env_names_and_url_passwords(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LAB_TOKEN", TOKEN)
    with respx.mock(assert_all_called=False) as router:
        app(router, [])
        router.get("http://127.0.0.1:9/v1/models").mock(side_effect=httpx.ConnectError("refused"))
        main(["doctor", "--config", write_config(tmp_path)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "lab" in out.out and "endpoint /draw" in out.out
    assert TOKEN not in text and PASSWORD not in text and PASTED not in text


def test_logs_forwarded_to_the_host_are_redacted_traceback_included(caplog):
    import logging

    from llm2pic.frontends.log_forwarding import _PACKAGE_ROOT, forward_logs

    secrets: list[str] = []
    target = logging.getLogger("test.host.plugin")
    forward_logs(target, secrets)
    secrets[:] = [TOKEN]  # the plugin fills the list once the config is known
    source = logging.getLogger(f"{_PACKAGE_ROOT}.backends.x")
    try:
        raise KeyError(f"token {TOKEN}")
    except KeyError:
        with caplog.at_level(logging.INFO, logger="test.host.plugin"):
            source.error("failed with %s", TOKEN, exc_info=True)
    package = logging.getLogger(_PACKAGE_ROOT)
    package.handlers, package.propagate = [], True  # as before this test
    forwarded = [r.getMessage() for r in caplog.records if r.name == "test.host.plugin"]
    assert forwarded and "KeyError" in forwarded[0] and "failed with ***" in forwarded[0]
    assert TOKEN not in caplog.text


def test_doctor_goes_on_when_a_probe_fails_outside_the_taxonomy(tmp_path, capsys, monkeypatch):
    """A bug (or an answer no edge mapped) in one backend's probe is that backend's FAIL line, one
    line and redacted, and the next backend is still probed (#10: one failure never stops the rest)."""
    from llm2pic.backends.gradio.backend import GradioBackend

    async def broken_probe(self):
        raise RuntimeError(f"boom with {TOKEN}\nsecond line")

    monkeypatch.setenv("LAB_TOKEN", TOKEN)
    monkeypatch.setattr(GradioBackend, "probe", broken_probe)
    with respx.mock(assert_all_called=False) as router:
        router.get("http://127.0.0.1:9/v1/models").mock(side_effect=httpx.ConnectError("refused"))
        code = main(["doctor", "--config", write_config(tmp_path)])
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert code == 3 and TOKEN not in out.out + out.err
    assert lines[0].startswith("lab (gradio, enabled): FAIL probe failed unexpectedly: RuntimeError: boom with")
    assert "second line" in lines[0] and any(line.startswith("relay (openai, disabled)") for line in lines)


def test_json_notes_that_quote_the_app_are_redacted(tmp_path, capsys, monkeypatch):
    """Size notes quote an app's endpoint name and its choices (backends/gradio/payload.py size_notes);
    a hostile app can put the token there, and --json must not print it."""
    from llm2pic.backends.gradio import backend as gradio_backend

    monkeypatch.setenv("LAB_TOKEN", TOKEN)
    monkeypatch.setattr(gradio_backend, "size_notes",
                        lambda *args: [f"aspect 16:9 only approximated: /draw offers {TOKEN}x{PASSWORD}"])
    events = [{"msg": "process_completed", "event_id": "e1", "success": True,
               "output": {"data": [{"path": "/tmp/x.png", "url": None, "orig_name": "x.png",
                                    "meta": {"_type": "gradio.FileData"}}]}}]
    with respx.mock(assert_all_called=False) as router:
        app(router, events)
        code = main(["draw", "a cat", "--no-llm", "--json", "--config", write_config(tmp_path),
                     "--out", str(tmp_path / "o.png")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    notes = json.loads(captured.out)["notes"]
    assert any(note.startswith("aspect 16:9 only approximated: /draw offers ***") for note in notes)
    assert TOKEN not in captured.out + captured.err and PASSWORD not in captured.out + captured.err
