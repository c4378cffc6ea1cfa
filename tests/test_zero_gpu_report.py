"""ZeroGPU in doctor and `/pic status`: seconds left per token (read from the loopback fake Hub's
`/api/spaces/zero-gpu/quota`), and the warning about an anonymous ZeroGPU Space at the head of the chain.
No backend is called: only the quota endpoint is."""

from __future__ import annotations

import httpx
import pytest

from fake_hub import FakeHub
from llm2pic.backends.registry import build_backend
from llm2pic.config.backends import GradioBackendConfig, OpenAIBackendConfig
from llm2pic.hub.zero_gpu_quota import QuotaUnavailable, fetch_zero_gpu_quota
from llm2pic.hub.zero_gpu_report import chat_lines, doctor_lines

TOKEN = "hf_" + "K" * 34
UNKNOWN = "hf_" + "U" * 34


@pytest.fixture
def hub(monkeypatch):
    fake = FakeHub().start()
    fake.add_user(TOKEN, "alice")
    fake.scenario.quota = {"base": 300, "current": 42, "resetsAt": "2099-01-01T00:00:00Z"}
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    try:
        yield fake
    finally:
        fake.stop()


def backends(*configs, environ=None):
    client = httpx.AsyncClient()
    return [build_backend(config, client, environ or {}) for config in configs]


async def test_doctor_shows_each_tokens_quota_and_never_the_token(hub):
    chain = backends(GradioBackendConfig(name="a", space="o/a", hf_token=TOKEN),
                     GradioBackendConfig(name="b", space="o/b", hf_token=TOKEN),
                     GradioBackendConfig(name="c", space="o/c", hf_token=UNKNOWN),
                     OpenAIBackendConfig(name="paid", base_url="https://api.example.com/v1", api_key="sk-x" * 4))
    lines = await doctor_lines(chain)
    text = "\n".join(lines)
    assert TOKEN not in text and UNKNOWN not in text
    assert lines[0].startswith("ZeroGPU: 42 s of 300 s left today, resets at 2099-01-01 00:00 UTC")
    assert "used by a, b]" in lines[0]
    assert "ZeroGPU quota unknown: the Hub refused the token (401)" in lines[1] and "used by c]" in lines[1]
    assert "warning" not in text
    assert [p for m, p in hub.requests].count("/api/spaces/zero-gpu/quota") == 2  # once per token

    chat = await chat_lines(chain)
    assert chat[0].startswith("ZeroGPU 额度（a、b）：今天还剩 42 秒（共 300 秒），约 ")
    assert chat[1] == "ZeroGPU 额度（c）：暂时查不到"


async def test_doctor_warns_when_the_chain_starts_anonymously_on_zero_gpu(hub):
    anonymous_first = backends(GradioBackendConfig(name="public", space="o/public"),
                               GradioBackendConfig(name="mine", space="o/mine", hf_token=TOKEN))
    lines = await doctor_lines(anonymous_first)
    assert lines[-1].startswith("warning: the first backend, public, is a ZeroGPU Space called without a token")
    assert "space deploy" in lines[-1] and "HF_TOKEN" in lines[-1]
    assert await chat_lines(anonymous_first[:1]) == []  # no token: nothing to read, nothing said

    with_token = backends(GradioBackendConfig(name="public", space="o/public"), environ={"HF_TOKEN": TOKEN})
    assert not any("warning" in line for line in await doctor_lines(with_token))
    self_hosted = backends(GradioBackendConfig(name="own", base_url="http://127.0.0.1:7860"))
    assert await doctor_lines(self_hosted) == []


async def test_quota_answers_are_bounded_and_checked(hub):
    hub.scenario.quota = {"base": "lots"}
    with pytest.raises(QuotaUnavailable, match="lacks base/current"):
        await fetch_zero_gpu_quota(TOKEN)
    hub.scenario.quota = {"base": 300, "current": 1, "resetsAt": None, "pad": "x" * 100_000}
    with pytest.raises(QuotaUnavailable, match="too large"):
        await fetch_zero_gpu_quota(TOKEN)
    with pytest.raises(QuotaUnavailable, match="no Hugging Face token"):
        await fetch_zero_gpu_quota("")


async def test_pic_status_in_the_plugin_shows_the_quota(hub, plugin_module, tmp_path):
    import re

    from maibot_fake_host import FakeHost, start_plugin

    host = FakeHost()
    config = {"backends": [{"type": "gradio", "name": "mine", "space": "alice/pics", "hf_token": TOKEN}]}
    plugin = await start_plugin(plugin_module, host, config, tmp_path)
    try:
        [component] = [c for c in plugin.get_components() if c["name"] == "pic"]
        pattern = component["metadata"]["command_pattern"]
        text = "/pic status"
        await plugin.pic_command(text=text, stream_id="s1", group_id="g1", platform="qq", user_id="u1",
                                 is_local_operator=False, matched_groups=re.match(pattern, text).groupdict(),
                                 message={}, plugin_config={})
        status = host.texts()[-1]
        assert "mine：正常" in status
        assert status.splitlines()[-1].startswith("ZeroGPU 额度：今天还剩 42 秒（共 300 秒），约 ")
        assert TOKEN not in status
    finally:
        await plugin.on_unload()


# --- a hostile quota endpoint (#10: every server number and wait bounded, never a crash) -----------

def _hostile_hub():
    """A raw ASGI Hub whose quota answer is chosen by the token's last characters."""
    import asyncio

    bodies = {
        "HUGEINT": b'{"current": ' + b"9" * 400 + b', "base": 300}',
        "NESTED": b"[" * 100_000 + b"]" * 100_000,
        "HUGEFLOAT": b'{"current": 1e308, "base": 1e308}',
        "TEXTNUMS": b'{"current": "\xc2\xb2", "base": true}',
        "OBJRESET": b'{"current": 1, "base": 300, "resetsAt": {"a": 1}}',
    }

    async def app(scope, receive, send):
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        kind = next((name for name in (*bodies, "DRIP") if auth.endswith(name)), "")
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        if kind == "DRIP":  # a byte at a time, each read well inside httpx's per-read timeout
            for byte in b'{"current": 1, "base": 300}' * 100:
                await send({"type": "http.response.body", "body": bytes([byte]), "more_body": True})
                await asyncio.sleep(0.2)
        await send({"type": "http.response.body", "body": bodies.get(kind, b"{}")})

    return app


@pytest.mark.parametrize("kind", ["HUGEINT", "NESTED", "HUGEFLOAT", "TEXTNUMS", "OBJRESET", "DRIP"])
async def test_a_hostile_quota_answer_is_one_unavailable_line(kind, monkeypatch):
    import time

    from loopback_server import serve

    token = "hf_" + "Q" * 30 + kind
    with serve(_hostile_hub()) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        started = time.monotonic()
        with pytest.raises(QuotaUnavailable) as caught:
            await fetch_zero_gpu_quota(token, timeout=1.0)
        assert time.monotonic() - started < 5  # the whole request is bounded, not each read
        assert token not in str(caught.value) and "\n" not in str(caught.value)
        chain = backends(GradioBackendConfig(name="z", space="o/z", hf_token=token))
        lines = await doctor_lines(chain, timeout=1.0) + await chat_lines(chain, timeout=1.0)
    assert lines[0].startswith("ZeroGPU quota unknown: ") and lines[1] == "ZeroGPU 额度：暂时查不到"
    assert all(len(line) < 300 and token not in line for line in lines)
