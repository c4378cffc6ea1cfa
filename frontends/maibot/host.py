"""MaiBot-side helpers that need no SDK import: the chat port over `ctx.send`, who asked (read from
the recent messages, since a tool call in a group carries no user id), argument coercion, and
routing this package's log records into the plugin's logger."""

from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping, Optional

from ...redaction import RedactingFilter
from .chat_images import REQUESTER_MAX_AGE, sender_of, trigger_record

IMAGE_SEND_TIMEOUT_MS = 60_000  # a large image through the host to the platform adapter
__all__ = ["HostChat", "REQUESTER_MAX_AGE", "requester_from_records", "forward_logs"]
_PACKAGE_ROOT = __name__.rsplit(".", 3)[0]  # "llm2pic", or the host's synthetic package name (this is <root>.frontends.maibot.host)


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


class _Forward(logging.Handler):
    def __init__(self, target: logging.Logger, secrets: Optional[list[str]] = None) -> None:
        super().__init__()
        self.target = target
        # Log text may carry what a server sent: redacted (traceback included) before it leaves.
        self.addFilter(RedactingFilter(secrets if secrets is not None else []))

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_text:  # set, redacted, by the filter
            text += "\n" + record.exc_text
        self.target.log(record.levelno, "%s", text)


def forward_logs(target: logging.Logger, secrets: Optional[list[str]] = None) -> None:
    """Send this package's log records (pipeline, backends, …) to the plugin's logger, which the
    host shows as `[plugin.<id>]`, redacted with `secrets` (a list the caller keeps current).
    Safe to call again after a reload."""
    source = logging.getLogger(_PACKAGE_ROOT)
    source.handlers = [h for h in source.handlers if not isinstance(h, _Forward)] + [_Forward(target, secrets)]
    source.setLevel(logging.INFO)
    source.propagate = False
