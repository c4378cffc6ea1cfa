"""NoneBot2 for the NoneBot front end's tests, driven with nonebug (the framework's own test tool).

nonebug's pytest plugin is switched off in pyproject.toml (it would start NoneBot for every test of the
suite, on a session event loop the rest does not use), so this module does what its fixtures do
(nonebug/fixture.py): `nonebot.init(...)`, `matchers.set_provider(NoneBugProvider)`, then the driver's
lifespan. The lifespan runs per test and inside the test's own task (an anyio task group must end in
the task that began it), so every test gets a freshly started LLM2Pic on its own event loop.

Events go through the OneBot v11 `Bot.handle_event` and NoneBot's real dispatch (command parsing, rules,
priorities), inside `app.test_api()`, whose fake OneBot bot checks each API call against what the test
expects, in order.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import pytest
import tomli_w

BOT_ID = "10000"
SUPERUSER_ID = 99
GROUP_ID = 456
USER_ID = 123


@pytest.fixture(scope="session")
def bot_dir(tmp_path_factory) -> Path:
    """NoneBot initialised once per session with LLM2Pic loaded; the bot's config file lives here."""
    import nonebot
    from nonebot.adapters.onebot.v11 import Adapter
    from nonebot.matcher import matchers
    from nonebug.provider import NoneBugProvider

    work = tmp_path_factory.mktemp("nonebot-bot")
    nonebot.init(driver="~none", superusers={str(SUPERUSER_ID)}, command_start={"/"},
                 llm2pic_config=str(work / "llm2pic.toml"))
    matchers.set_provider(NoneBugProvider)
    nonebot.get_driver().register_adapter(Adapter)
    assert nonebot.load_plugin("nonebot_plugin_llm2pic") is not None
    return work


@pytest.fixture
def app(bot_dir):
    from nonebug import App

    return App()


def runtime():
    from nonebot_plugin_llm2pic.matchers import runtime as the_runtime

    return the_runtime


@asynccontextmanager
async def running(app, bot_dir: Path, config: Optional[dict] = None, *, raw: Optional[str] = None
                  ) -> AsyncIterator[tuple[Any, Any]]:
    """(nonebug's API context, the fake OneBot bot) with LLM2Pic started on this config file (a dict
    written as TOML, `raw` text, or no file at all). Every expected call must have happened on exit."""
    import nonebot
    from nonebot.adapters.onebot.v11 import Bot

    path = bot_dir / "llm2pic.toml"
    path.unlink(missing_ok=True)
    if config is not None:
        path.write_text(tomli_w.dumps(config), encoding="utf-8")
    elif raw is not None:
        path.write_text(raw, encoding="utf-8")
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        # What nonebug's lifespan_ctx does for a driver without an ASGI app.
        lifespan = nonebot.get_driver()._lifespan
        await lifespan.startup()
        try:
            yield ctx, bot
            await drained(ctx)
        finally:
            # Not `async with lifespan`: that hands a failing test's exception to the lifespan's task
            # group, which then never resets, and every later test finds it "already started".
            await lifespan.shutdown()


async def drained(ctx, timeout: float = 60.0) -> None:
    """Until every expected API call has been made and no drawing job is left."""
    deadline = time.monotonic() + timeout
    while not ctx.wait_list.empty() or _pending():
        if time.monotonic() > deadline:
            pytest.fail(f"{ctx.wait_list.qsize()} expected OneBot call(s) not made within {timeout:g} s")
        await asyncio.sleep(0.05)


def _pending() -> int:
    service = runtime().service
    return service.board.pending if service is not None else 0


async def receive(bot, event) -> None:
    """As the OneBot v11 adapter hands an event over: its own checks first (an @ of the bot, the bot's
    nickname → `to_me`, removed from the message), then NoneBot's dispatch."""
    await bot.handle_event(event)


# --- OneBot v11 events ---------------------------------------------------------------------------


def group_message(text: str, *, user_id: int = USER_ID, group_id: int = GROUP_ID, message_id: int = 1):
    from nonebot.adapters.onebot.v11 import GroupMessageEvent, Message
    from nonebot.adapters.onebot.v11.event import Sender

    return GroupMessageEvent(
        time=int(time.time()), self_id=int(BOT_ID), post_type="message", sub_type="normal", user_id=user_id,
        message_type="group", message_id=message_id, message=Message(text), original_message=Message(text),
        raw_message=text, font=0, sender=Sender(user_id=user_id, nickname="u", card="", role="member"),
        to_me=False, group_id=group_id)


def private_message(text: str, *, user_id: int = USER_ID, message_id: int = 1):
    from nonebot.adapters.onebot.v11 import Message, PrivateMessageEvent
    from nonebot.adapters.onebot.v11.event import Sender

    return PrivateMessageEvent(
        time=int(time.time()), self_id=int(BOT_ID), post_type="message", sub_type="friend", user_id=user_id,
        message_type="private", message_id=message_id, message=Message(text), original_message=Message(text),
        raw_message=text, font=0, sender=Sender(user_id=user_id, nickname="u"), to_me=True)


# --- what the bot is expected to send ------------------------------------------------------------


def _target(group_id: Optional[int], user_id: Optional[int]) -> tuple[str, dict]:
    if group_id is not None:
        return "send_group_msg", {"group_id": group_id}
    return "send_private_msg", {"user_id": user_id}


def expect_text(ctx, text: str, *, group_id: Optional[int] = GROUP_ID, user_id: Optional[int] = None) -> None:
    from nonebot.adapters.onebot.v11 import Message, MessageSegment

    api, data = _target(group_id, user_id)
    ctx.should_call_api(api, {**data, "message": Message(MessageSegment.text(text))}, result={"message_id": 1})


class ImageMessage:
    """Equal to a OneBot v11 message that is exactly one image segment, `base64://` + a decodable
    picture; keeps what it matched (nonebug compares the expected data with `==`)."""

    def __init__(self) -> None:
        self.image = None

    def __eq__(self, other: object) -> bool:
        from nonebot.adapters.onebot.v11 import Message
        from PIL import Image

        if not isinstance(other, Message) or len(other) != 1 or other[0].type != "image":
            return False
        file = str(other[0].data.get("file", ""))
        if not file.startswith("base64://"):
            return False
        try:
            picture = Image.open(io.BytesIO(base64.b64decode(file[len("base64://"):], validate=True)))
            picture.load()
        except Exception:
            return False
        self.image = picture
        return True

    def __repr__(self) -> str:
        return "<one base64:// image segment>"


def expect_image(ctx, *, group_id: Optional[int] = GROUP_ID, user_id: Optional[int] = None) -> ImageMessage:
    api, data = _target(group_id, user_id)
    message = ImageMessage()
    ctx.should_call_api(api, {**data, "message": message}, result={"message_id": 2})
    return message
