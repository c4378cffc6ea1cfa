"""The chat port over OneBot v11 bots: a chat id names the bot account and the group or private chat,
and each send looks the bot up again (a job may end after the bot reconnected, or after it left)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import nonebot
from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment

from ...redaction import redact

log = logging.getLogger(__name__)

_PREFIX = "onebot"


@dataclass(frozen=True)
class ChatAddress:
    bot_id: str
    kind: str  # "group" or "private"
    target: int  # the group id or the user id

    def chat_id(self) -> str:
        return f"{_PREFIX}:{self.bot_id}:{self.kind}:{self.target}"

    @classmethod
    def parse(cls, chat_id: str) -> Optional["ChatAddress"]:
        parts = chat_id.split(":")  # OneBot v11 bot ids are QQ numbers: no ":" in them
        if len(parts) != 4 or parts[0] != _PREFIX or parts[2] not in ("group", "private") or not parts[3].isdigit():
            return None
        return cls(bot_id=parts[1], kind=parts[2], target=int(parts[3]))


class OneBotChat:
    """`send_text` / `send_image` / `send_images` for the drawing core; a failure is logged and answered False."""

    async def send_text(self, chat_id: str, text: str) -> bool:
        # A text segment, never `Message(str)`: that would read CQ codes (an @all, an image) out of
        # text that may echo what a user typed.
        return await self._send(chat_id, Message(MessageSegment.text(text)))

    async def send_image(self, chat_id: str, image_base64: str) -> bool:
        return await self._send(chat_id, Message(MessageSegment.image(f"base64://{image_base64}")))

    async def send_images(self, chat_id: str, images_base64: list[str]) -> bool:
        """Several images as one message (OneBot v11 takes any number of image segments)."""
        return await self._send(chat_id, Message([MessageSegment.image(f"base64://{image}") for image in images_base64]))

    async def _send(self, chat_id: str, message: Message) -> bool:
        address = ChatAddress.parse(chat_id)
        if address is None:
            log.error("not a OneBot chat id: %r", chat_id)
            return False
        try:
            bot = nonebot.get_bot(address.bot_id)
        except (KeyError, ValueError):
            log.warning("bot %s is not connected; a message to %s is dropped", address.bot_id, chat_id)
            return False
        if not isinstance(bot, Bot):
            log.error("bot %s is not a OneBot v11 bot", address.bot_id)
            return False
        try:
            if address.kind == "group":
                await bot.send_group_msg(group_id=address.target, message=message)
            else:
                await bot.send_private_msg(user_id=address.target, message=message)
        except Exception as exc:  # ActionFailed, NetworkError, a timeout: the core says what it can
            log.warning("OneBot refused a message to %s: %s: %s", chat_id, type(exc).__name__, redact(str(exc))[:300])
            return False
        return True
