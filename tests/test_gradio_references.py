"""Reference images and several images through the Gradio backend, against the real lab app under
Gradio 3.50, 4.44, 5.x and 6.x on 127.0.0.1: its /edit endpoint takes an input image (uploaded with
/upload on 4.x+, inline on 3.x) and a number of images."""

from __future__ import annotations

import io

import httpx
import pytest
import respx
from PIL import Image

from llm2pic.backends.base import GenerationRequest, ProgressEvent
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.gradio.choose import reference_endpoint
from llm2pic.backends.gradio.discovery import parse_app
from llm2pic.backends.gradio.upload import first_reference_input
from llm2pic.backends.hf_inference import HFInferenceBackend
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig, HFInferenceBackendConfig
from llm2pic.errors import ReferenceUnsupported

pytestmark = pytest.mark.gradio_server


def png(size=(40, 24), color=(0, 0, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def opened(image) -> Image.Image:
    return Image.open(io.BytesIO(image.data)).convert("RGB")


def flux(lab, **overrides) -> GradioBackendConfig:
    """The lab's text-to-image /infer is the chosen endpoint; /edit is found for references."""
    return GradioBackendConfig(**{"name": "lab", "base_url": lab.url, "preset": "flux-schnell", **overrides})


async def chain_run(config, request, events=None, *, before=()):
    async with make_client(config) as client:
        backend = build_backend(config, client, {})
        chain = BackendChain([*before, backend])
        return await chain.generate(request, events.append if events is not None else (lambda event: None)), backend


async def test_a_reference_is_uploaded_into_the_apps_image_endpoint(lab):
    reference = png((40, 24), (0, 0, 255))
    images, backend = await chain_run(flux(lab), GenerationRequest("make it sunny", seed=11,
                                                                   reference_images=(reference,)))
    assert await backend.takes_references()
    endpoint, _inputs, parameter = backend.reference
    assert endpoint.api_name == "/edit" and parameter.kind == "image"
    [image] = images
    picture = opened(image)
    # /edit blends the input picture (kept at its size) with a colour: the reference really arrived.
    assert picture.size == (40, 24)
    assert picture.getpixel((5, 5))[2] >= 120  # half of the blue is still there (strength 0.5)
    assert image.seed == 11


async def test_several_images_with_a_reference_come_from_one_call_with_num_images(lab):
    events: list[ProgressEvent] = []
    images, _ = await chain_run(flux(lab), GenerationRequest("night", seed=3, count=3,
                                                             reference_images=(png(),)), events)
    assert len(images) == 3 and len({image.data for image in images}) == 3
    # The app drew all three at once: the chain never had to ask again.
    assert not [event for event in events if "已画好" in event.message]


async def test_several_images_from_a_one_at_a_time_endpoint_are_asked_again_with_new_seeds(lab):
    events: list[ProgressEvent] = []
    images, _ = await chain_run(flux(lab), GenerationRequest("a fox", seed=500, count=3), events)
    assert [image.seed for image in images] == [500, 501, 502]
    assert len({image.data for image in images}) == 3
    assert [event.message for event in events if "已画好" in event.message] == ["已画好 1/3 张", "已画好 2/3 张"]


async def test_a_backend_without_image_input_is_skipped_with_a_note_and_the_next_takes_the_reference(lab):
    hf_config = HFInferenceBackendConfig(name="hf", token="hf_test0000000000")
    events: list[ProgressEvent] = []
    async with httpx.AsyncClient() as hf_client:
        hf = HFInferenceBackend(hf_config, hf_client, environ={})
        with respx.mock(assert_all_called=False) as router:
            router.route(host="127.0.0.1").pass_through()
            hf_route = router.route(host="router.huggingface.co").respond(200, content=png())
            images, _ = await chain_run(flux(lab), GenerationRequest("sunny", reference_images=(png(),)), events,
                                        before=(hf,))
    assert hf_route.call_count == 0 and opened(images[0]).size == (40, 24)
    assert any(event.backend == "hf" and "不支持参考图" in event.message for event in events)


async def test_doctor_names_where_references_go(lab):
    async with make_client(flux(lab)) as client:
        report = await build_backend(flux(lab), client, {}).probe()
    text = "\n".join(report.lines)
    assert report.ok and "reference images: uploaded into" in text and "endpoint /edit" in text


# --- which input and which endpoint (from a real app's shape) -------------------------------------


def app_with(*dependencies, components) -> object:
    config = {"version": "5.50.0", "api_prefix": "/gradio_api", "protocol": "sse_v3", "mode": "blocks",
              "components": components, "dependencies": list(dependencies)}
    return parse_app(config, {})


def component(id_, type_, label, **props):
    return {"id": id_, "type": type_, "props": {"label": label, **props}}


COMPONENTS = [
    component(1, "textbox", "Prompt"), component(2, "gallery", "Generated Images"),
    component(3, "image", "Mask"), component(4, "image", "Source image"), component(5, "image", "Result"),
    component(6, "slider", "Seed", minimum=0, maximum=100),
]


def test_a_result_gallery_passed_back_in_and_a_mask_are_not_reference_inputs():
    app = app_with(
        {"id": 0, "api_name": "generate", "inputs": [1, 2, 6], "outputs": [2], "targets": [[9, "click"]]},
        {"id": 1, "api_name": "inpaint", "inputs": [1, 3, 4], "outputs": [5], "targets": [[9, "click"]]},
        {"id": 2, "api_name": "img2img", "inputs": [1, 3, 4, 6], "outputs": [5], "targets": [[9, "click"]]},
        components=COMPONENTS)
    generate, inpaint, img2img = app.endpoints
    assert first_reference_input(generate) is None
    assert first_reference_input(img2img).label == "Source image"
    # /inpaint needs a mask: never chosen for a reference; /img2img is.
    assert reference_endpoint(app, generate) is img2img


async def test_an_app_without_an_image_endpoint_does_not_take_references():
    app = app_with({"id": 0, "api_name": "generate", "inputs": [1, 6], "outputs": [5], "targets": [[9, "click"]]},
                   components=COMPONENTS)
    assert reference_endpoint(app, app.endpoints[0]) is None
    config = GradioBackendConfig(name="plain", base_url="http://127.0.0.1:9")
    async with httpx.AsyncClient() as client:
        backend = build_backend(config, client, {})
        backend.app, backend.endpoint, backend.reference = app, app.endpoints[0], None
        assert not await backend.takes_references()
        with pytest.raises(ReferenceUnsupported):
            await BackendChain([backend]).generate(GenerationRequest("x", reference_images=(png(),)))


# --- hostile /upload answers (respx: a real server will not answer these on purpose) -------------

APP5 = app_with({"id": 0, "api_name": "img2img", "inputs": [1, 4], "outputs": [5], "targets": [[9, "click"]]},
                components=COMPONENTS)


@pytest.mark.parametrize("answer,kind", [
    (httpx.Response(413, text="File size exceeds the maximum allowed size"), "protocol"),
    (httpx.Response(200, json={"files": ["/tmp/x.png"]}), "protocol"),
    (httpx.Response(200, json=["/tmp/a.png", "/tmp/b.png"]), "protocol"),  # more paths than files sent
    (httpx.Response(200, text="<html>proxy</html>"), "protocol"),
    (httpx.Response(503), "transient"),
    (httpx.Response(401), "configuration"),
], ids=["413", "not-a-list", "wrong-count", "html", "503", "401"])
async def test_a_refused_or_odd_upload_is_that_backends_failure(answer, kind):
    from llm2pic.backends.gradio.upload import reference_value

    parameter = first_reference_input(APP5.endpoints[0])
    async with httpx.AsyncClient() as client:
        with respx.mock() as router:
            router.post("http://127.0.0.1:9/gradio_api/upload").mock(return_value=answer)
            with pytest.raises(Exception) as caught:
                await reference_value(client, "http://127.0.0.1:9", APP5, {}, parameter, (png(),),
                                      backend="lab", redact=str)
    assert getattr(caught.value, "kind", None) == kind


async def test_the_upload_sends_files_and_the_input_gets_file_data_with_meta():
    from llm2pic.backends.gradio.upload import reference_value

    parameter = first_reference_input(APP5.endpoints[0])
    async with httpx.AsyncClient() as client:
        with respx.mock() as router:
            route = router.post("http://127.0.0.1:9/gradio_api/upload").respond(
                200, json=["/tmp/gradio/ab/reference1.png"])
            value, used = await reference_value(client, "http://127.0.0.1:9", APP5,
                                                {"X-HF-Authorization": "Bearer t"}, parameter, (png(), png()),
                                                backend="lab", redact=str)
    body = route.calls.last.request.content
    assert body.count(b'name="files"') == 1 and b'filename="reference1.png"' in body  # gr.Image takes one
    assert route.calls.last.request.headers["x-hf-authorization"] == "Bearer t"  # the Space's own host only
    assert used == 1 and value["path"] == "/tmp/gradio/ab/reference1.png"
    assert value["meta"] == {"_type": "gradio.FileData"} and value["mime_type"] == "image/png"
