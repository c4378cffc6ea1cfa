"""Property-based: whatever a Gradio app's queue stream, /call stream or /run answer holds, a draw
ends in a taxonomy error or images, never a raw exception (#10). The answers are generated JSON
shaped like Gradio's messages (gradio/server_messages.py: estimation, process_starts, progress,
log, process_completed, close_stream) with hostile values in every field; respx stands in for the
server, because only the bytes matter here."""

from __future__ import annotations

import asyncio
import json

import httpx
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import BackendError
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig

from test_gradio_faults import BASE, CONFIG, INFO, PNG

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
                    st.sampled_from(["²", "1e999", "NaN", "-1", "/tmp/x.png", "e1", "http://10.0.0.1/a.png"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["path", "url", "data", "image", "seed", "msg", "meta", "_type", "orig_name", "x"]), inner,
    max_size=4), max_leaves=12)
kinds = st.sampled_from(["estimation", "process_starts", "progress", "log", "process_completed", "unexpected_error",
                         "queue_full", "heartbeat", "close_stream", None, 5])
message = st.fixed_dictionaries({"msg": kinds}, optional={
    "event_id": st.sampled_from(["e1", None, 7]), "rank": values, "queue_size": values, "rank_eta": values,
    "eta": values, "success": values, "output": values, "progress_data": values, "log": values, "title": values,
    "message": values})


def _stream(messages) -> httpx.Response:
    body = "".join(f"data: {json.dumps(m)}\n\n" for m in messages)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


async def _draw(join_answer, stream, call_answer=None) -> None:
    with respx.mock:
        respx.get(f"{BASE}/config").respond(json=CONFIG)
        respx.get(f"{BASE}/gradio_api/info").respond(json=INFO)
        respx.post(f"{BASE}/gradio_api/queue/join").mock(return_value=join_answer)
        respx.get(f"{BASE}/gradio_api/queue/data").mock(return_value=stream)
        respx.post(f"{BASE}/gradio_api/cancel").respond(json={})
        respx.get(url__startswith=f"{BASE}/gradio_api/file=").respond(content=PNG)
        config = GradioBackendConfig(base_url=BASE, preset="none", startup_wait=0, timeout=10)
        async with make_client(config) as client:
            events = []
            try:
                images = await build_backend(config, client, {}).generate(GenerationRequest("a fox"), events.append)
            except BackendError as exc:
                assert "\n" not in exc.detail
                return
            assert images and all(image.data == PNG for image in images)
            assert all("\n" not in event.message for event in events)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(message, max_size=6))
def test_any_queue_stream_ends_in_images_or_a_taxonomy_error(messages):
    asyncio.run(_draw(httpx.Response(200, json={"event_id": "e1"}), _stream(messages)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.integers(min_value=200, max_value=599))
def test_any_join_answer_ends_in_a_taxonomy_error(answer, status):
    # json.dumps writes NaN/Infinity as Python's json.loads reads them (non-standard, but servers send them)
    raw = json.dumps(answer).encode()
    asyncio.run(_draw(httpx.Response(status, content=raw, headers={"content-type": "application/json"}),
                      _stream([])))
