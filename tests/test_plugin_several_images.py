"""Several images and reference images through the real plugin (real maibot_sdk, loaded as the runner
loads it) and the real lab Gradio app: the acknowledgement says how many, the images go out in one
send.hybrid message (or in order), quotas count the images delivered, a chat image reaches an
image-to-image endpoint, and a bad reference ends in one sentence without charging anything."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import zlib
import struct

import pytest
from PIL import Image

from maibot_fake_host import FakeHost, host_message, image_message, start_plugin, without_bytes

pytestmark = pytest.mark.gradio_server
WHO = {"stream_id": "s1", "group_id": "g1", "user_id": "u1", "platform": "qq"}


def config_for(server, *, api_name: str = "", limits=None, generation=None, jobs=None) -> dict:
    backend = {"type": "gradio", "name": "lab", "base_url": server.url, "preset": "z-image-turbo"}
    if api_name:
        backend.update(preset="none", api_name=api_name)
    return {"backends": [backend], "chain": {"max_attempts": 1},
            "limits": {"user_cooldown": 0, **(limits or {})}, "generation": generation or {}, "jobs": jobs or {}}


async def draw(plugin, text: str, message: dict | None = None):
    pattern = r"^\s*/draw(?:\s+(?P<text>[\s\S]*))?$"
    match = re.match(pattern, f"/draw {text}")
    return await plugin.draw_command(text=f"/draw {text}", **WHO, is_local_operator=False,
                                     matched_groups=match.groupdict(), message=message or {}, plugin_config={})


async def settle(plugin, timeout: float = 60.0) -> None:
    async def idle():
        while plugin.board.pending:
            await asyncio.sleep(0.02)
    await asyncio.wait_for(idle(), timeout)


def user_left(plugin) -> int:
    return plugin.limits.usage(plugin._who(WHO)).user_left


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png(color, size=(96, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def pixel_bomb(width: int = 12_000, height: int = 12_000) -> bytes:
    """A valid PNG of 144 M pixels that compresses to a few hundred kB (over the reference pixel cap)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = zlib.compress(b"\x00" * (width // 8 + 1) * height, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


@pytest.fixture
async def make(plugin_module, lab_servers, tmp_path):
    started = []

    async def factory(host=None, **kwargs):
        host = host or FakeHost()
        plugin = await start_plugin(plugin_module, host, config_for(lab_servers["6"], **kwargs), tmp_path)
        started.append(plugin)
        return plugin, host

    yield factory
    for plugin in started:
        await plugin.on_unload()


# ---- several images ----------------------------------------------------------------------------

async def test_draw_n_3_sends_three_different_images_in_one_message_and_charges_three(make):
    plugin, host = await make(limits={"user_daily_quota": 5})
    await draw(plugin, "-n 3 一只橘猫")
    await settle(plugin)
    assert host.texts() == ["在画了，稍等~（画 3 张）"]
    [images] = host.hybrid_images()
    assert len(images) == 3 and len({bytes(decoded(i).tobytes()) for i in images}) == 3  # new seeds
    assert host.of("send.image") == [] and host.of("send.hybrid")[0].args["sync_to_maisaka_history"] is True
    assert user_left(plugin) == 2


async def test_words_ask_for_several_and_the_cap_bounds_them(make):
    plugin, host = await make(generation={"max_images": 2}, jobs={"draw_command_uses_llm": False})
    await draw(plugin, "画五张海边的日落")
    await settle(plugin)
    assert host.texts() == ["在画了，稍等~（画 2 张，一次最多 2 张）"]
    assert [len(images) for images in host.hybrid_images()] == [2]


async def test_one_left_asking_for_three_draws_one_and_says_so(make):
    plugin, host = await make(limits={"user_daily_quota": 1})
    await draw(plugin, "--count 3 一只橘猫")
    await settle(plugin)
    assert host.texts() == ["在画了，稍等~（今天的额度只够画 1 张）"]
    assert len(host.images()) == 1 and host.of("send.hybrid") == []
    assert user_left(plugin) == 0
    await draw(plugin, "-n 2 再来")
    await settle(plugin)
    assert host.texts()[-1] == "今天的画图次数用完了，明天再来吧"


async def test_a_host_without_several_images_per_message_gets_them_in_order(make):
    plugin, host = await make(host=FakeHost(hybrid_ok=None), limits={"user_daily_quota": 5})
    await draw(plugin, "-n3 一只橘猫")
    await settle(plugin)
    assert len(host.of("send.hybrid")) == 1 and len(host.images()) == 3
    assert user_left(plugin) == 2


async def test_only_the_images_delivered_are_charged(make):
    plugin, host = await make(host=FakeHost(hybrid_ok=False, lost_images={2}), limits={"user_daily_quota": 5})
    await draw(plugin, "-n 3 一只橘猫")
    await settle(plugin)
    assert len(host.images()) == 2  # one message refused, then one by one: the second is lost
    assert len(host.texts()) == 1  # the acknowledgement; the images are the job's one closing message
    assert user_left(plugin) == 3


async def test_the_llms_reading_of_several_grows_the_reservation(make):
    host = FakeHost(recent=[host_message("u1", "给我画几张不同的猫")],
                    llm_answer=json.dumps({"prompt": "a cat", "count": 2}))
    plugin, host = await make(host=host, limits={"user_daily_quota": 5})
    result = await plugin.draw_picture(description="几张不同的猫", stream_id="s1", chat_id="s1", group_id="g1",
                                       platform="qq")
    assert result["success"]
    await settle(plugin)
    assert host.texts() == ["在画了，稍等~"]  # one was reserved: the LLM's reading comes later
    assert [len(images) for images in host.hybrid_images()] == [2]
    assert user_left(plugin) == 3


# ---- reference images --------------------------------------------------------------------------

async def test_a_command_with_an_image_draws_from_it(make):
    reference = png((250, 250, 250), (96, 64))
    message = image_message("u1", reference, "/draw 变成水彩")
    plugin, host = await make(host=FakeHost(stored={message["message_id"]: message}), api_name="/edit",
                              jobs={"draw_command_uses_llm": False})
    await draw(plugin, "变成水彩", without_bytes(message))
    await settle(plugin)
    [image] = host.images()
    assert decoded(image).size[0] * 64 == decoded(image).size[1] * 96  # /edit keeps the input's shape
    assert host.of("message.get_by_id")[0].args["include_binary_data"] is True


async def test_a_reply_to_an_image_through_the_tool_draws_from_it(make):
    reference = png((20, 20, 240), (64, 128))
    earlier = image_message("u2", reference, when=1.0)
    trigger = image_message("u1", b"", "把这张图改成赛博朋克风", reply_to=earlier["message_id"])
    host = FakeHost(recent=[without_bytes(earlier), trigger], stored={earlier["message_id"]: earlier},
                    llm_answer='{"prompt": "cyberpunk style, keep the composition"}')
    plugin, host = await make(host=host, api_name="/edit")
    await plugin.draw_picture(description="把这张图改成赛博朋克风", stream_id="s1", chat_id="s1", group_id="g1",
                              platform="qq")
    await settle(plugin)
    [image] = host.images()
    assert decoded(image).size[0] * 2 == decoded(image).size[1]
    prompt_request = next(c for c in host.of("llm.generate"))
    assert "【参考图】用户给了 1 张参考图" in json.dumps(prompt_request.args, ensure_ascii=False)


@pytest.mark.parametrize("payload, sentence", [
    (b"this is not an image at all", "发来的不是能识别的图片"),
    (pixel_bomb(), "参考图太大了"),
])
async def test_a_bad_reference_is_one_sentence_and_charges_nothing(make, payload, sentence):
    message = image_message("u1", payload, "/draw 变成水彩")
    plugin, host = await make(host=FakeHost(stored={message["message_id"]: message}), api_name="/edit",
                              limits={"user_daily_quota": 3})
    await draw(plugin, "变成水彩", without_bytes(message))
    await settle(plugin)
    assert len(host.texts()) == 2 and sentence in host.texts()[1]
    assert host.images() == [] and user_left(plugin) == 3
    assert base64.b64encode(payload).decode()[:32] not in "\n".join(host.texts())


async def test_an_avatar_on_a_private_address_is_never_downloaded(make, lab_servers):
    host = FakeHost(avatar={"status": "available", "url": f"{lab_servers['6'].url}/avatar.png", "expires_at": 0})
    plugin, host = await make(host=host, api_name="/edit", limits={"user_daily_quota": 3})
    await draw(plugin, "用我的头像画一张骑士")
    await settle(plugin)
    assert host.images() == [] and "地址不安全" in host.texts()[-1] and user_left(plugin) == 3
