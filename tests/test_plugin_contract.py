"""plugin.py against the real maibot_sdk: loaded as the runner loads it, driven with the kwargs the
host sends, a real Gradio app drawing; asserts what reached the host (ack, one image, plain base64)."""

from __future__ import annotations

import base64
import sys
import io
import re
from pathlib import Path

import pytest
from PIL import Image

from maibot_fake_host import FakeHost, host_message, start_plugin

pytestmark = pytest.mark.gradio_server
TOOL_KWARGS = {"stream_id": "s1", "chat_id": "s1", "group_id": "g1", "platform": "qq"}


def command_kwargs(text: str, pattern: str, user_id: str = "u1", **extra) -> dict:
    match = re.match(pattern, text)
    assert match, (pattern, text)
    return {"text": text, "stream_id": "s1", "group_id": "g1", "platform": "qq", "user_id": user_id,
            "is_local_operator": False, "matched_groups": match.groupdict(), "message": {},
            "plugin_config": {}, **extra}


def lab_config(server, **sections) -> dict:
    config = {"backends": [{"type": "gradio", "name": "lab", "base_url": server.url, "preset": "z-image-turbo"}],
              "limits": {"user_cooldown": 0}}
    config.update(sections)
    return config


@pytest.fixture
async def running(plugin_module, lab_servers, tmp_path):
    host = FakeHost(recent=[host_message("u1", "画一张猫咪的图片")])
    plugin = await start_plugin(plugin_module, host, lab_config(lab_servers["6"]), tmp_path)
    yield plugin, host
    await plugin.on_unload()


def pattern_of(plugin, name: str) -> str:
    [component] = [c for c in plugin.get_components() if c["name"] == name]
    return component["metadata"]["command_pattern"]


def assert_real_image(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.verify()


async def test_components_are_the_tool_and_three_commands(running):
    plugin, _ = running
    components = {c["name"]: c for c in plugin.get_components()}
    assert set(components) == {"draw_picture", "draw", "selfie", "pic"}
    tool = components["draw_picture"]
    assert tool["type"] == "TOOL"
    metadata = tool["metadata"]
    assert metadata["timeout_ms"] > 60_000 and metadata["visibility"] == "visible"
    first_line = metadata["description"].splitlines()[0]
    assert "画" in first_line and "不要调用" in first_line  # the planner sees only this line
    assert {p["name"] for p in metadata["parameters"]} >= {"description", "selfie_mode", "aspect"}


async def test_tool_acks_at_once_then_sends_one_image_as_plain_base64(running):
    plugin, host = running
    result = await plugin.draw_picture(description="一只猫咪", selfie_mode="false", **TOOL_KWARGS)
    assert result["success"] is True and "不要再调用" in result["content"]
    assert host.texts() == ["在画了，稍等~"]  # sent before the tool returned
    [image] = await host.wait_for("send.image")
    assert image.args["stream_id"] == "s1" and image.args["sync_to_maisaka_history"] is True
    payload = image.args["image_base64"]
    assert not payload.startswith("data:") and re.fullmatch(r"[A-Za-z0-9+/]+=*", payload)
    assert_real_image(base64.b64decode(payload))
    ack = host.of("send.text")[0]
    assert ack.at < image.at
    [llm] = host.of("llm.generate")
    assert "一只猫咪" in str(llm.args["prompt"]) and "画一张猫咪的图片" in str(llm.args["prompt"])
    assert plugin.board.outcomes["succeeded"] == 1


async def test_draw_command_draws_the_text_as_given_without_the_llm(running):
    plugin, host = running
    kwargs = command_kwargs("/draw 橘猫", pattern_of(plugin, "draw"))
    assert await plugin.draw_command(**kwargs) == (True, None, True)
    [image] = await host.wait_for("send.image")
    assert_real_image(base64.b64decode(image.args["image_base64"]))
    assert host.of("llm.generate") == [] and host.texts()[0] == "在画了，稍等~"
    assert plugin.board.last_prompt("s1").prompt == "橘猫"


async def test_draw_command_without_text_explains_usage(running):
    plugin, host = running
    await plugin.draw_command(**command_kwargs("/draw", pattern_of(plugin, "draw")))
    assert host.texts() == ["要画什么呢？用法：/draw 一只戴帽子的橘猫"] and host.of("send.image") == []


async def test_selfie_command_uses_the_persona_and_a_portrait(running):
    plugin, host = running
    await plugin.selfie_command(**command_kwargs("/selfie 在海边", pattern_of(plugin, "selfie")))
    [image] = await host.wait_for("send.image")
    with Image.open(io.BytesIO(base64.b64decode(image.args["image_base64"]))) as picture:
        assert picture.height > picture.width
    assert host.texts()[0] == "好，等我拍一张~"
    assert "selfie photo of 麦麦" in plugin.board.last_prompt("s1").prompt


async def test_pic_help_status_and_again(running):
    plugin, host = running
    pattern = pattern_of(plugin, "pic")
    await plugin.pic_command(**command_kwargs("/pic again", pattern))
    assert host.texts()[-1].startswith("这里还没有画过图")
    await plugin.draw_command(**command_kwargs("/draw 橘猫", pattern_of(plugin, "draw")))
    await host.wait_for("send.image")
    await plugin.pic_command(**command_kwargs("/pic again", pattern))
    await host.wait_for("send.image", 2)
    first, second = host.images()
    assert first != second  # same prompt, new seed
    assert host.of("llm.generate") == []
    await plugin.pic_command(**command_kwargs("/pic status", pattern))
    status = host.texts()[-1]
    assert "lab：正常" in status and "你今天还能画 18 张" in status and "正在画 0 张" in status
    await plugin.pic_command(**command_kwargs("/pic help", pattern))
    assert "/draw" in host.texts()[-1] and "/pic again" in host.texts()[-1]
    await plugin.pic_command(**command_kwargs("/pic", pattern))
    assert host.texts()[-1] == host.texts()[-2]


async def test_tool_finds_the_requester_for_per_user_limits(plugin_module, lab_servers, tmp_path):
    recent = [host_message("u1", "画一张猫咪的图片"), host_message("10000", "好呀", nickname="麦麦")]
    host = FakeHost(recent=recent)
    plugin = await start_plugin(plugin_module, host, lab_config(lab_servers["6"], limits={"user_cooldown": 600}),
                                tmp_path)
    try:
        assert (await plugin.draw_picture(description="猫", **TOOL_KWARGS))["success"]
        await host.wait_for("send.image")
        await plugin.draw_command(**command_kwargs("/draw 狗", pattern_of(plugin, "draw"), user_id="u1"))
        assert host.texts()[-1].startswith("画得太快啦")  # the tool's job put u1 in cooldown
        await plugin.draw_command(**command_kwargs("/draw 狗", pattern_of(plugin, "draw"), user_id="u2"))
        assert host.texts()[-1] == "在画了，稍等~"
    finally:
        await plugin.on_unload()


async def test_disabled_components_do_nothing(plugin_module, lab_servers, tmp_path):
    host = FakeHost()
    config = lab_config(lab_servers["6"], components={"enable_image_generation": False,
                                                      "enable_direct_pic_command": False})
    plugin = await start_plugin(plugin_module, host, config, tmp_path)
    try:
        result = await plugin.draw_picture(description="猫", **TOOL_KWARGS)
        assert result["success"] is False
        assert await plugin.draw_command(**command_kwargs("/draw 猫", pattern_of(plugin, "draw"))) == \
            (False, None, False)  # not intercepted: the message goes on to the bot as usual
        assert host.calls == []
    finally:
        await plugin.on_unload()


async def test_usage_counters_survive_a_restart(plugin_module, lab_servers, tmp_path):
    host = FakeHost()
    config = lab_config(lab_servers["6"], limits={"user_cooldown": 0, "user_daily_quota": 2})
    plugin = await start_plugin(plugin_module, host, config, tmp_path)
    await plugin.draw_command(**command_kwargs("/draw 猫", pattern_of(plugin, "draw")))
    await host.wait_for("send.image")
    await plugin.on_unload()
    assert (tmp_path / "usage.json").exists()
    plugin = await start_plugin(plugin_module, host, config, tmp_path)
    try:
        await plugin.pic_command(**command_kwargs("/pic status", pattern_of(plugin, "pic")))
        assert "你今天还能画 1 张" in host.texts()[-1]
    finally:
        await plugin.on_unload()


def test_the_manifest_declares_every_capability_the_code_calls():
    import json

    root = Path(__file__).resolve().parent.parent
    manifest = json.loads((root / "_manifest.json").read_text(encoding="utf-8"))
    used = set()
    for source in root.rglob("*.py"):  # every module the plugin runs (the front end is in frontends/maibot)
        if {".venv", "tests", "space", "bench"} & set(source.relative_to(root).parts):
            continue
        used |= {f"{a}.{b}" for a, b in re.findall(r"ctx\.(send|message|config|llm|person|chat)\.(\w+)\(",
                                                      source.read_text(encoding="utf-8"))}
    assert used and used <= set(manifest["capabilities"]), used - set(manifest["capabilities"])


MANIFEST_KEYS = {"manifest_version", "id", "version", "name", "description", "author", "license", "urls",
                 "host_application", "sdk", "dependencies", "capabilities", "i18n", "plugin_type", "type",
                 "llm_providers", "display", "changelog"}


def version_tuple(text: str) -> tuple[int, ...]:
    assert re.fullmatch(r"\d+\.\d+\.\d+", text), text
    return tuple(int(part) for part in text.split("."))


def test_the_manifest_is_one_the_host_accepts():
    import json

    import maibot_sdk

    manifest = json.loads((Path(__file__).resolve().parent.parent / "_manifest.json").read_text(encoding="utf-8"))
    assert set(manifest) <= MANIFEST_KEYS  # the host forbids unknown keys
    assert manifest["manifest_version"] == 2
    assert re.fullmatch(r"[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)+", manifest["id"])
    version_tuple(manifest["version"])
    assert all(manifest[key].strip() for key in ("name", "description", "license"))
    assert set(manifest["author"]) == {"name", "url"} and manifest["author"]["url"].startswith("https://")
    assert manifest["urls"]["repository"].startswith("https://")
    for key, running in (("host_application", "1.3.15"), ("sdk", maibot_sdk.__version__ if hasattr(
            maibot_sdk, "__version__") else "2.16.0")):
        bounds = manifest[key]
        assert version_tuple(bounds["min_version"]) <= version_tuple(running) <= version_tuple(bounds["max_version"])
    assert manifest["i18n"]["default_locale"] in manifest["i18n"]["supported_locales"]
    for dependency in manifest["dependencies"]:
        assert dependency["type"] == "python_package" and set(dependency) == {"type", "name", "version_spec"}


def test_requester_is_the_newest_recent_message_not_from_the_bot(plugin_module):
    glue = sys.modules[plugin_module.__name__ + ".frontends.maibot.host"]
    now = 1_000_000.0
    records = [host_message("u1", "画一张猫", when=now - 30), host_message("u2", "我也要", when=now - 10),
               host_message("10000", "好的", when=now - 5)]
    assert glue.requester_from_records(records, "10000", now=now) == "u2"
    assert glue.requester_from_records(records[:1], "10000", now=now + 3600) == ""  # too old to be the trigger
    assert glue.requester_from_records([], "10000", now=now) == ""
    truthy = sys.modules[plugin_module.__name__ + ".prompt.parse"].truthy
    assert [truthy(v) for v in (True, "true", "True", "1", "是", False, "false", "", None, "0")] == \
        [True] * 5 + [False] * 5


async def test_parallel_duplicate_tool_calls_become_one_job(running):
    import asyncio

    plugin, host = running
    first, second = await asyncio.gather(plugin.draw_picture(description="猫", **TOOL_KWARGS),
                                         plugin.draw_picture(description="一只猫", **TOOL_KWARGS))
    assert first["success"] and second["success"]
    await host.wait_for("send.image")
    await asyncio.sleep(0.3)
    assert len(host.of("send.image")) == 1 and host.texts() == ["在画了，稍等~"]
    assert plugin.board.outcomes["merged"] == 1
