"""SD WebUI (AUTOMATIC1111 / Forge) backend against a loopback fake of the real `--api`
(tests/fake_sd_webui.py, written from upstream modules/api/api.py and models.py): txt2img,
img2img, batch, auth, 422, CUDA out of memory, progress, long queue waits, deadline, doctor."""

from __future__ import annotations

import asyncio
import base64
import io
import socket

import httpx
import pytest
from PIL import Image

from fake_sd_webui import CHECKPOINTS, FakeSDWebUI, png
from loopback_server import serve
from llm2pic.backends.base import GenerationRequest, ProgressEvent
from llm2pic.errors import ConfigurationError, TransientError
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.backends.sd_webui import SDWebUIBackend
from llm2pic.config.backends_selfhosted import SDWebUIBackendConfig
from llm2pic.config.chain import ChainSection
from llm2pic.config.load import load_config_data

PASSWORD = "s3cret-webui-pass"


@pytest.fixture
def fake():
    return FakeSDWebUI()


@pytest.fixture
def url(fake):
    with serve(fake.app()) as base:
        yield base


def backend_for(url: str, environ=None, client=None, **fields) -> SDWebUIBackend:
    config = SDWebUIBackendConfig(name="webui", base_url=url, **fields)
    return build_backend(config, client or make_client(config), environ or {})


async def draw(backend, request=None, progress=None):
    try:
        return await backend.generate(request or GenerationRequest("a red fox in snow"),
                                      progress or (lambda event: None))
    finally:
        await backend._client.aclose()


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


async def test_txt2img_body_size_from_aspect_and_seed_from_info(fake, url):
    backend = backend_for(url, model=CHECKPOINTS[1], sampler_name="DPM++ 2M", scheduler="Karras", steps=4,
                          cfg_scale=5.5, extra={"enable_hr": False, "override_settings": {"CLIP_stop_at_last_layers": 2}})
    images = await draw(backend, GenerationRequest("a red fox", negative_prompt="blurry", aspect="16:9", seed=7))
    mode, auth, body = fake.requests[-1]
    assert mode == "txt2img" and auth == ""
    assert (body["width"], body["height"]) == (1344, 768)  # about 1024² pixels, multiples of 64
    assert body["prompt"] == "a red fox" and body["negative_prompt"] == "blurry" and body["seed"] == 7
    assert body["sampler_name"] == "DPM++ 2M" and body["scheduler"] == "Karras"
    assert body["steps"] == 4 and body["cfg_scale"] == 5.5 and body["batch_size"] == 1
    assert body["override_settings"] == {"sd_model_checkpoint": CHECKPOINTS[1], "CLIP_stop_at_last_layers": 2}
    assert body["override_settings_restore_afterwards"] is True and body["enable_hr"] is False
    assert body["force_task_id"].startswith("task(")
    assert [(i.mime, i.seed, i.backend) for i in images] == [("image/png", 7, "webui")]
    assert size_of(images[0].data) == (1344 // 8, 768 // 8)
    assert images[0].metadata["sd_model_name"] == "v1-5-pruned-emaonly"


async def test_random_seed_is_sent_and_read_back(fake, url):
    images = await draw(backend_for(url, pixels=512 * 512))
    body = fake.requests[-1][2]
    assert (body["width"], body["height"]) == (512, 512)
    assert isinstance(body["seed"], int) and body["seed"] >= 0 and images[0].seed == body["seed"]


async def test_img2img_with_reference_image(fake, url):
    reference = png(64, 64, (10, 200, 10))
    images = await draw(backend_for(url, denoising_strength=0.4),
                        GenerationRequest("the same cat, smiling", reference_images=(reference,)))
    mode, _, body = fake.requests[-1]
    assert mode == "img2img"
    assert base64.b64decode(body["init_images"][0]) == reference
    assert body["denoising_strength"] == 0.4 and body["include_init_images"] is False
    assert len(images) == 1


async def test_batch_returns_each_image_with_its_seed_and_skips_script_outputs(fake, url):
    fake.extra_script_images = 2  # e.g. ControlNet maps after the generated images
    images = await draw(backend_for(url), GenerationRequest("three foxes", seed=100, count=3))
    assert fake.requests[-1][2]["batch_size"] == 3
    assert [image.seed for image in images] == [100, 101, 102]
    assert all(size_of(image.data) == (128, 128) for image in images)


async def test_basic_auth_password_from_env_never_in_errors(url, fake):
    fake.auth = ("bot", PASSWORD)
    images = await draw(backend_for(url, environ={"WEBUI_PW": PASSWORD}, username="bot", password_env="WEBUI_PW"))
    assert len(images) == 1
    assert fake.requests[-1][1] == "Basic " + base64.b64encode(f"bot:{PASSWORD}".encode()).decode()

    with pytest.raises(ConfigurationError) as refused:
        await draw(backend_for(url, username="bot", password="wrong-password"))
    assert "HTTP 401" in refused.value.detail and "Incorrect username or password" in refused.value.detail
    assert "wrong-password" not in str(refused.value)

    with pytest.raises(ConfigurationError) as missing:
        await draw(backend_for(url))
    assert "set username and password" in missing.value.detail


async def test_422_names_the_field(url):
    with pytest.raises(ConfigurationError) as caught:
        await draw(backend_for(url, extra={"steps": "many"}))
    assert "HTTP 422" in caught.value.detail and "steps: value is not a valid integer" in caught.value.detail


async def test_unknown_always_on_script_and_sampler_are_configuration_errors(url):
    with pytest.raises(ConfigurationError) as script:
        await draw(backend_for(url, extra={"alwayson_scripts": {"ADetailer": {"args": []}}}))
    assert "always on script ADetailer not found" in script.value.detail
    with pytest.raises(ConfigurationError) as sampler:
        await draw(backend_for(url, sampler_name="Nope"))
    assert "Sampler not found" in sampler.value.detail


async def test_out_of_memory_retries_once_smaller_then_succeeds(fake, url):
    fake.oom_pixels = 700_000
    events: list[ProgressEvent] = []
    images = await draw(backend_for(url), GenerationRequest("a fox", aspect="1:1"), events.append)
    sizes = [(body["width"], body["height"]) for _, _, body in fake.requests]
    assert sizes == [(1024, 1024), (704, 704)]
    assert len(images) == 1 and any("显存不足" in event.message for event in events)


async def test_out_of_memory_at_a_fixed_size_is_its_own_reason_and_not_retried(fake, url):
    fake.oom_pixels = 100
    backend = backend_for(url)
    chain = BackendChain([backend], ChainSection(max_attempts=3, backoff_initial=0.01, backoff_max=0.01))
    try:
        with pytest.raises(ConfigurationError) as caught:
            await chain.generate(GenerationRequest("a fox", width=768, height=768), deadline=20)
    finally:
        await backend._client.aclose()
    assert "显存不足" in caught.value.user_message and "CUDA out of memory" in caught.value.detail
    assert len(fake.requests) == 1  # the same size is never tried again


async def test_progress_is_polled_and_reported(fake, url):
    fake.step_delay = 0.05
    fake.default_steps = 12
    events: list[ProgressEvent] = []
    await draw(backend_for(url, progress_interval=0.2), GenerationRequest("a fox"), events.append)
    steps = [event for event in events if event.kind == "step"]
    assert steps and all(event.total == 12 for event in steps)
    assert [event.step for event in steps] == sorted(event.step for event in steps)
    assert all(event.backend == "webui" for event in steps)


async def started(backend, kind: str):
    """A draw running in a task, once it has reported a progress event of `kind`."""
    seen = asyncio.Event()
    task = asyncio.ensure_future(draw(backend, progress=lambda event: event.kind == kind and seen.set()))
    await asyncio.wait_for(seen.wait(), 30)
    return task


async def cancelled(task) -> None:
    """What the chain's deadline does: cancel the job and wait for it to end."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_waiting_behind_another_job_is_reported_as_queued_and_has_no_read_timeout(fake, url):
    fake.step_delay = 0.05
    fake.default_steps = 30  # about 1.5 seconds per job
    # A client whose default read timeout is far shorter than the queue wait: only the deadline counts.
    ours = backend_for(url, client=httpx.AsyncClient(timeout=httpx.Timeout(0.3)), progress_interval=0.2)
    events: list[ProgressEvent] = []
    first = await started(backend_for(url, progress_interval=0.2), "step")
    images = await draw(ours, GenerationRequest("a fox"), events.append)
    await first
    assert images and events[0].kind == "queued" and "排队" in events[0].message and events[0].rank == 1
    assert any(event.kind == "step" for event in events)


async def test_deadline_interrupts_our_running_job_only(fake, url):
    fake.step_delay = 0.1
    fake.default_steps = 50
    await cancelled(await started(backend_for(url, progress_interval=0.2), "step"))
    assert fake.interrupts == 1

    fake.interrupts = 0
    fake.interrupted = False
    other = await started(backend_for(url, progress_interval=0.2), "step")
    ours = await started(backend_for(url, progress_interval=0.2), "queued")  # behind `other`
    await cancelled(ours)
    assert fake.interrupts == 0
    fake.interrupted = True
    await other


async def test_connection_refused_and_5xx_are_transient(url, fake):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(TransientError) as refused:
        await draw(backend_for(closed))
    assert "not sent" in refused.value.detail

    with pytest.raises(ConfigurationError) as a1111:  # A1111: the middleware names the exception
        await draw(backend_for(url, model="missing-model"))
    assert "model 'missing-model' not found" in a1111.value.detail
    fake.forge = True
    with pytest.raises(TransientError) as forge_500:  # Forge: a plain-text 500 says nothing more
        await draw(backend_for(url, model="missing-model"))
    assert "HTTP 500: Internal Server Error" in forge_500.value.detail


async def test_api_off_is_a_configuration_error(url, fake):
    fake.api = False
    with pytest.raises(ConfigurationError) as caught:
        await draw(backend_for(url))
    assert "--api" in caught.value.detail
    report = await backend_for(url).probe()
    assert not report.ok and "--api" in report.summary


async def test_doctor_lists_version_checkpoint_checkpoints_and_samplers(url, fake):
    fake.auth = ("bot", PASSWORD)
    report = await backend_for(url, username="bot", password=PASSWORD, sampler_name="Euler a").probe()
    text = "\n".join(report.lines)
    assert report.ok, report
    assert "version: v1.10.1" in text and f"current checkpoint: {CHECKPOINTS[0]}" in text
    assert CHECKPOINTS[1] in text and "DPM++ 2M" in text and PASSWORD not in text

    bad = await backend_for(url, username="bot", password=PASSWORD, model="nonexistent.safetensors").probe()
    assert not bad.ok and "nonexistent.safetensors" in bad.summary


async def test_doctor_checks_the_scheduler_and_tolerates_versions_without_the_route(url, fake):
    good = await backend_for(url, scheduler="Karras").probe()
    assert good.ok and "schedulers (4): Automatic, Karras" in "\n".join(good.lines)
    bad = await backend_for(url, scheduler="Karass").probe()
    assert not bad.ok and "scheduler 'Karass' is not among the schedulers" in bad.summary
    fake.lists_schedulers = False  # before A1111 1.9: 404, and the field is ignored
    old = await backend_for(url, scheduler="Karras").probe()
    assert old.ok and "schedulers: not listed by this version" in "\n".join(old.lines)


def test_config_minimal_and_errors():
    loaded = load_config_data({"backends": [{"type": "sd_webui", "name": "my-webui", "base_url": "http://127.0.0.1:7860/"}]})
    config = loaded.config.backends[0]
    assert (config.type, config.base_url, config.timeout, config.pixels, loaded.warnings) == \
        ("sd_webui", "http://127.0.0.1:7860", 600.0, 1024 * 1024, [])
    with pytest.raises(Exception) as missing:
        load_config_data({"backends": [{"type": "sd_webui"}]})
    assert "base_url is required" in str(missing.value)
    with pytest.raises(Exception) as secret:
        load_config_data({"backends": [{"type": "sd_webui", "base_url": "http://h", "password": ["x"]}]})
    assert "backends[0].password" in str(secret.value)


CANARY = "CANARY-webui-7f3a91c2"
ECHOES = [
    httpx.Response(401, json={"error": "HTTPException", "detail": f"bad password {CANARY}", "body": "", "errors": ""}),
    httpx.Response(422, json={"detail": [{"loc": ["body", "prompt"], "msg": f"echo {CANARY}", "type": "x"}]}),
    httpx.Response(500, json={"error": "OutOfMemoryError", "detail": "", "body": "",
                              "errors": f"CUDA out of memory {CANARY}"}),
    httpx.Response(502, text=f"<html>proxy saw Authorization: Basic {CANARY}</html>"),
    httpx.Response(200, text=f"not json {CANARY}"),
    httpx.ReadError(f"connection reset {CANARY}"),
    httpx.ConnectError(f"connect failed {CANARY}"),
]


@pytest.mark.parametrize("answer", ECHOES, ids=lambda a: getattr(a, "status_code", type(a).__name__))
async def test_the_password_never_leaks_through_the_chain(answer, caplog):
    """respx here: a real WebUI never echoes the password; a misbehaving proxy or extension can."""
    import logging
    import respx

    caplog.set_level(logging.DEBUG)
    events: list[ProgressEvent] = []
    backend = backend_for("http://webui.local:7860", username="bot", password=CANARY)
    chain = BackendChain([backend], ChainSection(max_attempts=2, backoff_initial=0.01, backoff_max=0.01))
    with respx.mock(assert_all_called=False) as router:
        router.post("http://webui.local:7860/sdapi/v1/txt2img").mock(side_effect=[answer, answer])
        router.get("http://webui.local:7860/sdapi/v1/progress").mock(return_value=httpx.Response(200, json={}))
        router.get(url__regex=r"http://webui\.local:7860/(sdapi|internal)/.*").mock(side_effect=[answer] * 4)
        try:
            with pytest.raises(Exception) as caught:
                await chain.generate(GenerationRequest("a fox", width=512, height=512), events.append, deadline=10)
            report = await backend.probe()
        finally:
            await backend._client.aclose()
    shown = [str(caught.value), repr(caught.value), getattr(caught.value, "user_message", ""), caplog.text,
             report.summary, *report.lines, *(event.message for event in events),
             *(status.describe() for status in chain.status())]
    assert not [text for text in shown if CANARY in text]


async def test_extra_with_n_iter_takes_all_images_and_odd_counts_are_not_a_crash(fake, url):
    images = await draw(backend_for(url, extra={"n_iter": 2}), GenerationRequest("a fox", count=2))
    assert len(images) == 4 and fake.requests[-1][2]["batch_size"] == 2  # n_iter from extra: 2 × 2, all kept
    with pytest.raises(ConfigurationError) as caught:  # FastAPI refuses the type; we do not crash on it
        await draw(backend_for(url, extra={"batch_size": "many"}))
    assert "batch_size" in caught.value.detail


async def test_a_chat_reference_goes_to_img2img_and_several_images_are_one_batch(fake, url):
    reference = png(48, 32, (10, 200, 10))
    backend = backend_for(url)
    try:
        assert await backend.takes_references()
        images = await BackendChain([backend]).generate(
            GenerationRequest("make it winter", seed=9, count=3, reference_images=(reference,)))
    finally:
        await backend._client.aclose()
    [(mode, _auth, body)] = fake.requests  # one request: the batch carried all three
    assert mode == "img2img" and body["batch_size"] == 3 and body["init_images"] == [
        base64.b64encode(reference).decode()]
    assert [image.seed for image in images] == [9, 10, 11]


async def test_an_out_of_memory_batch_fails_and_the_chain_keeps_nothing_it_did_not_get(fake, url):
    # A later request of several images failing is covered in test_chain; here the WebUI's own
    # refusal of a too-large batch is one failed call, with no partial images invented.
    fake.oom_pixels = 600 * 600
    backend = backend_for(url)
    try:
        with pytest.raises(ConfigurationError):
            await BackendChain([backend]).generate(GenerationRequest("cats", width=512, height=512, count=2))
    finally:
        await backend._client.aclose()
    assert [(mode, body["batch_size"]) for mode, _, body in fake.requests] == [("txt2img", 2)]  # never resent
