"""The Gradio backend against real Gradio 3.50, 4.44, 5.x and 6.x servers on 127.0.0.1."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import ConfigurationError, ContentRejectedError, QuotaError, TransientError
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig

pytestmark = pytest.mark.gradio_server

# Gradio 3 publishes no parameter names: its inputs are named after their labels, or by position.
Z_IMAGE_ON_3 = {"0": "{prompt}", "1": "{resolution}", "2": "{seed}", "5": False}


def z_image(lab, **overrides):
    settings = dict(base_url=lab.url, preset="z-image-turbo")
    if lab.version == "3":
        settings.update(preset="none", api_name="/generate", inputs=Z_IMAGE_ON_3)
    settings.update(overrides)
    return GradioBackendConfig(**settings)


async def run(config, request, events=None):
    async with make_client(config) as client:
        backend = build_backend(config, client, {})
        return await backend.generate(request, (events.append if events is not None else lambda e: None))


def size_of(image) -> tuple[int, int]:
    return Image.open(io.BytesIO(image.data)).size


async def test_z_image_generate_picks_the_resolution_and_keeps_our_seed(lab):
    images = await run(z_image(lab), GenerationRequest("a red fox", aspect="16:9", seed=1234))
    assert len(images) == 1
    assert images[0].mime == "image/png"  # the gallery is PNG (3.x always saves PNG)
    assert size_of(images[0]) == (1280 // 16, 720 // 16)  # "1280x720 ( 16:9 )" was chosen
    assert images[0].seed == 1234


async def test_flux_infer_snaps_width_and_height_to_the_sliders(lab):
    config = GradioBackendConfig(base_url=lab.url, preset="flux-schnell")
    images = await run(config, GenerationRequest("a red fox", aspect="3:4", seed=77))
    # 3:4 at about 1024² pixels is 888x1184, snapped to the sliders' step of 32 from 256.
    assert size_of(images[0]) == (896 // 16, 1184 // 16)
    assert images[0].seed == 77
    assert images[0].mime in ("image/webp", "image/png")


async def test_zero_gpu_quota_error_becomes_quota_with_retry_after(lab):
    config = GradioBackendConfig(base_url=lab.url, api_name="/quota", preset="none")
    with pytest.raises(QuotaError) as caught:
        await run(config, GenerationRequest("a fox"))
    assert caught.value.retry_after == 9 * 60 + 48
    assert "10 分钟" in caught.value.user_message
    assert "<a" not in caught.value.detail


async def test_hidden_crash_is_transient_and_says_details_are_hidden(lab):
    config = GradioBackendConfig(base_url=lab.url, api_name="/crash", preset="none")
    with pytest.raises(TransientError) as caught:
        await run(config, GenerationRequest("a fox"))
    assert "hides details" in caught.value.detail
    assert "internal detail" not in str(caught.value)


async def test_progress_and_log_lines_reach_the_callback(lab):
    config = GradioBackendConfig(base_url=lab.url, api_name="/slow", preset="none")
    events = []
    images = await run(config, GenerationRequest("a fox"), events)
    assert images[0].data
    if lab.version == "3":
        pytest.skip("Gradio 3 is called through /run, which carries no progress")
    kinds = [e.kind for e in events]
    assert "queued" in kinds and "started" in kinds
    steps = [e for e in events if e.kind == "step"]
    assert steps and steps[-1].total == 3
    assert any("Waiting for a GPU" in e.message for e in events if e.kind == "log")


async def test_classic_interface_through_run_predict(lab):
    # 4.x+ name the parameter after the function's argument ("prompt", found without config);
    # Gradio 3 after the label ("input") or by position.
    config = GradioBackendConfig(base_url=lab.url, api_name="/predict", preset="none", transport="run",
                                 inputs={"0": "{prompt}"} if lab.version == "3" else {})
    images = await run(config, GenerationRequest("a lighthouse"))
    assert size_of(images[0]) == (16, 16)


async def test_nsfw_placeholder_is_a_refusal_not_an_image(lab):
    with pytest.raises(ContentRejectedError):
        await run(z_image(lab), GenerationRequest("nsfw cat"))


async def test_config_that_does_not_fit_the_endpoint_disables_the_backend_before_any_job(lab):
    config = GradioBackendConfig(base_url=lab.url, api_name="/infer", preset="z-image-turbo")
    async with make_client(config) as client:
        backend = build_backend(config, client, {})
        for _ in range(2):
            with pytest.raises(ConfigurationError) as caught:
                await backend.generate(GenerationRequest("a fox"))
            assert "has no parameter resolution" in caught.value.detail
        report = await backend.probe()
    assert not report.ok
    assert any("endpoint /infer" in line for line in report.lines)


async def test_unknown_endpoint_names_the_ones_that_exist(lab):
    config = GradioBackendConfig(base_url=lab.url, api_name="/nope", preset="none")
    with pytest.raises(ConfigurationError) as caught:
        await run(config, GenerationRequest("a fox"))
    assert "/generate" in caught.value.detail and "/infer" in caught.value.detail


async def test_deadline_cancels_the_remote_job(lab):
    config = GradioBackendConfig(base_url=lab.url, api_name="/slow", preset="none", timeout=0.3)
    with pytest.raises(TransientError) as caught:
        await run(config, GenerationRequest("a fox"))
    assert "deadline" in caught.value.detail


@pytest.mark.parametrize("transport", ["queue", "call", "run"])
async def test_every_transport_draws_on_4_and_later(lab, transport):
    if lab.version == "3":
        pytest.skip("Gradio 3 has only /run (its queue is a WebSocket)")
    images = await run(z_image(lab, transport=transport), GenerationRequest("a red fox", aspect="9:16", seed=5))
    assert size_of(images[0]) == (720 // 16, 1280 // 16)
    assert images[0].metadata["transport"] == transport


async def test_call_transport_error_text_is_lost_before_6_13(lab):
    if lab.version == "3":
        pytest.skip("no /call on Gradio 3")
    config = GradioBackendConfig(base_url=lab.url, api_name="/quota", preset="none", transport="call")
    expected = QuotaError if lab.version == "6" else TransientError
    with pytest.raises(expected):
        await run(config, GenerationRequest("a fox"))


async def test_doctor_probe_lists_endpoints_with_parameters_and_defaults(lab):
    config = z_image(lab)
    async with make_client(config) as client:
        report = await build_backend(config, client, {}).probe()
    assert report.ok, report.summary
    text = "\n".join(report.lines)
    assert "endpoint /generate" in text and "endpoint /infer" in text
    assert "1024x1024 ( 1:1 )" in text
    assert f"gradio {lab.version}." in text
