"""The LLM2Pic Space app (space/app.py) with the diffusers engine, served by real Gradio 6.x and 5.x
on 127.0.0.1, loading a tiny random-weight pipeline through the real MODEL_ID path (no downloads),
and called three ways: the seed document's raw `POST /run/predict`, gradio_client, and LLM2Pic's
own Gradio backend configured with only type, name and base_url.

The main server runs as on a Space (SYSTEM=spaces), where Gradio closes direct POST routes unless
the app opens them, with a queue of one waiting request so "busy" can be tested.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time

import httpx
import pytest
from PIL import Image

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import ContentRejectedError, TransientError
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig
from space_servers import fetch_file, first_error, make_tiny_models, predict_raw, space_python, start

VERSIONS = ("6", "5")
PROMPT = "a small red house"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    return make_tiny_models(space_python("6"), tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="module", params=VERSIONS, ids=[f"gradio{v}" for v in VERSIONS])
def app(request, tiny_models):
    python = space_python(request.param)
    server = start(python, {
        "MODEL_ID": str(tiny_models[0]), "DEVICE": "cpu",
        # The tiny pipeline is an SD 1.5 layout; the sdxl-turbo family gives it 2 default steps and a
        # pixel budget below max_side² (1536² > 1.5 MP), so the budget check can be seen.
        "MODEL_FAMILY": "sdxl-turbo",
        "QUEUE_MAX_SIZE": "1", "CONCURRENCY_LIMIT": "1",
        "SYSTEM": "spaces", "SPACE_ID": "llm2pic-tests/space-app",
    }, f"gradio{request.param}")
    server.version = request.param
    yield server
    server.stop()


def data(prompt=PROMPT, negative="", guidance=0.0, steps=2, width=64, height=64, seed=42, count=1) -> list:
    return [prompt, negative, guidance, steps, width, height, seed, count]


def images_of(app, body: dict) -> list[Image.Image]:
    gallery = body["data"][0]
    return [Image.open(io.BytesIO(fetch_file(app.url, item))) for item in gallery]


def run_llm2pic(app, request: GenerationRequest):
    config = GradioBackendConfig.model_validate({"type": "gradio", "name": "my-space", "base_url": app.url})

    async def go():
        client = make_client(config)
        try:
            backend = build_backend(config, client, environ={})
            return backend, await backend.generate(request)
        finally:
            await client.aclose()

    return asyncio.run(go())


# --- start-up, API shape and UI -------------------------------------------------------------


def test_the_model_loads_once_with_a_clear_log_line(app, tiny_models):
    log = app.log()
    assert f"loaded {tiny_models[0]} (StableDiffusionPipeline, family sdxl-turbo) on cpu float32" in log
    assert log.count("loaded ") == 1


def test_first_event_is_predict_with_the_seed_inputs_and_the_ui_has_the_advanced_accordion(app):
    config = httpx.get(f"{app.url}/config", timeout=10, trust_env=False).json()
    first = config["dependencies"][0]
    assert first["api_name"] == "predict"
    components = {c["id"]: c for c in config["components"]}
    assert [components[i]["type"] for i in first["outputs"]] == ["gallery", "number"]
    labels = [c["props"].get("label") for c in config["components"]]
    assert "高级选项 / Advanced options" in labels
    assert "提示词 / Prompt" in labels
    examples = [c for c in config["components"] if c["type"] == "dataset"]
    assert examples and len(examples[0]["props"]["samples"]) >= 2
    info = httpx.get(f"{app.url}/gradio_api/info", timeout=10, trust_env=False).json()
    parameters = info["named_endpoints"]["/predict"]["parameters"]
    assert [p["parameter_name"] for p in parameters] == [
        "prompt", "negative_prompt", "guidance_scale", "num_inference_steps", "width", "height", "seed", "num_outputs"]
    assert parameters[0]["parameter_default"] == "" and parameters[1]["parameter_default"] == ""
    assert parameters[3]["parameter_default"] == 2  # the family's steps, shown as the default
    width = components[first["inputs"][4]]["props"]
    assert (width["minimum"], width["maximum"], width["step"]) == (64, 1536, 8)


# --- the seed's raw POST /run/predict --------------------------------------------------------


def test_raw_post_run_predict_on_a_space_with_a_fixed_seed_is_reproducible(app):
    first = predict_raw(app.url, data(seed=42))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["data"][1] == 42
    [image] = images_of(app, body)
    assert image.size == (64, 64) and image.format == "PNG"
    again = images_of(app, predict_raw(app.url, data(seed=42)).json())[0]
    other = images_of(app, predict_raw(app.url, data(seed=43)).json())[0]
    assert again.tobytes() == image.tobytes()
    assert other.tobytes() != image.tobytes()


def test_raw_post_four_images_with_a_random_seed(app):
    response = predict_raw(app.url, data(seed=-1, count=4, width=96, height=64))
    assert response.status_code == 200, response.text
    body = response.json()
    seed = body["data"][1]
    assert isinstance(seed, int) and 0 <= seed < 2**32
    images = images_of(app, body)
    assert len(images) == 4 and all(image.size == (96, 64) for image in images)
    assert len({image.tobytes() for image in images}) == 4
    assert predict_raw(app.url, data(seed=-1)).json()["data"][1] != seed


def test_prefixed_route_still_works(app):
    response = predict_raw(app.url, data(), path="/gradio_api/run/predict")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("values, count, size", [
    (data(width=70, height=99), 1, (72, 96)),  # snapped to the family's multiple of 8
    (data(width=68, height=100), 1, (72, 104)),  # halves round up
    (data(count=9), 4, (64, 64)),  # clamped to 4
    (data(count=0), 1, (64, 64)),  # clamped to 1
])
def test_sizes_are_snapped_and_counts_clamped(app, values, count, size):
    response = predict_raw(app.url, values)
    assert response.status_code == 200, response.text
    images = images_of(app, response.json())
    assert len(images) == count and {image.size for image in images} == {size}


@pytest.mark.parametrize("values, words", [
    (data(width=32), ["32", "64"]),
    (data(height=4096), ["4096", "1536"]),
    (data(width=1536, height=1536), ["budget", "1536×1536"]),
    (data(steps=0), ["0", "1"]),
    (data(steps=500), ["500"]),
    (data(guidance=99), ["99"]),
    (data(prompt=""), ["prompt is empty"]),
    (data(prompt="x" * 3000), ["too long", "2000"]),
    (data(negative="x" * 3000), ["negative_prompt", "too long"]),
    (data(seed=2**40), ["seed"]),
])
def test_bad_input_gets_a_clear_error_and_no_traceback(app, values, words):
    response = predict_raw(app.url, values)
    assert response.status_code == 500
    error = first_error(response)
    assert error and all(word in error for word in words), error
    assert "Traceback" not in response.text


# --- gradio_client and LLM2Pic's client ------------------------------------------------------


def test_gradio_client_predict(app):
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    gallery, seed = client.predict(PROMPT, "", 0.0, 2, 64, 64, 7, 1, api_name="/predict")
    assert seed == 7
    [item] = gallery
    with Image.open(item["image"]) as image:
        assert image.size == (64, 64)


def test_gradio_client_fills_in_the_defaults(app):
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    gallery, seed = client.predict(prompt=PROMPT, width=64, height=64, api_name="/predict")
    assert len(gallery) == 1 and isinstance(seed, int)


def test_llm2pic_client_with_only_type_name_and_base_url(app):
    request = GenerationRequest(PROMPT, negative_prompt="blurry", width=128, height=72, seed=1234, count=4)
    backend, images = run_llm2pic(app, request)
    assert backend.preset is not None and backend.preset.name == "llm2pic-space"
    assert len(images) == 4
    assert all(image.seed == 1234 and image.mime == "image/png" for image in images)
    for image in images:
        with Image.open(io.BytesIO(image.data)) as picture:
            assert picture.size == (128, 72)  # 16:9, both sides on the slider's step
    _, [single] = run_llm2pic(app, GenerationRequest(PROMPT, width=64, height=64))
    assert single.seed is not None


# --- the bounded queue -----------------------------------------------------------------------


SLOW = data(steps=40, width=768, height=768, seed=1)


def test_full_queue_on_the_direct_route_answers_busy_at_once(app):
    results = {}

    def call(name, values):
        results[name] = predict_raw(app.url, values, timeout=600)

    slow = threading.Thread(target=call, args=("slow", SLOW))
    slow.start()
    time.sleep(1.5)  # the slow job is running
    waiting = threading.Thread(target=call, args=("waiting", data()))
    waiting.start()
    time.sleep(1.0)  # the second job waits for the generator
    started = time.monotonic()
    refused = predict_raw(app.url, data(), timeout=60)
    elapsed = time.monotonic() - started
    still_running = slow.is_alive()
    slow.join(600)
    waiting.join(600)
    assert refused.status_code == 500 and "queue is full" in (first_error(refused) or ""), refused.text
    assert still_running, "the slow job ended before the refusal: the test proved nothing"
    assert elapsed < 10
    assert results["slow"].status_code == 200 and results["waiting"].status_code == 200


def test_full_queue_through_gradios_queue_is_a_transient_error_for_llm2pic(app):
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    slow = client.submit(*SLOW, api_name="/predict")
    deadline = time.monotonic() + 60
    while slow.status().code.name not in ("PROCESSING", "ITERATING") and time.monotonic() < deadline:
        time.sleep(0.2)
    waiting = client.submit(*data(), api_name="/predict")
    time.sleep(1.0)
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        run_llm2pic(app, GenerationRequest(PROMPT, width=64, height=64))
    elapsed = time.monotonic() - started
    still_running = not slow.done()
    assert len(slow.result(timeout=600)[0]) == 1 and len(waiting.result(timeout=600)[0]) == 1
    assert "queue is full" in caught.value.detail.lower() or "503" in caught.value.detail, caught.value.detail
    assert still_running and elapsed < 10


# --- the safety checker ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def nsfw_app(tiny_models):
    server = start(space_python("6"), {"MODEL_ID": str(tiny_models[1]), "DEVICE": "auto"}, "nsfw")
    yield server
    server.stop()


def test_family_is_detected_from_the_pipeline_and_its_defaults_shown(nsfw_app, tiny_models):
    assert f"loaded {tiny_models[1]} (StableDiffusionPipeline, family sd15) on cpu float32" in nsfw_app.log()
    info = httpx.get(f"{nsfw_app.url}/gradio_api/info", timeout=10, trust_env=False).json()
    defaults = {p["parameter_name"]: p["parameter_default"] for p in info["named_endpoints"]["/predict"]["parameters"]}
    assert (defaults["num_inference_steps"], defaults["guidance_scale"], defaults["width"]) == (30, 7.5, 512)


def test_safety_checker_black_image_becomes_an_nsfw_error(nsfw_app):
    response = predict_raw(nsfw_app.url, data(steps=2, guidance=7.5))
    assert response.status_code == 500
    assert "NSFW content detected" in (first_error(response) or ""), response.text
    with pytest.raises(ContentRejectedError):
        run_llm2pic(nsfw_app, GenerationRequest(PROMPT, width=64, height=64))
