"""Reference images read from MaiBot message records through the real maibot_sdk PluginContext: the
request's own image (read again by id with its bytes, since get_recent and a command's `message`
carry none), the image of the message it replies to, an emoji, the requester's avatar; a host that
cannot answer costs only the reference. Record shapes: host/message_utils.py of MaiBot 1.3.15."""

from __future__ import annotations

import base64
import io
import logging
import sys

from PIL import Image
from maibot_sdk.context import PluginContext, PluginPaths

from maibot_fake_host import FakeHost, host_message, image_message, without_bytes


def png(color=(200, 30, 30), size=(8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def context(host: FakeHost, tmp_path) -> PluginContext:
    return PluginContext("llm2pic.llm2pic", rpc_call=host.rpc_call,
                         paths=PluginPaths(data_dir=tmp_path, runtime_dir=tmp_path))


def reads(plugin_module):
    return sys.modules[plugin_module.__name__ + ".frontends.maibot.chat_images"]


async def test_the_requests_own_image_is_read_with_its_bytes(plugin_module, tmp_path):
    picture = png()
    record = image_message("u1", picture, "把这张图改成赛博朋克风")
    host = FakeHost(stored={record["message_id"]: record})
    sources, notes = await reads(plugin_module).chat_references(context(host, tmp_path), "s1", without_bytes(record),
                                                                text="把这张图改成赛博朋克风")
    assert [base64.b64decode(s) for s in sources] == [picture] and notes == []
    [call] = host.of("message.get_by_id")
    assert call.args["include_binary_data"] is True and call.args["message_id"] == record["message_id"]


async def test_a_reply_to_an_image_draws_from_the_replied_image(plugin_module, tmp_path):
    picture = png((10, 200, 10))
    earlier = image_message("u2", picture)
    reply = image_message("u1", b"", "变成水彩", reply_to=earlier["message_id"])
    host = FakeHost(stored={earlier["message_id"]: earlier})
    sources, _ = await reads(plugin_module).chat_references(context(host, tmp_path), "s1", reply, text="变成水彩")
    assert [base64.b64decode(s) for s in sources] == [picture]
    # the top-level reply_to alone (a platform that sends no reply segment) is enough too
    bare = {**reply, "raw_message": [{"type": "text", "data": "变成水彩"}]}
    sources, _ = await reads(plugin_module).chat_references(context(host, tmp_path), "s1", bare)
    assert [base64.b64decode(s) for s in sources] == [picture]


async def test_own_images_and_the_replied_ones_together_and_emoji_count_as_images(plugin_module, tmp_path):
    mine, theirs = png((1, 2, 3)), png((4, 5, 6))
    earlier = image_message("u2", theirs, kind="emoji")
    record = image_message("u1", mine, "合在一起画", reply_to=earlier["message_id"])
    host = FakeHost(stored={earlier["message_id"]: earlier})
    sources, _ = await reads(plugin_module).chat_references(context(host, tmp_path), "s1", record)
    assert [base64.b64decode(s) for s in sources] == [mine, theirs]  # own bytes present: not read again
    assert [c.args["message_id"] for c in host.of("message.get_by_id")] == [earlier["message_id"]]
    sources, _ = await reads(plugin_module).chat_references(context(host, tmp_path), "s1", record, limit=1)
    assert len(sources) == 1


async def test_a_plain_text_request_has_no_references_and_asks_the_host_nothing(plugin_module, tmp_path):
    host = FakeHost()
    sources, notes = await reads(plugin_module).chat_references(context(host, tmp_path), "s1",
                                                                host_message("u1", "画一只猫"), text="画一只猫")
    assert sources == [] and notes == [] and host.calls == []


async def test_the_avatar_is_asked_only_when_the_text_names_it(plugin_module, tmp_path):
    host = FakeHost(avatar={"status": "available", "url": "https://q.qlogo.example/u1.png?k=secret",
                            "expires_at": 0})
    ctx = context(host, tmp_path)
    sources, _ = await reads(plugin_module).chat_references(ctx, "s1", host_message("u1", "x"),
                                                            text="用我的头像画一张", platform="qq", user_id="u1")
    assert sources == ["https://q.qlogo.example/u1.png?k=secret"]  # downloaded later, under the safe rules
    [call] = host.of("chat.get_avatar")
    assert (call.args["platform"], call.args["target_id"], call.args["target_type"]) == ("qq", "u1", "user")
    host.avatar = {"status": "unsupported", "url": None, "expires_at": None}
    sources, notes = await reads(plugin_module).chat_references(ctx, "s1", None, text="用我的头像画",
                                                                platform="qq", user_id="u1")
    assert sources == [] and "no avatar" in notes[0]
    host.avatar = {"status": "available", "url": "file:///etc/passwd"}
    sources, _ = await reads(plugin_module).chat_references(ctx, "s1", None, text="用我的头像画",
                                                            platform="qq", user_id="u1")
    assert sources == []  # only http(s) URLs are taken from the host


async def test_a_host_that_cannot_answer_costs_only_the_reference(plugin_module, tmp_path):
    record = image_message("u1", png(), "改成油画", reply_to="gone")

    async def refusing(method, plugin_id="", payload=None, **_):
        raise RuntimeError("capability message.get_by_id not granted")

    ctx = PluginContext("llm2pic.llm2pic", rpc_call=refusing, paths=PluginPaths(data_dir=tmp_path, runtime_dir=tmp_path))
    sources, notes = await reads(plugin_module).chat_references(ctx, "s1", without_bytes(record))
    assert sources == [] and notes and all("RuntimeError" in note for note in notes)
    host = FakeHost()  # the replied-to message is not stored: the host answers message None
    sources, notes = await reads(plugin_module).chat_references(context(host, tmp_path), "s1", record)
    assert len(sources) == 1 and notes == ["the host did not return the image message"]


def test_hostile_records_are_read_without_failing(plugin_module):
    module = reads(plugin_module)
    for record in ({}, {"raw_message": "x"}, {"raw_message": [None, 3, {"type": "image"}]},
                   {"raw_message": [{"type": "image", "binary_data_base64": 5}]},
                   {"raw_message": [{"type": "reply", "data": {"target_message_id": {"a": 1}}}]},
                   {"raw_message": [{"type": "reply", "data": "m9"}]}, {"reply_to": ["x"]}):
        assert module.image_payloads(record) == []
        module.reply_target(record)
    assert module.reply_target({"raw_message": [{"type": "reply", "data": "m9"}]}) == "m9"
    flood = {"raw_message": [{"type": "image", "binary_data_base64": "QQ=="}] * 10_000}
    assert len(module.image_payloads(flood)) == module.MAX_SEGMENTS


def test_the_trigger_is_the_newest_message_not_from_the_bot(plugin_module):
    module = reads(plugin_module)
    older, newer = host_message("u1", "a", when=1000.0), host_message("u2", "b", when=1010.0)
    bot = host_message("10000", "在画了", when=1020.0)
    assert module.trigger_record([older, newer, bot], "10000", now=1030.0) is newer
    assert module.trigger_record([older], "10000", now=5000.0) is None


async def test_images_never_reach_the_log(plugin_module, tmp_path, caplog):
    picture = png()
    record = image_message("u1", picture, "改成水彩")
    host = FakeHost(stored={record["message_id"]: record})
    caplog.set_level(logging.DEBUG)
    await reads(plugin_module).chat_references(context(host, tmp_path), "s1", without_bytes(record))
    encoded = base64.b64encode(picture).decode()
    assert encoded[:40] not in caplog.text
