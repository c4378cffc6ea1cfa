"""ComfyUI backend against a loopback fake of the real server (tests/fake_comfyui.py, written from
upstream server.py / execution.py / main.py / protocol.py): the shipped workflows, a user workflow
with `nodes`, websocket and polling, the /history race, the cache pitfall, node_errors,
execution_error, interrupt and dequeue on deadline, references, batches, doctor."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging

import pytest
from PIL import Image

from fake_comfyui import FakeComfyUI, png
from loopback_server import serve
from llm2pic.backends.base import GenerationRequest, ProgressEvent
from llm2pic.errors import ConfigurationError, ReferenceUnsupported
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.comfyui.backend import ComfyUIBackend
from llm2pic.backends.comfyui.workflow import load_workflow
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends_selfhosted import ComfyUIBackendConfig
from llm2pic.config.chain import ChainSection


@pytest.fixture
def fake():
    return FakeComfyUI()


@pytest.fixture
def url(fake):
    with serve(fake.app()) as base:
        yield base


def backend_for(url: str, **fields) -> ComfyUIBackend:
    config = ComfyUIBackendConfig(name="comfy", base_url=url, **fields)
    return build_backend(config, make_client(config), {})


async def draw(backend, request=None, progress=None):
    try:
        return await backend.generate(request or GenerationRequest("a red fox in snow"),
                                      progress or (lambda event: None))
    finally:
        await backend.api.client.aclose()


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def write(tmp_path, graph, name="workflow_api.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(graph), encoding="utf-8")
    return str(path)


async def test_shipped_checkpoint_workflow_over_the_websocket(fake, url):
    events: list[ProgressEvent] = []
    images = await draw(backend_for(url), GenerationRequest("a red fox", negative_prompt="blurry", aspect="16:9"),
                        events.append)
    body = fake.prompts[-1]
    graph = body["prompt"]
    assert graph["6"]["inputs"]["text"] == "a red fox" and graph["7"]["inputs"]["text"] == "blurry"
    assert (graph["5"]["inputs"]["width"], graph["5"]["inputs"]["height"]) == (704, 384)  # 512² budget, 16:9
    assert isinstance(graph["3"]["inputs"]["seed"], int) and graph["5"]["inputs"]["batch_size"] == 1
    assert any(sid == body["client_id"] for sid, _ in fake.ws_messages)  # the websocket was ours
    assert len(images) == 1 and images[0].mime == "image/png" and size_of(images[0].data) == (88, 48)
    assert images[0].seed == graph["3"]["inputs"]["seed"]
    kinds = [event.kind for event in events]
    assert "started" in kinds and [e.step for e in events if e.kind == "step"] == list(range(1, 21))


async def test_shipped_flux_workflow_fills_sampler_custom_advanced_roles(fake, url):
    images = await draw(backend_for(url, workflow="builtin:flux", steps=6, model="flux1-dev.safetensors"),
                        GenerationRequest("a lighthouse", negative_prompt="ignored by flux", aspect="1:1", seed=5))
    graph = fake.prompts[-1]["prompt"]
    assert graph["6"]["inputs"]["text"] == "a lighthouse"
    assert graph["25"]["inputs"]["noise_seed"] == 5 and graph["17"]["inputs"]["steps"] == 6
    assert graph["12"]["inputs"]["unet_name"] == "flux1-dev.safetensors"
    assert (graph["27"]["inputs"]["width"], graph["27"]["inputs"]["height"]) == (1024, 1024)
    assert (graph["30"]["inputs"]["width"], graph["30"]["inputs"]["height"]) == (1024, 1024)
    assert images[0].seed == 5


KSAMPLER_ADVANCED = {
    "10": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    "11": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "placeholder prompt"}},
    "12": {"class_type": "Reroute", "inputs": {"input": ["11", 0]}},
    "20": {"class_type": "CLIPTextEncode", "inputs": {"text": ["12", 0], "clip": ["10", 1]}},
    "21": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["10", 1]}},
    "30": {"class_type": "PrimitiveInt", "inputs": {"value": 1}},
    "40": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "50": {"class_type": "KSamplerAdvanced", "inputs": {
        "model": ["10", 0], "add_noise": "enable", "noise_seed": ["30", 0], "steps": 8, "cfg": 5.0,
        "sampler_name": "euler", "scheduler": "normal", "positive": ["20", 0], "negative": ["21", 0],
        "latent_image": ["40", 0], "start_at_step": 0, "end_at_step": 10000, "return_with_leftover_noise": "disable"}},
    "60": {"class_type": "VAEDecode", "inputs": {"samples": ["50", 0], "vae": ["10", 2]}},
    "70": {"class_type": "PreviewImage", "inputs": {"images": ["60", 0]}},
}


async def test_user_workflow_auto_detected_through_primitive_reroute_and_preview(fake, url, tmp_path):
    images = await draw(backend_for(url, workflow=write(tmp_path, KSAMPLER_ADVANCED)),
                        GenerationRequest("a koi pond", negative_prompt="text", seed=9))
    graph = fake.prompts[-1]["prompt"]
    assert graph["11"]["inputs"]["value"] == "a koi pond" and graph["20"]["inputs"]["text"] == ["11", 0]
    assert "12" not in graph  # the editor-only Reroute is wired through, not sent
    assert graph["21"]["inputs"]["text"] == "text" and graph["30"]["inputs"]["value"] == 9
    assert images[0].seed == 9 and images[0].metadata["filename"].startswith("ComfyUI_temp")  # a "temp" preview


async def test_user_workflow_with_nodes_mapping(fake, url, tmp_path):
    nodes = {"prompt": "21.text", "negative_prompt": "20.text", "seed": "50.noise_seed", "steps": "50.steps"}
    backend = backend_for(url, workflow=write(tmp_path, KSAMPLER_ADVANCED), nodes=nodes, steps=3)
    await draw(backend, GenerationRequest("mapped prompt", negative_prompt="mapped negative", seed=77))
    graph = fake.prompts[-1]["prompt"]
    assert graph["21"]["inputs"]["text"] == "mapped prompt" and graph["20"]["inputs"]["text"] == "mapped negative"
    assert graph["50"]["inputs"]["noise_seed"] == 77 and graph["50"]["inputs"]["steps"] == 3
    assert graph["11"]["inputs"]["value"] == "placeholder prompt"  # nothing auto-detected for a mapped role


async def test_polling_when_the_websocket_is_unavailable_and_the_history_race(fake, url):
    fake.websocket = False
    fake.history_delay = 0.8
    events: list[ProgressEvent] = []
    images = await draw(backend_for(url, poll_interval=0.2), progress=events.append)
    assert len(images) == 1 and fake.ws_messages == []
    fake.websocket = True
    images = await draw(backend_for(url, websocket=False, poll_interval=0.2))
    assert len(images) == 1 and fake.ws_messages == []  # nobody connected


async def test_websocket_done_before_history_entry_is_waited_for(fake, url):
    fake.history_delay = 1.5  # execution_success arrives well before /history has the entry
    images = await draw(backend_for(url))
    assert len(images) == 1


async def test_api_prefix_base_url(fake, url):
    images = await draw(backend_for(url + "/api"))
    assert len(images) == 1


async def test_seed_is_random_per_request_so_the_cache_never_answers(fake, url):
    backend = backend_for(url)
    await draw(backend)
    await draw(backend_for(url))
    seeds = [body["prompt"]["3"]["inputs"]["seed"] for body in fake.prompts]
    assert seeds[0] != seeds[1]


async def test_cached_identical_graph_with_a_fixed_seed_still_returns_an_image(fake, url):
    fake.old_cache = True  # cached output nodes report nothing: the pitfall
    request = GenerationRequest("same", seed=1234)
    first = await draw(backend_for(url), request)
    second = await draw(backend_for(url), request)  # another backend object: nothing remembered
    assert len(first) == len(second) == 1
    prefixes = [body["prompt"]["9"]["inputs"]["filename_prefix"] for body in fake.prompts]
    assert prefixes[0] == prefixes[1] == "llm2pic" and prefixes[2].startswith("llm2pic_") and len(prefixes) == 3


async def test_cached_preview_only_graph_reuses_the_earlier_images(fake, url, tmp_path):
    fake.old_cache = True
    backend = backend_for(url, workflow=write(tmp_path, KSAMPLER_ADVANCED))  # PreviewImage: no prefix to change
    request = GenerationRequest("same", seed=4321)
    try:
        first = await backend.generate(request)
        second = await backend.generate(request)
    finally:
        await backend.api.client.aclose()
    assert len(fake.prompts) == 2 and fake.history[list(fake.history)[1]]["outputs"] == {}
    assert [image.data for image in second] == [image.data for image in first]


async def test_node_errors_are_a_configuration_error_naming_node_class_and_message_never_retried(fake, url):
    backend = backend_for(url, model="missing-model.safetensors")
    chain = BackendChain([backend], ChainSection(max_attempts=3, backoff_initial=0.01, backoff_max=0.01))
    try:
        with pytest.raises(ConfigurationError) as caught:
            await chain.generate(GenerationRequest("a fox"), deadline=20)
    finally:
        await backend.api.client.aclose()
    detail = caught.value.detail
    assert "node 4 (CheckpointLoaderSimple)" in detail and "Value not in list" in detail
    assert "missing-model.safetensors" in detail and "missing-model" not in caught.value.user_message
    assert fake.prompts == []


async def test_unknown_node_class_is_a_configuration_error(url, tmp_path):
    graph = {**KSAMPLER_ADVANCED, "80": {"class_type": "MyCustomUpscaler", "inputs": {"image": ["60", 0]}}}
    with pytest.raises(ConfigurationError) as caught:
        await draw(backend_for(url, workflow=write(tmp_path, graph)))
    assert "MyCustomUpscaler does not exist" in caught.value.detail


async def test_execution_error_logs_node_and_exception_and_tells_chat_briefly(fake, url, caplog):
    fake.fail_class = "VAEDecode"
    with pytest.raises(ConfigurationError) as caught:
        await draw(backend_for(url))
    assert "node 8 (VAEDecode)" in caught.value.detail and "HeaderTooLarge" in caught.value.detail
    assert "node 8 (VAEDecode)" in caplog.text and "SafetensorError: Error while deserializing" in caplog.text
    assert "HeaderTooLarge" not in caught.value.user_message and "ComfyUI" in caught.value.user_message

    fake.fail_class, fake.fail_type = "KSampler", "torch.OutOfMemoryError"
    fake.fail_message = "Allocation on device 0 would exceed allowed memory. (out of memory)"
    with pytest.raises(ConfigurationError) as oom:
        await draw(backend_for(url, websocket=False, poll_interval=0.2))  # from the history entry this time
    assert "显存不足" in oom.value.user_message and "node 3 (KSampler)" in oom.value.detail


async def started(backend, kind: str, request=None):
    """A draw running in a task, once it has reported a progress event of `kind`."""
    events: list[ProgressEvent] = []
    seen = asyncio.Event()

    def progress(event: ProgressEvent) -> None:
        events.append(event)
        if event.kind == kind:
            seen.set()

    task = asyncio.ensure_future(draw(backend, request, progress))
    await asyncio.wait_for(seen.wait(), 30)
    return task, events


async def cancelled(task) -> None:
    """What the chain's deadline does: cancel the job and wait for it to end."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_deadline_interrupts_our_running_prompt(fake, url):
    fake.step_delay = 0.2
    task, _ = await started(backend_for(url), "step")
    await cancelled(task)
    [interrupt] = fake.interrupts
    for _ in range(50):
        if interrupt["prompt_id"] in fake.history:
            break
        await asyncio.sleep(0.1)
    assert fake.history[interrupt["prompt_id"]]["status"]["status_str"] == "error"
    assert fake.deletes == [interrupt["prompt_id"]]  # harmless for a running prompt


async def test_deadline_still_interrupts_when_the_queue_cannot_be_listed(fake, url):
    fake.step_delay = 0.2
    fake.queue_listing = False
    task, _ = await started(backend_for(url), "step")
    await cancelled(task)
    assert len(fake.interrupts) == 1 and fake.deletes == [fake.interrupts[0]["prompt_id"]]


async def test_deadline_removes_our_queued_prompt(fake, url):
    fake.step_delay = 0.2
    other, _ = await started(backend_for(url), "step")
    ours, _ = await started(backend_for(url, websocket=False, poll_interval=0.2), "queued")
    await cancelled(ours)
    assert len(fake.deletes) == 1 and fake.interrupts == []
    assert len(await other) == 1
    assert fake.deletes[0] not in fake.history


@pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "polling"])
async def test_waiting_behind_another_prompt_is_reported_with_its_rank(fake, url, websocket):
    fake.step_delay = 0.1  # two seconds per job
    other, _ = await started(backend_for(url), "step")
    events: list[ProgressEvent] = []
    images = await draw(backend_for(url, websocket=websocket, poll_interval=0.2), progress=events.append)
    await other
    queued = [event for event in events if event.kind == "queued"]
    assert len(images) == 1 and queued and queued[0].rank == 1 and "排队" in queued[0].message
    assert [event.kind for event in events].index("started") > [event.kind for event in events].index("queued")


async def test_batch_sets_the_latent_batch_size(fake, url):
    images = await draw(backend_for(url), GenerationRequest("three cats", count=3))
    assert fake.prompts[-1]["prompt"]["5"]["inputs"]["batch_size"] == 3 and len(fake.prompts) == 1
    assert len(images) == 3 and len({image.data for image in images}) == 3


IMG2IMG = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "2": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
    "3": {"class_type": "VAEEncode", "inputs": {"pixels": ["2", 0], "vae": ["1", 2]}},
    "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
    "5": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["4", 0]}},
    "6": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 0, "steps": 4, "cfg": 6.0,
                                               "sampler_name": "euler", "scheduler": "normal", "positive": ["4", 0],
                                               "negative": ["5", 0], "latent_image": ["3", 0], "denoise": 0.6}},
    "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
    "8": {"class_type": "SaveImage", "inputs": {"filename_prefix": "edit", "images": ["7", 0]}},
}


async def chain_draw(backend, request):
    try:
        return await BackendChain([backend]).generate(request)
    finally:
        await backend.api.client.aclose()


async def test_reference_image_is_uploaded_and_count_without_batch_input_runs_again(fake, url, tmp_path):
    # No batch input: one prompt per call, and the chain queues the second with a new seed.
    reference = png(32, 32, (1, 2, 3))
    images = await chain_draw(backend_for(url, workflow=write(tmp_path, IMG2IMG)),
                              GenerationRequest("make it night", negative_prompt="day",
                                                reference_images=(reference,), count=2))
    [(name, data)] = fake.uploads.items()
    assert data == reference and name.startswith("llm2pic_")
    assert [body["prompt"]["2"]["inputs"]["image"] for body in fake.prompts] == [name, name]
    assert [body["prompt"]["4"]["inputs"]["text"] for body in fake.prompts] == ["make it night"] * 2
    seeds = [body["prompt"]["6"]["inputs"]["seed"] for body in fake.prompts]
    assert len(images) == 2 and seeds[0] != seeds[1]


async def test_a_workflow_without_load_image_is_skipped_for_a_reference_and_the_job_says_so(fake, url):
    # The default txt2img workflow has no LoadImage: nothing is queued, and the one sentence explains.
    backend = backend_for(url)
    assert not await backend.takes_references()
    with pytest.raises(ReferenceUnsupported) as caught:
        await chain_draw(backend, GenerationRequest("like this", reference_images=(png(8, 8, (1, 1, 1)),)))
    assert fake.prompts == [] and fake.uploads == {} and "参考图" in caught.value.user_message
    # Asked directly, the backend refuses too rather than drawing without the picture.
    with pytest.raises(ReferenceUnsupported):
        await draw(backend_for(url), GenerationRequest("like this", reference_images=(png(8, 8, (1, 1, 1)),)))
    # A hint-only reference (the selfie look) is dropped, and the text alone is drawn.
    images = await chain_draw(backend_for(url), GenerationRequest(
        "selfie", reference_images=(png(8, 8, (1, 1, 1)),), references_required=False))
    assert len(images) == 1 and fake.uploads == {}


async def test_a_failed_second_prompt_keeps_the_first_image(fake, url, tmp_path):
    backend = backend_for(url, workflow=write(tmp_path, IMG2IMG))

    def break_after_the_first(event: ProgressEvent) -> None:
        if event.message.startswith("已画好 1/"):
            fake.fail_class = "KSampler"  # the server's sampler now raises while executing

    try:
        images = await BackendChain([backend]).generate(
            GenerationRequest("night", reference_images=(png(16, 16, (9, 9, 9)),), count=3), break_after_the_first)
    finally:
        await backend.api.client.aclose()
    assert len(images) == 1 and len(fake.prompts) == 2


@pytest.mark.parametrize("listing", [True, False], ids=["object_info", "object_info-per-class"])
async def test_doctor_reports_roles_version_and_missing_classes_and_models(fake, url, tmp_path, listing):
    fake.object_info_listing = listing
    report = await backend_for(url).probe()
    text = "\n".join(report.lines)
    assert report.ok, report
    assert "prompt: 6.text (CLIPTextEncode)" in text and "seed: 3.seed (KSampler)" in text
    assert "version: 0.3.64" in text and "RTX 4090" in text

    graph = {**KSAMPLER_ADVANCED, "80": {"class_type": "MyCustomUpscaler", "inputs": {"image": ["60", 0]}}}
    bad = await backend_for(url, workflow=write(tmp_path, graph), model="nope.safetensors").probe()
    assert not bad.ok
    assert "node class MyCustomUpscaler is not installed" in bad.summary
    assert "ckpt_name = 'nope.safetensors' is not on the server" in bad.summary


async def test_ui_format_and_missing_files_are_configuration_errors(url, tmp_path):
    ui_format = {"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": []}
    with pytest.raises(ConfigurationError) as caught:
        await draw(backend_for(url, workflow=write(tmp_path, ui_format)))
    assert "Export (API)" in caught.value.detail
    with pytest.raises(ConfigurationError) as missing:
        await draw(backend_for(url, workflow=str(tmp_path / "nope.json")))
    assert "workflow file not found" in missing.value.detail
    with pytest.raises(ConfigurationError) as mapping:
        await draw(backend_for(url, nodes={"prompt": "99.text"}))
    assert "nodes.prompt = '99.text'" in mapping.value.detail and "no node 99" in mapping.value.detail


async def test_basic_auth_of_a_reverse_proxy_reaches_http_and_websocket_and_stays_secret(fake, url, caplog):
    secret = "CANARY-comfy-proxy-pw-51"
    fake.proxy_auth = "Basic " + base64.b64encode(f"bot:{secret}".encode()).decode()
    caplog.set_level(logging.DEBUG)
    events: list[ProgressEvent] = []
    config = ComfyUIBackendConfig(name="comfy", base_url=url, username="bot", password_env="COMFY_PW")
    backend = build_backend(config, make_client(config), {"COMFY_PW": secret})
    images = await draw(backend, progress=events.append)
    assert len(images) == 1 and any(sid for sid, _ in fake.ws_messages)  # the websocket got through too
    assert any(event.kind == "step" for event in events)

    with pytest.raises(ConfigurationError) as refused:
        await draw(backend_for(url, username="bot", password="wrong-" + secret))
    assert "HTTP 401" in refused.value.detail
    assert secret not in str(refused.value) and secret not in caplog.text and "wrong-" not in caplog.text


async def test_a_graph_without_a_seed_input_still_draws_when_asked_twice(fake, url, tmp_path):
    # The seed comes from a custom node whose value cannot be told apart (min/max), so the graph
    # sent twice is identical and an older server's cache answers it without images.
    fake.old_cache = True
    fake.classes["Random Seed Range"] = {**fake.classes["PrimitiveInt"], "input": {"required": {
        "min": ("INT", {}), "max": ("INT", {})}}}
    graph = json.loads(json.dumps(load_workflow("").graph))
    graph["3"]["inputs"]["seed"] = ["40", 0]
    graph["40"] = {"class_type": "Random Seed Range", "inputs": {"min": 0, "max": 1000}}
    backend = backend_for(url, workflow=write(tmp_path, graph))
    try:
        assert "seed" not in backend.workflow.roles.targets
        report = await backend.probe()
        assert report.ok and "no seed input found" in "\n".join(report.lines)
        first = await backend.generate(GenerationRequest("same"))
        second = await backend.generate(GenerationRequest("same"))
    finally:
        await backend.api.client.aclose()
    assert len(first) == len(second) == 1


async def test_two_save_nodes_give_the_one_after_the_upscaler(fake, url, tmp_path):
    fake.classes["ImageScaleBy"] = {**fake.classes["VAEDecode"], "input": {"required": {
        "image": ("IMAGE",), "upscale_method": [["lanczos"]], "scale_by": ("FLOAT", {})}}, "output": ["IMAGE"]}
    graph = json.loads(json.dumps(load_workflow("").graph))
    graph["9"]["inputs"]["filename_prefix"] = "base"
    graph["20"] = {"class_type": "ImageScaleBy", "inputs": {"image": ["8", 0], "upscale_method": "lanczos",
                                                           "scale_by": 1.5}}
    graph["21"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "final", "images": ["20", 0]}}
    images = await draw(backend_for(url, workflow=write(tmp_path, graph)), GenerationRequest("a fox", count=1))
    assert len(images) == 1 and images[0].metadata["filename"].startswith("final_")
