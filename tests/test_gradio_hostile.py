"""A hostile or failing Gradio server, driven with respx: what a real app cannot be made to send
(streams cut after the job started, malformed messages, endless lines). Message shapes follow
gradio/queueing.py (`estimation`, `process_starts`, `process_completed` with `success` false for
cancelled events) and gradio/routes.py (`/queue/data` SSE, `/call/<name>/<event_id>` events)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import BackendError, ProtocolError, TransientError
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.gradio.sse import read_events
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig
from llm2pic.config.chain import ChainSection

from .test_gradio_faults import BASE, CONFIG, INFO, PNG, completed, file_data, mock_app, sse

STARTS = {"msg": "process_starts", "event_id": "e1", "eta": 3}


def stream(*chunks: bytes, pause: float = 0.0) -> httpx.Response:
    async def body():
        for chunk in chunks:
            if pause:
                await asyncio.sleep(pause)
            yield chunk
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())


async def chain_run(router, *, paid: bool, attempts: int = 3, timeout: float = 30):
    """One job through the chain with a single Gradio backend; returns (error, number of submissions)."""
    config = GradioBackendConfig(base_url=BASE, preset="none", startup_wait=0, paid=paid, timeout=timeout)
    settings = ChainSection(max_attempts=attempts, backoff_initial=0.01, backoff_max=0.01, breaker_failures=99)
    async with make_client(config) as client:
        chain = BackendChain([build_backend(config, client, {})], settings)
        with pytest.raises(BackendError) as caught:
            await chain.generate(GenerationRequest("a fox"), deadline=60)
    return caught.value, router.routes["join"].call_count


def app(router, stream_side_effect):
    router.get(f"{BASE}/config").respond(json=CONFIG)
    router.get(f"{BASE}/gradio_api/info").respond(json=INFO)
    router.post(f"{BASE}/gradio_api/queue/join", name="join").respond(json={"event_id": "e1"})
    router.get(f"{BASE}/gradio_api/queue/data").mock(side_effect=stream_side_effect)


# --- a paid job the server accepted is never submitted again --------------------------------------

AFTER_ACCEPTANCE = {
    "stream ends after process_starts": lambda request: sse(STARTS, close=False),
    "stream closed after process_starts": lambda request: sse(STARTS, close=True),
    "server cancelled the job": lambda request: sse(
        STARTS, {"msg": "process_completed", "event_id": "e1", "output": {}, "success": True}),
    "connection reset mid-stream": lambda request: (_ for _ in ()).throw(httpx.ReadError("reset by peer")),
    "unreadable event": lambda request: sse(STARTS, {"msg": "process_completed", "event_id": "e1",
                                                     "success": True, "output": {"data": {"x": 1}}}),
}


@pytest.mark.parametrize("case", list(AFTER_ACCEPTANCE))
async def test_paid_job_lost_after_acceptance_is_outcome_unknown_and_sent_once(case):
    with respx.mock(assert_all_called=False) as router:
        app(router, lambda request: AFTER_ACCEPTANCE[case](request))
        error, submissions = await chain_run(router, paid=True)
    assert error.outcome_unknown, case
    assert submissions == 1, case
    assert "扣费" in error.user_message


async def test_the_same_loss_on_a_free_backend_is_retried():
    with respx.mock(assert_all_called=False) as router:
        app(router, lambda request: sse(STARTS, close=False))
        _, submissions = await chain_run(router, paid=False)
    assert submissions == 3


async def test_paid_job_past_its_timeout_after_start_is_outcome_unknown_and_cancelled():
    with respx.mock(assert_all_called=False) as router:
        app(router, lambda request: stream(f"data: {json.dumps(STARTS)}\n\n".encode(), *[b": ping\n\n"] * 50,
                                           pause=0.05))
        cancel = router.post(f"{BASE}/gradio_api/cancel").respond(json={})
        error, submissions = await chain_run(router, paid=True, timeout=0.3)
    assert error.outcome_unknown and submissions == 1
    assert cancel.called


@pytest.mark.parametrize("verdict", [
    {"msg": "queue_full", "event_id": "e1"},
    {"msg": "process_completed", "event_id": "e1", "success": False,
     "output": {"error": "No GPU was available", "title": "ZeroGPU"}},
])
async def test_the_apps_own_verdict_leaves_the_outcome_known(verdict):
    with respx.mock(assert_all_called=False) as router:
        app(router, lambda request: sse(verdict))
        error, submissions = await chain_run(router, paid=True)
    assert not error.outcome_unknown
    assert submissions == 3


async def test_a_join_that_never_reached_the_server_is_resent():
    with respx.mock(assert_all_called=False) as router:
        app(router, lambda request: sse(completed([file_data()])))
        router.routes["join"].mock(side_effect=httpx.ConnectError("refused"))
        error, submissions = await chain_run(router, paid=True)
    assert not error.outcome_unknown and submissions == 3


# --- the event stream stays bounded in memory ----------------------------------------------------


class CountingStream(httpx.AsyncByteStream):
    """An endless line: counts how much of it the reader pulled before giving up."""

    def __init__(self, prefix: bytes, chunk: bytes) -> None:
        self.prefix, self.chunk, self.pulled = prefix, chunk, 0

    async def __aiter__(self):
        yield self.prefix
        while self.pulled < 10_000:
            self.pulled += 1
            yield self.chunk


@pytest.mark.parametrize("prefix", [b"data: ", b": comment ", b"event: ", b"x"])
async def test_an_endless_line_is_stopped_at_the_cap_while_reading(prefix):
    body = CountingStream(prefix, b"A" * 65536)
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    with pytest.raises(ProtocolError, match="longer than|larger than"):
        async for _ in read_events(response, max_event_bytes=1024 * 1024):
            pass
    assert body.pulled <= 1024 * 1024 // 65536 + 2


async def test_many_data_lines_are_capped_as_one_event():
    response = stream(*[b"data: " + b"B" * 1000 + b"\n"] * 3000)
    with pytest.raises(ProtocolError, match="larger than"):
        async for _ in read_events(response, max_event_bytes=1024 * 1024):
            pass


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
async def test_lines_split_by_any_sse_newline_even_across_chunks(newline):
    text = b"event: complete" + newline + b'data: {"a": 1}' + newline + newline + b"data: x" + newline + newline
    chunks = [text[i:i + 3] for i in range(0, len(text), 3)]
    events = [event async for event in read_events(stream(*chunks))]
    assert [(e.event, e.data) for e in events] == [("complete", {"a": 1}), ("message", "x")]


# --- malformed answers become protocol errors, never raw exceptions ------------------------------

HOSTILE_MESSAGES = [
    "[" * 100_000 + "]" * 100_000,
    {"msg": "process_completed", "event_id": "e1", "success": True, "output": "oops"},
    {"msg": "process_completed", "event_id": "e1", "success": True, "output": ["data"]},
    {"msg": "process_completed", "event_id": "e1", "success": True, "output": {"data": None}},
    {"msg": "process_completed", "event_id": "e1", "success": False, "output": {"error": True, "title": 5}},
    {"msg": "process_completed", "event_id": "e1", "success": False, "output": None},
    {"msg": "estimation", "event_id": "e1", "rank": "²", "queue_size": [], "rank_eta": "1e999"},
    {"msg": "estimation", "event_id": "e1", "rank": 1e999, "rank_eta": {"x": 1}},
    {"msg": "progress", "event_id": "e1", "progress_data": [{"index": "²", "length": None, "desc": {"a": 1}}]},
    {"msg": "progress", "event_id": "e1", "progress_data": "nope"},
    {"msg": "log", "event_id": "e1", "log": ["x"], "title": {"t": 1}},
    {"msg": "unexpected_error", "event_id": "e1", "message": None},
    {"msg": ["list"], "event_id": "e1"},
]


@pytest.mark.parametrize("message", HOSTILE_MESSAGES, ids=lambda m: str(m)[:40])
async def test_hostile_queue_messages_end_in_the_taxonomy(message):
    payload = message if isinstance(message, str) else json.dumps(message)
    with respx.mock(assert_all_called=False) as router:
        mock_app(router, stream(f"data: {payload}\n\n".encode()))
        config = GradioBackendConfig(base_url=BASE, preset="none", startup_wait=0)
        async with make_client(config) as client:
            with pytest.raises(BackendError):
                await build_backend(config, client, {}).generate(GenerationRequest("a fox"))


@pytest.mark.parametrize("change", [
    {"components": None}, {"dependencies": [{"targets": [[]], "inputs": [1], "api_name": "draw"}]},
    {"dependencies": [{"id": "x", "api_name": "draw", "inputs": None}]}, {"components": [{"id": 1, "props": 5}]},
    {"dependencies": [{"api_name": "draw", "inputs": [1, 2, 3], "targets": "nope"}], "components": "x"},
])
async def test_malformed_app_config_ends_in_the_taxonomy(change):
    with respx.mock(assert_all_called=False) as router:
        mock_app(router, sse(completed([file_data()])))
        router.get(f"{BASE}/config").respond(json={**CONFIG, **change})
        config = GradioBackendConfig(base_url=BASE, preset="none", startup_wait=0)
        async with make_client(config) as client:
            backend = build_backend(config, client, {})
            try:
                await backend.generate(GenerationRequest("a fox"))
            except BackendError:
                pass
            report = await backend.probe()
    assert report.summary


@pytest.mark.parametrize("data", ['{"error": true}', '{"error": null, "title": [1]}', "[1, 2", "7"])
async def test_hostile_call_error_events_end_in_the_taxonomy(data):
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{BASE}/config").respond(json=CONFIG)
        router.get(f"{BASE}/gradio_api/info").respond(json=INFO)
        router.post(f"{BASE}/gradio_api/call/draw").respond(json={"event_id": "e9"})
        router.get(f"{BASE}/gradio_api/call/draw/e9").mock(
            return_value=stream(f"event: error\ndata: {data}\n\n".encode()))
        config = GradioBackendConfig(base_url=BASE, preset="none", transport="call")
        async with make_client(config) as client:
            with pytest.raises(BackendError):
                await build_backend(config, client, {}).generate(GenerationRequest("a fox"))


async def test_a_numeric_looking_seed_does_not_break_the_result():
    with respx.mock(assert_all_called=False) as router:
        mock_app(router, sse(completed([file_data(), "²", "12345678901234567890123"])),
                 httpx.Response(200, content=PNG))
        config = GradioBackendConfig(base_url=BASE, preset="none")
        async with make_client(config) as client:
            images = await build_backend(config, client, {}).generate(GenerationRequest("a fox"))
    assert images[0].data == PNG and images[0].seed is None


@pytest.mark.parametrize("failure", [httpx.Response(502), httpx.ReadError("reset"), httpx.Response(200, content=b"x")])
async def test_a_paid_jobs_result_that_cannot_be_downloaded_is_not_drawn_again(failure):
    with respx.mock(assert_all_called=False) as router:
        app(router, lambda request: sse(completed([file_data()])))
        files = router.get(url__startswith=f"{BASE}/gradio_api/file=").mock(
            side_effect=lambda request: (_ for _ in ()).throw(failure) if isinstance(failure, Exception) else failure)
        error, submissions = await chain_run(router, paid=True)
    assert error.outcome_unknown and submissions == 1
    assert "下载失败" in error.user_message
    assert files.call_count <= 2


class Endless(httpx.AsyncByteStream):
    def __init__(self) -> None:
        self.pulled = 0

    async def __aiter__(self):
        while self.pulled < 100_000:
            self.pulled += 1
            yield b"[" + b"1," * 32768


@pytest.mark.parametrize("where", ["config", "info", "join", "run"])
async def test_an_endless_json_answer_is_stopped_at_its_cap(where):
    body = Endless()
    endless = httpx.Response(200, headers={"content-type": "application/json"}, stream=body)
    with respx.mock(assert_all_called=False) as router:
        mock_app(router, sse(completed([file_data()])))
        router.post(f"{BASE}/gradio_api/run/draw").respond(json={"data": [file_data()]})
        route = {"config": router.get(f"{BASE}/config"), "info": router.get(f"{BASE}/gradio_api/info"),
                 "join": router.post(f"{BASE}/gradio_api/queue/join"),
                 "run": router.post(f"{BASE}/gradio_api/run/draw")}[where]
        route.mock(return_value=endless)
        config = GradioBackendConfig(base_url=BASE, preset="none", startup_wait=0,
                                     transport="run" if where == "run" else "queue")
        async with make_client(config) as client:
            try:
                await build_backend(config, client, {}).generate(GenerationRequest("a fox"))
            except BackendError:
                pass
    assert body.pulled * 65537 < 80 * 1024 * 1024
