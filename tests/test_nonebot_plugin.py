"""The NoneBot2 plugin end to end: NoneBot's own dispatch of OneBot v11 events (nonebug), LLM2Pic's
commands, and a real Gradio app (the lab app under Gradio 6) drawing on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from gradio_servers import LabServer
from llm2pic import phrases
from llm2pic.config.model import Config
from nonebot_harness import (BOT_ID, GROUP_ID, SUPERUSER_ID, USER_ID, app, bot_dir, drained, expect_image,  # noqa: F401
                             expect_text, group_message, private_message, receive, running, runtime)

pytestmark = pytest.mark.gradio_server

ACK = phrases.acknowledgement(Config().jobs.ack_message, 0)


@pytest.fixture(scope="module")
def lab():
    server = LabServer("6")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def config_for(lab, endpoint: str = "", components: dict | None = None, **limits) -> dict:
    backend = {"type": "gradio", "name": "lab", "base_url": lab.url, "preset": "z-image-turbo"}
    if endpoint:
        backend.update(preset="none", api_name=endpoint)
    return {"backends": [backend], "chain": {"max_attempts": 1}, "limits": {"user_cooldown": 0, **limits},
            "components": components or {}}


@pytest.fixture
def logs():
    from nonebot import logger

    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    yield lines
    logger.remove(sink)


async def test_group_draw_acknowledges_then_sends_the_image(app, bot_dir, lab):
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, ACK)
        image = expect_image(ctx)
        await receive(bot, group_message("/draw 一只戴帽子的橘猫"))
    assert image.image is not None and image.image.format in {"PNG", "JPEG", "WEBP"}


async def test_private_chat_gets_its_image_in_the_private_chat(app, bot_dir, lab):
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, ACK, group_id=None, user_id=USER_ID)
        image = expect_image(ctx, group_id=None, user_id=USER_ID)
        await receive(bot, private_message("/draw a lighthouse at night"))
    assert image.image is not None


async def test_pic_help(app, bot_dir, lab):
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, phrases.HELP)
        await receive(bot, group_message("/pic help"))


async def test_cooldown_refuses_the_second_draw_but_not_a_superuser(app, bot_dir, lab):
    async with running(app, bot_dir, config_for(lab, user_cooldown=600)) as (ctx, bot):
        expect_text(ctx, ACK)
        expect_image(ctx)
        await receive(bot, group_message("/draw a red fox", message_id=1))
        await drained(ctx)
        expect_text(ctx, "画得太快啦，约 10 分钟后再来～")
        await receive(bot, group_message("/draw a blue fox", message_id=2))

        # NoneBot's SUPERUSERS are admins: no cooldown, twice in a row.
        for message_id in (3, 4):
            expect_text(ctx, ACK)
            expect_image(ctx)
            await receive(bot, group_message("/draw a green fox", user_id=SUPERUSER_ID, message_id=message_id))
            await drained(ctx)


async def test_backend_failure_is_one_honest_sentence(app, bot_dir, lab):
    async with running(app, bot_dir, config_for(lab, "/quota")) as (ctx, bot):
        expect_text(ctx, ACK)
        expect_text(ctx, "免费额度用完了，约 10 分钟后再试。")
        await receive(bot, group_message("/draw a cat"))


async def test_empty_draw_gets_the_usage_and_a_lookalike_command_is_not_ours(app, bot_dir, lab):
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, phrases.EMPTY_DRAW)
        await receive(bot, group_message("/draw"))
        await receive(bot, group_message("/drawing a cat"))  # no call expected: nonebug fails on any


async def test_pic_again_draws_the_last_prompt_again(app, bot_dir, lab):
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, phrases.NOTHING_TO_REPEAT)
        await receive(bot, group_message("/pic again", message_id=1))
        expect_text(ctx, ACK)
        expect_image(ctx)
        await receive(bot, group_message("/draw a paper boat", message_id=2))
        await drained(ctx)
        expect_text(ctx, ACK)
        expect_image(ctx)
        await receive(bot, group_message("/pic again", message_id=3))


async def test_pic_gets_its_argument(app, bot_dir, lab):
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, ACK)
        expect_image(ctx)
        await receive(bot, group_message("/draw a paper boat", message_id=1))
        await drained(ctx)
        expect_text(ctx, phrases.no_such_drawing(2, 1))  # "again 2", not just "again"
        await receive(bot, group_message("/pic again 2", message_id=2))


async def test_missing_config_file_means_the_defaults_and_says_where_to_put_one(app, bot_dir, logs):
    async with running(app, bot_dir, None) as (ctx, bot):
        assert runtime().service.config == Config()
        expect_text(ctx, phrases.HELP)
        await receive(bot, group_message("/pic"))
    assert any("no LLM2Pic config at" in line and str(bot_dir / "llm2pic.toml") in line and "LLM2PIC_CONFIG" in line
               for line in logs), logs


async def test_broken_config_refuses_to_draw_and_the_bot_keeps_running(app, bot_dir, logs):
    async with running(app, bot_dir, raw="[limits]\nuser_cooldown = -5\n") as (ctx, bot):
        assert runtime().service is None
        expect_text(ctx, phrases.CONFIG_BROKEN)
        await receive(bot, group_message("/draw a cat"))
    assert any("not usable" in line and "user_cooldown" in line for line in logs), logs


async def test_text_is_always_plain_text_and_a_gone_bot_is_a_failed_send(app, bot_dir, lab):
    from llm2pic.frontends.nonebot.port import ChatAddress, OneBotChat

    port = OneBotChat()
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        # A CQ code in the text stays text (Message(str) would turn it into an @all).
        expect_text(ctx, "[CQ:at,qq=all] hi")
        assert await port.send_text(ChatAddress("10000", "group", GROUP_ID).chat_id(), "[CQ:at,qq=all] hi")
        assert not await port.send_text(ChatAddress("20000", "group", GROUP_ID).chat_id(), "hi")
        assert not await port.send_text("stream-1234", "hi")


async def test_trigger_phrases_draw_when_the_bot_is_addressed(app, bot_dir, lab):
    triggers = {"trigger_phrases": ["画一张", "来张自拍"]}
    async with running(app, bot_dir, config_for(lab, components=triggers)) as (ctx, bot):
        await receive(bot, group_message("画一张橘猫", message_id=1))  # not addressed: not for the bot
        expect_text(ctx, ACK)
        expect_image(ctx)
        await receive(bot, group_message(f"[CQ:at,qq={BOT_ID}] 帮我画一张橘猫", message_id=2))
        await drained(ctx)
        expect_text(ctx, Config().jobs.selfie_ack_message, group_id=None, user_id=USER_ID)
        expect_image(ctx, group_id=None, user_id=USER_ID)
        await receive(bot, private_message("来张自拍吧"))  # a private chat needs no mention


async def test_trigger_phrases_are_off_by_default(app, bot_dir, lab):
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        await receive(bot, group_message(f"[CQ:at,qq={BOT_ID}] 画一张橘猫"))
        await receive(bot, private_message("来张自拍"))


class FakeChatEndpoint:
    """An OpenAI-compatible /chat/completions on 127.0.0.1 (the answer shape of
    drawing/llm_endpoint.py `_content`): records each request, answers one image prompt."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict, dict]] = []

    async def __call__(self, scope, receive, send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        self.requests.append((headers, json.loads(body)))
        answer = {"choices": [{"message": {"role": "assistant",
                                           "content": '{"prompt": "a girl taking a selfie on a beach at sunset"}'}}]}
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})


async def test_selfie_prompt_comes_from_the_llm_endpoint_with_the_configured_persona(app, bot_dir, lab, logs):
    from loopback_server import serve

    endpoint, key = FakeChatEndpoint(), "sk-nonebot-test-0123456789"
    with serve(endpoint) as url:
        config = config_for(lab)
        config["llm"] = {"base_url": f"{url}/v1", "model": "test-chat", "api_key": key, "persona_nickname": "小画"}
        async with running(app, bot_dir, config) as (ctx, bot):
            expect_text(ctx, Config().jobs.selfie_ack_message)
            image = expect_image(ctx)
            await receive(bot, group_message("/selfie 在海边"))
    assert image.image is not None
    (headers, body), = endpoint.requests
    assert headers["authorization"] == f"Bearer {key}" and body["model"] == "test-chat"
    assert "小画" in json.dumps(body["messages"], ensure_ascii=False)
    assert "在海边" in json.dumps(body["messages"], ensure_ascii=False)
    assert any("a girl taking a selfie on a beach at sunset" in line for line in logs), logs
    assert not any(key in line for line in logs)


def _png(color=(200, 40, 40)) -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _with_image(event, source: str):
    from nonebot.adapters.onebot.v11 import MessageSegment

    segment = MessageSegment("image", {"file": "abc.image", "url": source} if source.startswith("http")
                             else {"file": source})
    event.message.append(segment)
    event.original_message.append(segment)
    return event


async def test_an_attached_image_is_drawn_from_as_a_reference(app, bot_dir, lab):
    # The lab app's /edit is its image-to-image endpoint: the Gradio backend moves there for a reference.
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, ACK)
        image = expect_image(ctx)
        await receive(bot, _with_image(group_message("/draw 变成水彩"), "base64://" + _png()))
    assert image.image is not None


async def test_an_attachment_that_is_not_an_image_gets_one_sentence_and_no_drawing(app, bot_dir, lab):
    import base64

    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, ACK)
        expect_text(ctx, phrases.REFERENCE_NOT_IMAGE)
        await receive(bot, _with_image(group_message("/draw 变成水彩"),
                                       "base64://" + base64.b64encode(b"not a picture at all").decode()))


async def test_a_private_address_in_a_replied_image_is_never_fetched(app, bot_dir, lab):
    from nonebot.adapters.onebot.v11 import Message, MessageSegment
    from nonebot.adapters.onebot.v11.event import Reply, Sender

    event = group_message("/draw 变成水彩")
    event.reply = Reply(time=0, message_type="group", message_id=7, real_id=7,
                        sender=Sender(user_id=USER_ID, nickname="u"),
                        message=Message(MessageSegment("image", {"file": "x.image", "url": lab.url + "/secret.png"})))
    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, ACK)
        expect_text(ctx, phrases.REFERENCE_UNSAFE_ADDRESS)
        await receive(bot, event)


def test_references_come_from_the_request_and_the_replied_message():
    from nonebot.adapters.onebot.v11 import Message, MessageSegment
    from nonebot.adapters.onebot.v11.event import Reply, Sender

    from llm2pic.frontends.nonebot.images import references_of

    event = _with_image(group_message("/draw 变成水彩"), "https://multimedia.example/a.jpg")
    event.message.append(MessageSegment("image", {"file": "only-a-cache-name.image"}))  # nothing to fetch: skipped
    event.reply = Reply(time=0, message_type="group", message_id=7, real_id=7,
                        sender=Sender(user_id=USER_ID, nickname="u"),
                        message=Message([MessageSegment.text("看这个"), MessageSegment("image", {"file": "base64://AAAA"})]))
    assert references_of(event) == ("https://multimedia.example/a.jpg", "base64://AAAA")
    assert references_of(event, limit=1) == ("https://multimedia.example/a.jpg",)


async def test_several_images_go_out_as_one_message(app, bot_dir, lab):
    from nonebot.adapters.onebot.v11 import Message

    class TwoImages:
        def __eq__(self, other: object) -> bool:
            return isinstance(other, Message) and [segment.type for segment in other] == ["image", "image"] \
                and all(str(segment.data.get("file", "")).startswith("base64://") for segment in other)

    async with running(app, bot_dir, config_for(lab)) as (ctx, bot):
        expect_text(ctx, phrases.acknowledgement(Config().jobs.ack_message + phrases.images_note(2, 2, 2, 4), 0))
        ctx.should_call_api("send_group_msg", {"group_id": GROUP_ID, "message": TwoImages()},
                            result={"message_id": 3})
        await receive(bot, group_message("/draw -n 2 一只橘猫"))
