"""Faults a real Gradio server cannot be made to produce, driven with respx (no network)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import ConfigurationError, ProtocolError, TransientError
from llm2pic.backends.gradio import backend as gradio_backend
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig

BASE = "https://lab-space.hf.space"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CONFIG = {
    "version": "6.31.0", "api_prefix": "/gradio_api", "protocol": "sse_v3",
    "components": [{"id": 1, "type": "textbox", "props": {"label": "Prompt"}},
                   {"id": 2, "type": "image", "props": {"label": "Result"}}],
    "dependencies": [{"id": 0, "api_name": "draw", "targets": [[3, "click"]], "inputs": [1], "outputs": [2]}],
}
INFO = {"named_endpoints": {"/draw": {"parameters": [
    {"label": "Prompt", "parameter_name": "prompt", "parameter_has_default": False, "component": "Textbox"}]}}}


def file_data(path="/tmp/gradio/abc/image.png", url=None):
    return {"path": path, "url": url or f"{BASE}/gradio_api/file={path}", "orig_name": "image.png",
            "meta": {"_type": "gradio.FileData"}}


def sse(*messages, close=True):
    lines = [f"data: {json.dumps(m)}\n\n" for m in messages]
    if close:
        lines.append('data: {"msg":"close_stream","event_id":null}\n\n')
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content="".join(lines).encode())


def completed(data):
    return {"msg": "process_completed", "event_id": "e1", "output": {"data": data}, "success": True}


def mock_app(router, stream_response, file_response=None):
    router.get(f"{BASE}/config").respond(json=CONFIG)
    router.get(f"{BASE}/gradio_api/info").respond(json=INFO)
    router.post(f"{BASE}/gradio_api/queue/join").respond(json={"event_id": "e1"})
    router.get(f"{BASE}/gradio_api/queue/data").mock(return_value=stream_response)
    router.get(url__startswith=f"{BASE}/gradio_api/file=").mock(
        return_value=file_response or httpx.Response(200, content=PNG))
    return router


async def generate(config=None, environ=None):
    config = config or GradioBackendConfig(base_url=BASE, preset="none", startup_wait=0)
    async with make_client(config) as client:
        return await build_backend(config, client, environ or {}).generate(GenerationRequest("a fox"))


@respx.mock(assert_all_called=False)
async def test_queue_flow_downloads_from_the_rebuilt_file_url_not_a_foreign_url(respx_mock):
    evil = respx_mock.get(url__startswith="http://evil.example").respond(content=PNG)
    mock_app(respx_mock, sse(completed([file_data(url="http://evil.example/steal.png")])))
    images = await generate()
    assert images[0].data == PNG and images[0].mime == "image/png"
    assert not evil.called


@respx.mock
async def test_truncated_stream_is_transient(respx_mock):
    mock_app(respx_mock, sse({"msg": "estimation", "event_id": "e1", "rank": 0}, close=False))
    with pytest.raises(TransientError, match="ended before the result"):
        await generate()


@respx.mock
async def test_broken_chunked_stream_is_transient_with_unknown_outcome(respx_mock):
    mock_app(respx_mock, httpx.Response(200))
    respx_mock.get(f"{BASE}/gradio_api/queue/data").mock(side_effect=httpx.RemoteProtocolError("incomplete chunked read"))
    with pytest.raises(TransientError) as caught:
        await generate()
    assert caught.value.outcome_unknown


@respx.mock
async def test_html_503_while_the_space_sleeps_waits_then_succeeds(respx_mock, monkeypatch):
    monkeypatch.setattr(gradio_backend, "_STARTUP_POLL", 0.01)
    mock_app(respx_mock, sse(completed([file_data()])))
    sleeping = httpx.Response(503, headers={"content-type": "text/html"}, content=b"<html>Space is starting</html>")
    respx_mock.get(f"{BASE}/config").mock(side_effect=[sleeping, sleeping, httpx.Response(200, json=CONFIG)])
    config = GradioBackendConfig(base_url=BASE, preset="none", startup_wait=5)
    images = await generate(config)
    assert images[0].data == PNG


@respx.mock
async def test_html_page_past_the_startup_wait_is_a_transient_starting_error(respx_mock, monkeypatch):
    monkeypatch.setattr(gradio_backend, "_STARTUP_POLL", 0.01)
    respx_mock.get(f"{BASE}/config").respond(200, headers={"content-type": "text/html"}, content=b"<html>building")
    with pytest.raises(TransientError) as caught:
        await generate(GradioBackendConfig(base_url=BASE, preset="none", startup_wait=0.05))
    assert "启动" in caught.value.user_message


@respx.mock
async def test_bad_json_config_is_a_protocol_error(respx_mock):
    respx_mock.get(f"{BASE}/config").respond(200, headers={"content-type": "application/json"}, content=b"{nope")
    with pytest.raises(ProtocolError):
        await generate()


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_refused_or_missing_app_is_a_configuration_error(status):
    with respx.mock:
        respx.get(f"{BASE}/config").respond(status, json={"detail": "nope"})
        with pytest.raises(ConfigurationError):
            await generate()


@respx.mock
async def test_429_on_join_is_transient_with_retry_after(respx_mock):
    mock_app(respx_mock, sse())
    respx_mock.post(f"{BASE}/gradio_api/queue/join").respond(429, headers={"retry-after": "30"}, json={})
    with pytest.raises(TransientError) as caught:
        await generate()
    assert caught.value.retry_after == 30


@respx.mock
async def test_full_queue_is_transient(respx_mock):
    mock_app(respx_mock, sse())
    respx_mock.post(f"{BASE}/gradio_api/queue/join").respond(
        503, json={"detail": "Queue is full. Max size is 2 and size is 2."})
    with pytest.raises(TransientError, match="queue is full"):
        await generate()


@respx.mock
async def test_connection_refused_is_transient(respx_mock):
    respx_mock.get(f"{BASE}/config").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(TransientError, match="cannot reach lab-space.hf.space: connection refused"):
        await generate()


@respx.mock
async def test_oversized_download_is_refused_while_streaming(respx_mock):
    big = httpx.Response(200, content=PNG + b"\x00" * 4096)
    mock_app(respx_mock, sse(completed([file_data()])), big)
    with pytest.raises(ProtocolError, match="exceeded 2048 bytes|refused"):
        await generate(GradioBackendConfig(base_url=BASE, preset="none", max_download_bytes=2048))


@respx.mock
async def test_a_non_image_download_is_refused(respx_mock):
    html = httpx.Response(200, headers={"content-type": "image/png"}, content=b"<html>not an image</html>")
    mock_app(respx_mock, sse(completed([file_data()])), html)
    with pytest.raises(ProtocolError, match="not an image"):
        await generate()


@respx.mock
async def test_a_result_pointing_at_another_host_is_refused(respx_mock):
    mock_app(respx_mock, sse(completed([file_data(path="http://10.0.0.1/secret.png")])))
    with pytest.raises(ProtocolError, match="another host"):
        await generate()


@respx.mock
async def test_hf_token_goes_in_x_hf_authorization_and_never_into_errors(respx_mock):
    token = "hf_canaryTOKEN1234567890"
    mock_app(respx_mock, sse({"msg": "process_completed", "event_id": "e1", "success": False,
                             "output": {"error": f"bad token {token}", "title": "Error"}}))
    with pytest.raises(TransientError) as caught:
        await generate(GradioBackendConfig(base_url=BASE, preset="none"), environ={"HF_TOKEN": token})
    join = respx_mock.calls[2].request
    assert join.headers["x-hf-authorization"] == f"Bearer {token}"
    assert "authorization" not in {k.lower() for k in join.headers if k.lower() != "x-hf-authorization"}
    assert token not in str(caught.value) and token not in caught.value.detail


@respx.mock
async def test_default_env_token_is_not_sent_to_a_host_outside_hugging_face(respx_mock):
    other = "https://images.example.org"
    respx_mock.get(f"{other}/config").respond(401, json={})
    config = GradioBackendConfig(base_url=other, preset="none")
    with pytest.raises(ConfigurationError):
        await generate(config, environ={"HF_TOKEN": "hf_shouldNotLeave12345"})
    assert "x-hf-authorization" not in respx_mock.calls[0].request.headers


@respx.mock
async def test_call_transport_error_event_with_a_message(respx_mock):
    respx_mock.get(f"{BASE}/config").respond(json=CONFIG)
    respx_mock.get(f"{BASE}/gradio_api/info").respond(json=INFO)
    respx_mock.post(f"{BASE}/gradio_api/call/draw").respond(json={"event_id": "e9"})
    respx_mock.get(f"{BASE}/gradio_api/call/draw/e9").respond(
        200, headers={"content-type": "text/event-stream"},
        content=b'event: error\ndata: {"error": "No GPU was available after 60s", "title": "ZeroGPU queue timeout"}\n\n')
    with pytest.raises(TransientError, match="No GPU"):
        await generate(GradioBackendConfig(base_url=BASE, preset="none", transport="call"))


@pytest.mark.parametrize("status,html", [(502, False), (504, False), (504, True), (524, False)])
async def test_a_gateway_error_on_join_leaves_a_paid_job_unknown_and_never_resent(status, html):
    """A proxy's 502/504/524 on POST /queue/join says nothing about the app: the job may have been
    accepted, so a paid backend must not submit it again (#10)."""
    from llm2pic.backends.chain import BackendChain
    from llm2pic.config.chain import ChainSection

    with respx.mock:
        mock_app(respx.mock, sse())
        headers = {"content-type": "text/html"} if html else {}
        join = respx.post(f"{BASE}/gradio_api/queue/join").respond(status, headers=headers, content=b"gateway")
        config = GradioBackendConfig(base_url=BASE, preset="none", startup_wait=0, paid=True)
        async with make_client(config) as client:
            chain = BackendChain([build_backend(config, client, {})],
                                 ChainSection(max_attempts=3, backoff_initial=0.01, backoff_max=0.01))
            with pytest.raises(TransientError) as caught:
                await chain.generate(GenerationRequest("a fox"), deadline=30)
    assert join.call_count == 1 and caught.value.outcome_unknown


async def test_a_503_on_join_is_the_apps_verdict_and_may_be_retried():
    from llm2pic.backends.chain import BackendChain
    from llm2pic.config.chain import ChainSection

    with respx.mock:
        mock_app(respx.mock, sse(completed([file_data()])))
        respx.post(f"{BASE}/gradio_api/queue/join").mock(side_effect=[
            httpx.Response(503, json={"detail": "Queue is full"}), httpx.Response(200, json={"event_id": "e1"})])
        config = GradioBackendConfig(base_url=BASE, preset="none", startup_wait=0, paid=True)
        async with make_client(config) as client:
            chain = BackendChain([build_backend(config, client, {})],
                                 ChainSection(max_attempts=3, backoff_initial=0.01, backoff_max=0.01))
            images = await chain.generate(GenerationRequest("a fox"), deadline=30)
    assert len(images) == 1
