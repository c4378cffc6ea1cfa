"""Style presets, aspect words and the drawing history through the real maibot_sdk and the real lab
Gradio app: /pic style|styles|history|again N|prompt, a preset named in the request, its preferred
backend, "横图" giving a landscape picture, and the chat's style surviving a plugin restart."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from maibot_fake_host import FakeHost, host_message, start_plugin
from test_plugin_contract import TOOL_KWARGS, command_kwargs, pattern_of

pytestmark = pytest.mark.gradio_server
STYLES = {"水彩": {"prefix": "watercolor painting, ", "negative_prompt": "photo", "aspect": "3:4",
                   "description": "水彩画", "backend": "lab5"},
          "anime": {"prefix": "anime style, ", "aliases": ["动漫"]}}


def config_for(lab_servers) -> dict:
    return {"backends": [{"type": "gradio", "name": "lab", "base_url": lab_servers["6"].url, "preset": "z-image-turbo"},
                         {"type": "gradio", "name": "lab5", "base_url": lab_servers["5"].url,
                          "preset": "z-image-turbo"}],
            "limits": {"user_cooldown": 0}, "styles": STYLES}


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


async def pic(plugin, text: str) -> None:
    assert await plugin.pic_command(**command_kwargs(text, pattern_of(plugin, "pic"))) == (True, None, True)


async def draw(plugin, host, text: str, count: int) -> None:
    await plugin.draw_command(**command_kwargs(text, pattern_of(plugin, "draw")))
    await host.wait_for("send.image", count)


async def test_chat_style_history_again_and_restart(plugin_module, lab_servers, tmp_path):
    host = FakeHost(recent=[host_message("u1", "画一张猫咪的图片")])
    plugin = await start_plugin(plugin_module, host, config_for(lab_servers), tmp_path)
    try:
        await pic(plugin, "/pic styles")
        assert "- 水彩：水彩画" in host.texts()[-1] and "- anime（也叫 动漫）" in host.texts()[-1]
        await pic(plugin, "/pic style 水彩")
        assert host.texts()[-1].startswith("好的，这里之后画图都用“水彩”画风")
        await draw(plugin, host, "/draw 橘猫", 1)
        first = plugin.board.last_prompt("s1")
        assert first.prompt == "watercolor painting, 橘猫" and first.preset == "水彩" and first.aspect == "3:4"
        assert "photo" in first.negative_prompt
        width, height = size_of(host.images()[0])
        assert height > width  # the preset's 3:4
        assert plugin.board.history.get("s1").backend == "lab5"  # the preset's backend went first

        await draw(plugin, host, "/draw 横图 用动漫风格画一只狗", 2)  # words beat the preset's aspect
        second = plugin.board.last_prompt("s1")
        assert second.prompt.startswith("anime style, ") and second.aspect == "16:9"
        width, height = size_of(host.images()[1])
        assert width > height and plugin.board.history.get("s1").backend == "lab"

        await pic(plugin, "/pic history")
        lines = host.texts()[-1].splitlines()
        assert "anime style, 横图" in lines[1] and "watercolor painting, 橘猫" in lines[2] and "lab5" in lines[2]
        await pic(plugin, "/pic again 2")
        await host.wait_for("send.image", 3)
        again = plugin.board.last_prompt("s1")
        assert again.prompt == first.prompt and host.images()[2] != host.images()[0]  # a new seed
        assert plugin.board.history.get("s1").seed != plugin.board.history.get("s1", 3).seed
        await pic(plugin, "/pic prompt")
        assert host.texts()[-1].startswith("提示词：watercolor painting, 橘猫\n负面提示词：") and "画风 水彩" in host.texts()[-1]
        await pic(plugin, "/pic again 9")
        assert host.texts()[-1].startswith("没有第 9 张")
        assert host.of("llm.generate") == []
    finally:
        await plugin.on_unload()

    restarted = await start_plugin(plugin_module, FakeHost(), config_for(lab_servers), tmp_path)
    try:
        await pic(restarted, "/pic style")
        assert restarted.service.chat_style("s1") == "水彩"
        await pic(restarted, "/pic style off")
        assert restarted.service.chat_style("s1") == ""
    finally:
        await restarted.on_unload()


async def test_the_tool_uses_a_style_the_request_names_and_tells_the_llm(plugin_module, lab_servers, tmp_path):
    host = FakeHost(recent=[host_message("u1", "用水彩风格画一只猫")])
    plugin = await start_plugin(plugin_module, host, config_for(lab_servers), tmp_path)
    try:
        result = await plugin.draw_picture(description="用水彩风格画一只猫，手机壁纸", **TOOL_KWARGS)
        assert result["success"] is True
        await host.wait_for("send.image")
        [llm] = host.of("llm.generate")
        assert "【画风】\"水彩\"" in str(llm.args["prompt"]) and "用户指定 9:16" in str(llm.args["prompt"])
        drawn = plugin.board.last_prompt("s1")
        assert drawn.prompt == "watercolor painting, a fluffy orange cat sitting on a windowsill, soft light"
        assert drawn.aspect == "9:16"  # the words beat the preset's 3:4
        width, height = size_of(base64.b64decode(host.of("send.image")[0].args["image_base64"]))
        assert height > 1.5 * width
    finally:
        await plugin.on_unload()


async def test_a_gradio_app_takes_the_styles_inputs_it_has(lab_servers):
    from llm2pic.backends.base import GenerationRequest
    from llm2pic.backends.registry import build_backend, make_client
    from llm2pic.config.backends import GradioBackendConfig

    config = GradioBackendConfig(name="lab", base_url=lab_servers["6"].url, preset="z-image-turbo")
    async with make_client(config) as client:
        backend = build_backend(config, client, {})

        async def drawn(**inputs) -> bytes:
            [image] = await backend.generate(GenerationRequest("a fox", seed=7, inputs=inputs))
            return image.data

        plain = await drawn()
        assert await drawn(steps=8, unknown_knob=1) == plain  # the app's default steps; the unknown one left out
        assert await drawn(steps=20) != plain  # the lab app's colour depends on the steps it got
