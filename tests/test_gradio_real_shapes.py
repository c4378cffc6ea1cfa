"""The second set of Space shapes (tests/gradio_apps/real_shapes.py) draws from its address alone on
real Gradio 3.50, 4.44, 5.x and 6.x servers, honours 16:9 where the app has a size control, and
doctor explains the choice: State inputs, a gallery with a select event, generators that yield
previews (Gradio 3 answers /run/predict one value at a time), gr.on, tabs with img2img registered
first, a label-less prompt, tuple and word choices, a chatbot, postprocess=False data: URLs, an
unlabelled gr.Interface, a style radio that merely contains "3840 x 2160", and "Custom" sizes."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from PIL import Image

from any_space_servers import AnySpaces
from gradio_servers import VERSIONS
from llm2pic.backends.base import GenerationRequest
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig

pytestmark = pytest.mark.gradio_server

APP = Path(__file__).parent / "gradio_apps" / "real_shapes.py"

# The size each app draws for 16:9 (its images are that size / 16), and whether the job must note
# that the aspect could not be applied.
EXPECTED = {
    # sliders 256..1536 step 64 at 1024² pixels: 1365x768 snaps to 1344x768 (not a quarter-size preview)
    "lora": ((1344, 768), False),
    "models": ((1024, 576), False),  # 768² pixels by default
    "tabs": ((1344, 768), False),  # ("Landscape", "1344x768")
    "chat": ((1216, 704), False),  # "Landscape"
    "sd3x": ((768, 768), True),  # no size control
    "iface": ((1344, 768), False),  # unlabelled sliders, named width and height after the function's arguments
    "midjourney": ((1368, 768), False),  # step 8 from 512
    "custom": ((1280, 720), False),  # "1280×720" from a list that ends with "Custom"
    "mmtext": ((1344, 768), False),
    # 1365x768 grown to the sliders' 1024 minimum (1820x1024), snapped to step 16 from 1024
    "ifacestate": ((1824, 1024), False),
    "slashratio": ((1280, 720), False),  # "16/9"
}


@pytest.fixture(scope="session", params=VERSIONS, ids=[f"gradio{v}" for v in VERSIONS])
def shapes(request):
    server = AnySpaces(request.param, APP, tuple(EXPECTED))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def plain(shapes, app):
    return GradioBackendConfig(type="gradio", name=app, base_url=shapes.url(app))


@pytest.mark.parametrize("app", sorted(EXPECTED))
async def test_each_shape_draws_from_its_address_alone_and_honours_16_9(shapes, app, caplog):
    caplog.set_level(logging.WARNING, logger="llm2pic")
    requests: list[str] = []
    async with make_client(plain(shapes, app)) as client:
        async def record(r):
            requests.append(f"{r.method} {r.url.path}")
        client.event_hooks["request"].append(record)
        backend = build_backend(plain(shapes, app), client, {})
        images = await backend.generate(GenerationRequest("a red fox", aspect="16:9"))
    (width, height), noted = EXPECTED[app]
    assert Image.open(io.BytesIO(images[0].data)).size == (width // 16, height // 16)
    notes = images[0].metadata["notes"]
    if noted:
        assert notes and "16:9 not applied" in notes[0] and "no size input" in notes[0]
    else:
        assert notes == []
    assert sum(1 for r in requests if r.endswith("/config")) == 1
    assert sum(1 for r in requests if r.endswith("/info")) <= 1


@pytest.mark.parametrize("app", sorted(EXPECTED))
async def test_doctor_explains_each_choice_with_a_16_9_payload(shapes, app):
    async with make_client(plain(shapes, app)) as client:
        backend = build_backend(plain(shapes, app), client, {})
        report = await backend.probe()
    assert report.ok, report.summary
    chosen = next(line for line in report.lines if line.startswith("chosen: "))
    assert "takes text" in chosen and ("an image" in chosen or "a gallery" in chosen)
    assert "parameter_" not in chosen  # /info's stand-in label for an unlabelled box is not shown
    payload = next(line for line in report.lines if line.startswith("payload for"))
    data = json.loads(payload[payload.index("{"):])["data"]
    if app == "mmtext" and shapes.version != "3":
        assert data[0] == {"text": "a red fox in the snow", "files": []}  # a MultimodalTextbox's value
    else:
        assert "a red fox in the snow" in data
    if app == "midjourney":
        assert "3840 x 2160" in data and "2560 x 1440" not in data  # a style, left as the app sets it
    if app == "tabs":
        assert backend.choice.endpoint.parameters[0].kind == "textbox"  # txt2img, not the img2img tab
        assert "1344x768" in data


async def test_a_gradio_3_generator_gives_its_last_value_not_its_first_preview(shapes):
    if shapes.version != "3":
        pytest.skip("4.x+ run generators through the queue's SSE stream")
    async with make_client(plain(shapes, "lora")) as client:
        backend = build_backend(plain(shapes, "lora"), client, {})
        images = await backend.generate(GenerationRequest("a red fox", aspect="1:1", seed=3))
    assert Image.open(io.BytesIO(images[0].data)).size == (64, 64)  # previews are 16x16
