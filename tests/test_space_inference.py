"""The Space app's `inference` engine against a loopback fake of the Hugging Face Inference API.

The fake follows the wire behaviour in shared/research/backends.md §4 (huggingface_hub
inference/_client.py and the text-to-image task docs): POST {base}/models/{model} with
{"inputs", "parameters"} and a Bearer token; raw image bytes back; JSON {"error", "estimated_time"}
with 503 while the model loads; 429 when rate limited; 401 for a refused token.

The app runs with the Python of this test run: Gradio 6, httpx and Pillow, no torch, so ENGINE=auto
must pick the inference engine (checked where torch is indeed absent).
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import sys

import pytest
from PIL import Image

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import QuotaError
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig
from space_servers import fetch_file, first_error, predict_raw, start

MODEL = "stabilityai/sdxl-turbo"
TOKEN = "hf_space_test_token_5ecret"


class FakeInferenceAPI(BaseHTTPRequestHandler):
    requests: list = []
    loading_left: dict = {}

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        self.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        prompt = body.get("inputs", "")
        if self.path != f"/models/{MODEL}":
            return self._json(404, {"error": "Model not found"})
        if self.headers.get("authorization") != f"Bearer {TOKEN}" or prompt == "refused token":
            return self._json(401, {"error": "Invalid credentials in Authorization header"})
        if prompt == "rate limit":
            return self._json(429, {"error": "Rate limit reached. You reached free usage limit (reset hourly)."})
        if prompt == "loading forever":
            return self._json(503, {"error": f"Model {MODEL} is currently loading", "estimated_time": 1000.0})
        if prompt == "loading once" and self.loading_left.setdefault(prompt, 1) > 0:
            self.loading_left[prompt] -= 1
            return self._json(503, {"error": f"Model {MODEL} is currently loading", "estimated_time": 0.5})
        if prompt == "not an image":
            return self._send(200, "image/png", b"<html>surprise</html>")
        parameters = body.get("parameters", {})
        image = Image.new("RGB", (parameters.get("width", 512), parameters.get("height", 512)),
                          (parameters.get("seed", 0) % 256, 80, 160))
        out = io.BytesIO()
        image.save(out, "PNG")
        self._send(200, "image/png", out.getvalue())

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, "application/json", json.dumps(payload).encode())

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def fake_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeInferenceAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def app(fake_api):
    torch_here = importlib.util.find_spec("torch") is not None
    server = start(Path(sys.executable), {
        "ENGINE": "inference" if torch_here else "auto", "MODEL_ID": MODEL, "HF_TOKEN": TOKEN,
        "INFERENCE_API_URL": fake_api, "QUEUE_MAX_SIZE": "4",
    }, "inference")
    server.torch_here = torch_here
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_fake():
    FakeInferenceAPI.requests.clear()
    FakeInferenceAPI.loading_left.clear()


def data(prompt="a lighthouse", negative="", guidance=0.0, steps=2, width=512, height=384, seed=5, count=1):
    return [prompt, negative, guidance, steps, width, height, seed, count]


def test_auto_engine_without_torch_is_the_inference_api_and_the_token_stays_secret(app, fake_api):
    if app.torch_here:
        pytest.skip("torch is importable in this Python, so ENGINE=auto would pick diffusers")
    predict_raw(app.url, data(prompt="refused token"))
    log = app.log()
    assert f"using {MODEL} through the Inference API at {fake_api} (family sdxl-turbo, token set)" in log
    assert TOKEN not in log


def test_two_images_are_two_requests_with_inputs_and_parameters(app):
    response = predict_raw(app.url, data(negative="blurry", count=2, seed=5))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"][1] == 5
    images = [Image.open(io.BytesIO(fetch_file(app.url, item))) for item in body["data"][0]]
    assert [image.size for image in images] == [(512, 384), (512, 384)]
    assert [image.getpixel((0, 0))[0] for image in images] == [5, 6]
    sent = FakeInferenceAPI.requests
    assert [r["body"]["parameters"]["seed"] for r in sent] == [5, 6]
    assert sent[0]["body"] == {"inputs": "a lighthouse", "parameters": {
        "guidance_scale": 0.0, "num_inference_steps": 2, "width": 512, "height": 384, "seed": 5,
        "negative_prompt": "blurry"}}
    assert sent[0]["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert sent[0]["headers"]["accept"] == "image/png"


def test_a_loading_model_is_waited_for(app):
    response = predict_raw(app.url, data(prompt="loading once"))
    assert response.status_code == 200, response.text
    assert len(FakeInferenceAPI.requests) == 2


def test_a_model_that_loads_too_long_is_a_clear_error_at_once(app):
    started = time.monotonic()
    response = predict_raw(app.url, data(prompt="loading forever"))
    assert time.monotonic() - started < 10
    assert "still loading" in (first_error(response) or ""), response.text
    assert "1000 s" in first_error(response)


@pytest.mark.parametrize("prompt, words", [
    ("rate limit", ["rate limited", "HTTP 429", "quota exceeded"]),
    ("refused token", ["HF_TOKEN", "HTTP 401"]),
    ("not an image", ["not an image"]),
])
def test_api_errors_become_clear_messages(app, prompt, words):
    response = predict_raw(app.url, data(prompt=prompt))
    assert response.status_code == 500
    error = first_error(response) or ""
    assert all(word in error for word in words), error
    assert TOKEN not in response.text


def _llm2pic(app, request):
    config = GradioBackendConfig.model_validate({"type": "gradio", "name": "my-space", "base_url": app.url})

    async def go():
        client = make_client(config)
        try:
            return await build_backend(config, client, environ={}).generate(request)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_llm2pic_draws_through_the_inference_engine_and_reads_429_as_quota(app):
    [image] = _llm2pic(app, GenerationRequest("a lighthouse", aspect="16:9", seed=9))
    with Image.open(io.BytesIO(image.data)) as picture:
        width, height = picture.size
    assert abs(width / height - 16 / 9) < 0.02 and image.seed == 9
    with pytest.raises(QuotaError):
        _llm2pic(app, GenerationRequest("rate limit", width=512, height=512))
