"""MaiBot-side helpers that need no SDK import: the chat port over `ctx.send` and who asked (read from
the recent messages, since a tool call in a group carries no user id)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from .chat_images import REQUESTER_MAX_AGE, sender_of, trigger_record

IMAGE_SEND_TIMEOUT_MS = 60_000  # a large image through the host to the platform adapter
__all__ = ["HostChat", "REQUESTER_MAX_AGE", "requester_from_records"]


class HostChat:
    """The JobBoard's ChatPort over MaiBot's send capabilities."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx

    async def send_text(self, chat_id: str, text: str) -> bool:
        return bool(await self._ctx.send.text(text, chat_id))

    async def send_image(self, chat_id: str, image_base64: str) -> bool:
        # Plain base64: the host b64decodes it. Recording it in the history lets the bot talk about it.
        return bool(await self._ctx.send.image(image_base64, chat_id, sync_to_maisaka_history=True,
                                               timeout_ms=IMAGE_SEND_TIMEOUT_MS))

    async def send_images(self, chat_id: str, images_base64: list[str]) -> bool:
        # Several images in ONE message: send.hybrid takes image segments whose `content` is plain
        # base64 (the host's _normalize_plugin_segment moves it to binary_data_base64) and builds one
        # MessageSequence of ImageComponents. A host without it raises; the board then sends one by one.
        segments = [{"type": "image", "content": image} for image in images_base64]
        return bool(await self._ctx.send.hybrid(segments, chat_id, sync_to_maisaka_history=True,
                                                timeout_ms=IMAGE_SEND_TIMEOUT_MS * len(images_base64)))


def requester_from_records(records: Iterable[Mapping[str, Any]], bot_user_id: Optional[str], *,
                           now: Optional[float] = None) -> str:
    """The user id of the newest recent message not sent by the bot; "" when there is none."""
    record = trigger_record(records, bot_user_id, now=now)
    return sender_of(record) if record is not None else ""
