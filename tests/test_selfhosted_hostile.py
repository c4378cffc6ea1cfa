"""Hostile self-hosted servers: a ComfyUI or SD WebUI that answers with never-ending or oversized
bodies, malformed or absurdly nested JSON, websocket floods that never say "done", a /history that
never completes, non-image /view bytes, a redirecting /view and history entries that name a foreign
host. Every case ends within its bound as an error of the taxonomy, and a chain goes on to its next
backend. The well-formed parts follow the real routes (ComfyUI server.py / protocol.py,
A1111 modules/api/api.py) as tests/fake_comfyui.py and tests/fake_sd_webui.py do."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from fake_comfyui import FakeComfyUI, png
from fake_sd_webui import FakeSDWebUI
from loopback_server import serve
from llm2pic.backends import comfyui
from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import BackendError, ConfigurationError, ProtocolError, TransientError
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.comfyui import watch
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends_selfhosted import ComfyUIBackendConfig, SDWebUIBackendConfig
from llm2pic.config.chain import ChainSection

assert comfyui  # the package, imported for its submodules

PROMPT_ID = "6f1c2b4e-0000-4000-8000-000000000001"
IMAGE = png(64, 64, (10, 120, 200))
ENTRY = {"prompt": [], "outputs": {"9": {"images": [{"filename": "ComfyUI_00001_.png", "subfolder": "",
                                                       "type": "output"}]}},
         "status": {"status_str": "success", "completed": True, "messages": []}}


def endless(chunk: bytes = b"x" * 65536):
    async def body():
        while True:
            yield chunk
            await asyncio.sleep(0)
    return body()


class HostileComfy:
    """POST /prompt accepts; what follows misbehaves as `mode` says."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.view_params: list[dict] = []
        self.history_asks = 0

    async def prompt(self, request: Request) -> Response:
        if self.mode == "prompt_no_outputs":
            # execution.validate_prompt: no output node; node_errors is a list in this shape
            return JSONResponse({"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs",
                                           "details": "", "extra_info": {}}, "node_errors": []}, status_code=400)
        if self.mode == "prompt_html_500":
            return Response("<html>Bad Gateway</html>", status_code=502, media_type="text/html")
        if self.mode == "prompt_no_id":
            return JSONResponse({"prompt_id": 5, "number": 0, "node_errors": {}})
        return JSONResponse({"prompt_id": PROMPT_ID, "number": 3, "node_errors": {}})

    async def history(self, request: Request) -> Response:
        self.history_asks += 1
        mode = self.mode
        if mode == "history_endless":
            return StreamingResponse(endless(), media_type="application/json")
        if mode == "history_malformed":
            return Response('{"' + PROMPT_ID + '": {"outputs": ', media_type="application/json")
        if mode == "history_nested":
            return Response("[" * 200_000, media_type="application/json")
        if mode == "history_never":
            return JSONResponse({})
        if mode in ("ws_flood", "ws_oversized") and self.history_asks < 2:
            return JSONResponse({})
        entry = json.loads(json.dumps(ENTRY))
        if mode == "foreign_entry":
            entry["outputs"]["9"]["images"] = [{"filename": "http://169.254.169.254/latest/meta-data",
                                                "subfolder": "//203.0.113.9/share", "type": "output"}]
        if mode == "thousands_of_images":
            entry["outputs"]["9"]["images"] = [{"filename": f"f{i}.png", "subfolder": "", "type": "output"}
                                               for i in range(5000)]
        if mode == "gifs":  # Video Helper Suite's VHS_VideoCombine: its files under "gifs", videos too
            entry["outputs"]["9"] = {"gifs": [
                {"filename": "AnimateDiff_00001.mp4", "subfolder": "", "type": "output", "format": "video/h264-mp4"},
                {"filename": "AnimateDiff_00001.gif", "subfolder": "", "type": "output", "format": "image/gif"}]}
        if mode == "odd_status":
            entry["status"] = {"status_str": "success", "messages": [["execution_cached", {"nodes": 7}],
                                                                     "junk", [1, 2, 3]]}
        return JSONResponse({PROMPT_ID: entry})

    async def queue(self, request: Request) -> Response:
        if request.method == "POST":
            return JSONResponse({})
        return JSONResponse({"queue_running": [[3, PROMPT_ID, {}, {}, ["9"]]], "queue_pending": []})

    async def interrupt(self, request: Request) -> Response:
        return Response(status_code=200)

    async def view(self, request: Request) -> Response:
        self.view_params.append(dict(request.query_params))
        if self.mode == "view_text":
            return Response("<html>login required</html>", media_type="image/png")
        if self.mode == "view_redirect":
            return RedirectResponse("http://127.0.0.2:9/evil.png", status_code=302)
        if self.mode == "view_endless":
            return StreamingResponse(endless(IMAGE), media_type="image/png")
        return Response(IMAGE, media_type="image/png")

    async def ws(self, websocket: WebSocket) -> None:
        await websocket.accept()
        if self.mode not in ("ws_flood", "ws_oversized"):
            await websocket.close()
            return
        try:
            if self.mode == "ws_oversized":  # over the client's frame cap: it closes, polling takes over
                await websocket.send_text(json.dumps({"type": "status", "data": {"pad": "x" * (9 << 20)}}))
                await websocket.receive_text()
                return
            await websocket.send_text(json.dumps({"type": "status", "data": {"status": "x", "sid": "a"}}))
            await websocket.send_text(json.dumps({"type": "execution_cached", "data": {"nodes": 5,
                                                                                      "prompt_id": PROMPT_ID}}))
            await websocket.send_text("[" * 50_000)
            await websocket.send_text("not json at all")
            await websocket.send_text(json.dumps({"type": "progress_state", "data": {"prompt_id": PROMPT_ID,
                                                                                    "nodes": {"3": "x"}}}))
            while True:  # previews and other prompts' progress, never our end
                await websocket.send_bytes(struct.pack(">II", 1, 2) + b"\xff\xd8junk")
                await websocket.send_bytes(b"\x00")
                await websocket.send_text(json.dumps({"type": "progress", "data": {
                    "value": 1, "max": 20, "prompt_id": "someone-else", "node": "3"}}))
                await asyncio.sleep(0.001)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/prompt", self.prompt, methods=["POST"]),
            Route("/history/{prompt_id}", self.history),
            Route("/queue", self.queue, methods=["GET", "POST"]),
            Route("/interrupt", self.interrupt, methods=["POST"]),
            Route("/view", self.view),
            WebSocketRoute("/ws", self.ws),
        ])


def comfy_backend(url: str, name: str = "hostile", **fields):
    config = ComfyUIBackendConfig(name=name, base_url=url, poll_interval=0.2, **fields)
    return build_backend(config, make_client(config), {})


async def run_comfy(mode: str, monkeypatch, **fields) -> tuple[object, HostileComfy, float]:
    monkeypatch.setattr(watch, "SILENCE_CHECK", 0.5)
    server = HostileComfy(mode)
    with serve(server.app()) as url:
        backend = comfy_backend(url, **fields)
        started = time.monotonic()
        try:
            result: object = await backend.generate(GenerationRequest("a fox", count=1), lambda event: None)
        except BackendError as exc:
            result = exc
        finally:
            await backend.api.client.aclose()
    return result, server, time.monotonic() - started


@pytest.mark.parametrize("mode, kind, words", [
    ("prompt_no_outputs", ConfigurationError, "Prompt has no outputs"),
    ("prompt_html_500", TransientError, "HTTP 502"),
    ("prompt_no_id", ProtocolError, "no prompt_id"),
    ("history_endless", ProtocolError, "exceeded"),
    ("history_malformed", ProtocolError, "not JSON"),
    ("history_nested", ProtocolError, "not JSON"),
    ("view_text", ProtocolError, "not a PNG"),
    ("view_redirect", ProtocolError, "HTTP 302"),
    ("view_endless", ProtocolError, "exceeded"),
])
async def test_comfyui_hostile_answers_are_bounded_taxonomy_errors(mode, kind, words, monkeypatch):
    result, _, took = await run_comfy(mode, monkeypatch, max_download_bytes=1024 * 1024, timeout=30)
    assert isinstance(result, kind), result
    assert words in result.detail and took < 25


async def test_comfyui_history_that_never_completes_ends_at_the_timeout(monkeypatch):
    result, server, took = await run_comfy("history_never", monkeypatch, timeout=2)
    assert isinstance(result, TransientError) and result.outcome_unknown and took < 6
    assert server.history_asks >= 3


async def test_comfyui_websocket_flood_without_an_end_still_finds_the_result(monkeypatch):
    result, server, took = await run_comfy("ws_flood", monkeypatch, timeout=20)
    assert isinstance(result, list) and len(result) == 1 and result[0].data == IMAGE, result
    assert server.history_asks >= 2 and took < 10


async def test_comfyui_foreign_names_in_history_only_ever_reach_our_own_view(monkeypatch):
    result, server, _ = await run_comfy("foreign_entry", monkeypatch, websocket=False)
    assert isinstance(result, list) and result[0].data == IMAGE
    assert server.view_params == [{"filename": "http://169.254.169.254/latest/meta-data",
                                   "subfolder": "//203.0.113.9/share", "type": "output"}]


async def test_comfyui_thousands_of_listed_images_download_only_those_asked_for(monkeypatch):
    result, server, _ = await run_comfy("thousands_of_images", monkeypatch, websocket=False)
    assert isinstance(result, list) and len(result) == 1 and len(server.view_params) == 1


async def test_comfyui_odd_status_messages_are_skipped(monkeypatch):
    result, _, _ = await run_comfy("odd_status", monkeypatch, websocket=False)
    assert isinstance(result, list) and len(result) == 1


async def test_chain_goes_past_a_hostile_comfyui_to_the_next_backend(monkeypatch):
    monkeypatch.setattr(watch, "SILENCE_CHECK", 0.5)
    good = FakeComfyUI()
    with serve(HostileComfy("history_nested").app()) as bad_url, serve(good.app()) as good_url:
        first, second = comfy_backend(bad_url), comfy_backend(good_url, name="good")
        chain = BackendChain([first, second], ChainSection(max_attempts=2, backoff_initial=0.01, backoff_max=0.01))
        try:
            images = await chain.generate(GenerationRequest("a fox"), deadline=30)
        finally:
            await first.api.client.aclose()
            await second.api.client.aclose()
    assert images and images[0].backend == "good"


# --- SD WebUI -----------------------------------------------------------------------------------


class HostileWebUI:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def txt2img(self, request: Request) -> Response:
        mode = self.mode
        good = base64.b64encode(IMAGE).decode()
        if mode == "endless":
            return StreamingResponse(endless(), media_type="application/json")
        if mode == "malformed":
            return Response('{"images": ["', media_type="application/json")
        if mode == "not_base64":
            return JSONResponse({"images": ["%%% not base64 %%%"], "parameters": {}, "info": "{}"})
        if mode == "html_image":
            return JSONResponse({"images": [base64.b64encode(b"<html>hi</html>").decode()], "info": "{}"})
        if mode == "odd_info":
            # info is a JSON string upstream (processed.js()); here a nested bomb, then a list
            return JSONResponse({"images": [good], "parameters": {}, "info": "[" * 100_000})
        if mode == "odd_422":
            return JSONResponse({"detail": [{"loc": 5, "msg": "field required", "type": "missing"}]},
                                status_code=422)
        if mode == "nested_500":
            return Response('{"error": ' + "[" * 100_000, status_code=500, media_type="application/json")
        if mode == "redirect":
            return RedirectResponse("http://127.0.0.2:9/sdapi/v1/txt2img", status_code=307)
        return JSONResponse({"images": [good], "parameters": {}, "info": json.dumps({"seed": 4, "all_seeds": [4]})})

    async def progress(self, request: Request) -> Response:
        if self.mode == "odd_info":
            return Response("[" * 100_000, media_type="application/json")
        return JSONResponse({"progress": 0.5, "eta_relative": float("1e308"), "state": {"job_count": "x"},
                             "current_task": ["not", "a", "string"]})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/sdapi/v1/txt2img", self.txt2img, methods=["POST"]),
                                 Route("/sdapi/v1/progress", self.progress)])


def webui_backend(url: str, name: str = "hostile", **fields):
    config = SDWebUIBackendConfig(name=name, base_url=url, progress_interval=0.2, **fields)
    return build_backend(config, make_client(config), {})


@pytest.mark.parametrize("mode, kind, words", [
    ("endless", ProtocolError, "exceeded"),
    ("malformed", ProtocolError, "not JSON"),
    ("not_base64", ProtocolError, "not valid base64"),
    ("html_image", ProtocolError, "not a PNG"),
    ("odd_422", ConfigurationError, "field required"),
    ("nested_500", TransientError, "HTTP 500"),
    ("redirect", ProtocolError, "HTTP 307"),
])
async def test_sd_webui_hostile_answers_are_bounded_taxonomy_errors(mode, kind, words):
    with serve(HostileWebUI(mode).app()) as url:
        backend = webui_backend(url, max_download_bytes=64 * 1024, timeout=30)
        started = time.monotonic()
        try:
            with pytest.raises(kind) as caught:
                await backend.generate(GenerationRequest("a fox"), lambda event: None)
        finally:
            await backend._client.aclose()
    assert words in caught.value.detail and time.monotonic() - started < 25


async def test_sd_webui_garbage_info_and_progress_do_not_spoil_a_good_image():
    events = []
    with serve(HostileWebUI("odd_info").app()) as url:
        backend = webui_backend(url)
        try:
            images = await backend.generate(GenerationRequest("a fox"), events.append)
        finally:
            await backend._client.aclose()
    assert len(images) == 1 and images[0].data == IMAGE
    assert all(event.eta is None or event.eta < 1e9 for event in events)


async def test_chain_goes_past_a_hostile_sd_webui_to_the_next_backend():
    good = FakeSDWebUI()
    with serve(HostileWebUI("nested_500").app()) as bad_url, serve(good.app()) as good_url:
        first, second = webui_backend(bad_url), webui_backend(good_url, name="good")
        chain = BackendChain([first, second], ChainSection(max_attempts=1, backoff_initial=0.01, backoff_max=0.01))
        try:
            images = await chain.generate(GenerationRequest("a fox"), deadline=30)
        finally:
            await first._client.aclose()
            await second._client.aclose()
    assert images and images[0].backend == "good"


async def test_comfyui_repeated_frames_for_our_prompt_do_not_grow_memory():
    class NoAPI:
        backend = "hostile"

    watcher = watch.Watcher(NoAPI(), PROMPT_ID, lambda event: None, poll_interval=1.0)
    executed = {"type": "executed", "data": {"node": "9", "prompt_id": PROMPT_ID,
                                             "output": {"images": [{"filename": "a.png", "type": "output"}]}}}
    for index in range(2000):
        assert await watcher._handle(executed) is False
        await watcher._handle({"type": "execution_cached", "data": {"prompt_id": PROMPT_ID,
                                                                    "nodes": [f"{index}:{n}" for n in range(50)]}})
    assert len(watcher.outcome_executed) == watch.MAX_EXECUTED
    assert len(watcher.cached) <= watch.MAX_NODES + 50


async def test_comfyui_animations_listed_under_gifs_are_fetched_and_videos_skipped(monkeypatch):
    result, server, _ = await run_comfy("gifs", monkeypatch, websocket=False)
    assert isinstance(result, list) and len(result) == 1
    assert [params["filename"] for params in server.view_params] == ["AnimateDiff_00001.gif"]


async def test_comfyui_oversized_websocket_frame_falls_back_to_polling(monkeypatch):
    result, server, took = await run_comfy("ws_oversized", monkeypatch, timeout=20)
    assert isinstance(result, list) and len(result) == 1 and server.history_asks >= 2 and took < 10
