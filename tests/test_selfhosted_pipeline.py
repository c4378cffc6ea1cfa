"""The self-hosted backends inside the real pipeline: built from config.toml by the Engine, several
images per request, each fit for chat by the same imaging step (fakes: tests/fake_sd_webui.py,
tests/fake_comfyui.py)."""

from __future__ import annotations

import pytest

from fake_comfyui import FakeComfyUI
from fake_sd_webui import FakeSDWebUI
from loopback_server import serve
from llm2pic.config.load import load_config_data
from llm2pic.imaging.workers import ImageWorkers
from llm2pic.drawing.engine import Engine
from llm2pic.drawing.pipeline import draw
from llm2pic.prompt.types import ImagePrompt


@pytest.mark.parametrize("kind", ["sd_webui", "comfyui"])
async def test_several_images_each_go_through_imaging(kind):
    fake = FakeSDWebUI() if kind == "sd_webui" else FakeComfyUI()
    with serve(fake.app()) as url:
        config = load_config_data({"backends": [{"type": kind, "name": "mine", "base_url": url}],
                                   "output": {"format": "jpeg"}}).config
        engine = Engine(config, environ={})
        try:
            drawn = await draw(ImagePrompt("two foxes", aspect="3:4"), engine, ImageWorkers(1), count=3, deadline=60)
        finally:
            await engine.retire()
    assert drawn.image.backend == "mine"
    prepared = [drawn.prepared, *drawn.more]
    assert len(prepared) == 3 and all(item.mime == "image/jpeg" for item in prepared)
    assert all(item.width < item.height for item in prepared)  # 3:4 portrait kept


async def test_one_image_by_default():
    fake = FakeSDWebUI()
    with serve(fake.app()) as url:
        config = load_config_data({"backends": [{"type": "sd_webui", "base_url": url}]}).config
        engine = Engine(config, environ={})
        try:
            drawn = await draw(ImagePrompt("a fox"), engine, ImageWorkers(1), deadline=60)
        finally:
            await engine.retire()
    assert drawn.more == () and fake.requests[-1][2]["batch_size"] == 1


async def test_an_image_the_imaging_step_refuses_drops_only_that_image():
    """A backend's answer with one corrupt image among several (#10: malformed answers): the good
    images are still sent; only when none can be fit does the job fail, with the imaging error."""
    import io

    from PIL import Image

    from llm2pic.backends.base import Backend, BackendReport, GeneratedImage
    from llm2pic.errors import ProtocolError
    from llm2pic.backends.chain import BackendChain

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "PNG")
    good, corrupt = buffer.getvalue(), b"\x89PNG\r\n\x1a\n" + b"\x00" * 40  # PNG magic, no image

    class Answers(Backend):
        name = "fixed"

        def __init__(self, blobs):
            self.blobs = blobs

        async def generate(self, request, progress=None):
            return [GeneratedImage(blob, "image/png", self.name) for blob in self.blobs]

        async def probe(self):
            return BackendReport(self.name, True, "ok")

    config = load_config_data({"backends": []}).config
    engine = Engine(config, environ={})
    try:
        engine.chain = BackendChain([Answers([corrupt, good, corrupt, good])])
        drawn = await draw(ImagePrompt("a fox"), engine, ImageWorkers(1), count=4, deadline=30)
        assert drawn.prepared.width == 64 and len(drawn.more) == 1
        engine.chain = BackendChain([Answers([corrupt, corrupt])])
        with pytest.raises(ProtocolError):
            await draw(ImagePrompt("a fox"), engine, ImageWorkers(1), count=2, deadline=30)
    finally:
        await engine.retire()
