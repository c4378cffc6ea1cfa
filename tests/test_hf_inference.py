"""Hugging Face Inference API backend: request shape, raw-bytes answers, JSON errors (even with
status 200), the 503 model-loading wait, and the status → taxonomy mapping (backends.md §4)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from llm2pic.backends.base import GenerationRequest, ProgressEvent
from llm2pic.errors import (ConfigurationError, ContentRejectedError, ProtocolError, QuotaError, ReferenceUnsupported,
                            TransientError)
from llm2pic.backends.hf_inference import HFInferenceBackend
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import HFInferenceBackendConfig

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
URL = "https://router.huggingface.co/hf-inference/models/black-forest-labs/FLUX.1-schnell"
TOKEN = "hf_testtoken1234567890"


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


async def run(responses, request: GenerationRequest | None = None, progress=None, **fields):
    config = HFInferenceBackendConfig(token=TOKEN, **fields)
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        backend = HFInferenceBackend(config, client, environ={}, sleep=sleeps)
        with respx.mock() as router:
            route = router.post(URL)
            route.mock(side_effect=list(responses) if isinstance(responses, list) else [responses])
            try:
                result = await backend.generate(request or GenerationRequest("a red fox in snow"),
                                                progress or (lambda event: None))
            except Exception as exc:  # noqa: BLE001 - returned for the assertions
                result = exc
    return result, route, sleeps


async def test_request_shape_and_raw_image_answer():
    request = GenerationRequest("a red fox in snow", negative_prompt="blurry", aspect="16:9", seed=42)
    images, route, _ = await run(httpx.Response(200, content=JPEG, headers={"content-type": "image/jpeg"}),
                                 request, num_inference_steps=4, guidance_scale=0.0)
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {TOKEN}" and sent.headers["accept"] == "image/png"
    assert json.loads(sent.content) == {"inputs": "a red fox in snow", "parameters": {
        "negative_prompt": "blurry", "num_inference_steps": 4, "guidance_scale": 0.0,
        "width": 1344, "height": 768, "seed": 42}}
    assert [(i.data, i.mime, i.seed, i.backend) for i in images] == [(JPEG, "image/jpeg", 42, "hf-flux.1-schnell")]


async def test_unset_parameters_are_not_sent():
    _, route, _ = await run(httpx.Response(200, content=PNG, headers={"content-type": "image/png"}))
    assert json.loads(route.calls.last.request.content)["parameters"] == {"width": 1024, "height": 1024}


async def test_json_body_with_status_200_is_an_error():
    error, _, _ = await run(httpx.Response(200, json={"error": "Internal error while generating"}))
    assert isinstance(error, ProtocolError)


async def test_model_loading_waits_and_retries_with_wait_for_model():
    events: list[ProgressEvent] = []
    loading = httpx.Response(503, json={"error": "Model black-forest-labs/FLUX.1-schnell is currently loading",
                                        "estimated_time": 20.0})
    images, route, sleeps = await run([loading, httpx.Response(200, content=PNG,
                                                               headers={"content-type": "image/png"})],
                                      progress=events.append)
    assert images[0].data == PNG and sleeps.calls == [20.0]
    assert "x-wait-for-model" not in route.calls[0].request.headers
    assert route.calls[1].request.headers["x-wait-for-model"] == "true"
    assert [(e.kind, e.eta) for e in events] == [("queued", 20.0)]


async def test_model_loading_longer_than_model_wait_is_transient():
    loading = httpx.Response(503, json={"error": "Model is currently loading", "estimated_time": 400.0})
    error, route, sleeps = await run([loading] * 10, model_wait=60)
    assert isinstance(error, TransientError) and error.retry_after == 400.0
    assert sleeps.calls == [30.0, 30.0] and route.call_count == 3


@pytest.mark.parametrize("status,body,kind", [
    (402, {"error": "You have exceeded your monthly included credits for Inference Providers. Subscribe to PRO "
                    "to get 20x more monthly included credits."}, QuotaError),
    (429, {"error": "You have exceeded your monthly included credits for Inference Providers."}, QuotaError),
    (429, {"error": "Rate limit reached. You reached free usage limit (reset hourly)."}, TransientError),
    (401, {"error": "Invalid credentials in Authorization header"}, ConfigurationError),
    (403, {"error": "This authentication method does not have sufficient permissions to call Inference "
                    "Providers on behalf of user x"}, ConfigurationError),
    (404, {"error": "Model not-a/model does not exist"}, ConfigurationError),
    (422, {"error": ["Error in `parameters.width`: ensure this value is a multiple of 8"]}, ConfigurationError),
    (400, {"error": "Potential NSFW content was detected in one or more images."}, ContentRejectedError),
    (500, {"error": "CUDA out of memory"}, TransientError),
    (503, {"error": "Service Unavailable"}, TransientError),
    (504, None, TransientError),
])
async def test_errors_map_to_the_taxonomy(status, body, kind):
    response = httpx.Response(status, json=body) if body is not None else httpx.Response(status, text="Gateway Timeout")
    error, route, _ = await run(response)
    assert type(error) is kind and route.call_count == 1
    assert "credits" not in error.user_message and "CUDA" not in error.user_message


async def test_rate_limit_keeps_retry_after():
    error, _, _ = await run(httpx.Response(429, json={"error": "Too Many Requests"}, headers={"retry-after": "12"}))
    assert isinstance(error, TransientError) and error.retry_after == 12


async def test_answer_that_is_not_an_image_is_a_protocol_error():
    error, _, _ = await run(httpx.Response(200, content=b"\x00\x01garbage", headers={"content-type": "image/png"}))
    assert isinstance(error, ProtocolError)


async def test_oversized_answer_is_refused():
    error, _, _ = await run(httpx.Response(200, content=PNG + bytes(4096), headers={"content-type": "image/png"}),
                            max_download_bytes=1024)
    assert isinstance(error, ProtocolError)


async def test_connection_lost_after_sending_is_outcome_unknown():
    error, _, _ = await run(httpx.ReadError("connection reset by peer"))
    assert isinstance(error, TransientError) and error.outcome_unknown
    error, _, _ = await run(httpx.ConnectError("name resolution failed"))
    assert isinstance(error, TransientError) and not error.outcome_unknown


async def test_token_from_environment_through_the_registry():
    config = HFInferenceBackendConfig(model="stabilityai/stable-diffusion-xl-base-1.0", token_env="MY_HF")
    client = make_client(config)
    backend = build_backend(config, client, environ={"MY_HF": "hf_fromenvironment123"})
    try:
        with respx.mock() as router:
            route = router.post("https://router.huggingface.co/hf-inference/models/"
                                "stabilityai/stable-diffusion-xl-base-1.0").respond(
                200, content=PNG, headers={"content-type": "image/png"})
            await backend.generate(GenerationRequest("a fox"))
    finally:
        await client.aclose()
    assert route.calls.last.request.headers["authorization"] == "Bearer hf_fromenvironment123"


def test_model_id_is_validated():
    with pytest.raises(ValueError):
        HFInferenceBackendConfig(model="../../etc/passwd")


async def test_probe_spends_nothing():
    config = HFInferenceBackendConfig()
    async with httpx.AsyncClient() as client:
        with respx.mock(assert_all_called=False):
            report = await HFInferenceBackend(config, client, environ={}).probe()
    assert not report.ok and "token" in report.summary


async def test_one_image_per_call_and_no_reference_images():
    ok = httpx.Response(200, content=JPEG, headers={"content-type": "image/jpeg"})
    images, route, _ = await run(ok, GenerationRequest("foxes", count=3))
    assert len(images) == 1 and route.call_count == 1  # the chain asks again for the others
    async with httpx.AsyncClient() as client:
        backend = HFInferenceBackend(HFInferenceBackendConfig(token=TOKEN), client, environ={})
        assert not await backend.takes_references()
        with respx.mock(assert_all_called=False) as router:
            route = router.post(URL).mock(return_value=ok)
            with pytest.raises(ReferenceUnsupported):
                await backend.generate(GenerationRequest("like this", reference_images=(JPEG,)))
    assert route.call_count == 0
    hinted, route, _ = await run(ok, GenerationRequest("selfie", reference_images=(JPEG,), references_required=False))
    assert len(hinted) == 1 and route.call_count == 1
