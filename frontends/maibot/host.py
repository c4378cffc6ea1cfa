"""MaiBot-side helpers that need no SDK import: the chat port over `ctx.send` and who asked (read from
the recent messages, since a tool call in a group carries no user id)."""

from __future__ import annotations

import time
from typing import Any, Iterable, Mapping, Optional


IMAGE_SEND_TIMEOUT_MS = 60_000  # a large image through the host to the platform adapter
REQUESTER_MAX_AGE = 600.0  # a message older than this is not taken as the trigger of a tool call


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


def requester_from_records(records: Iterable[Mapping[str, Any]], bot_user_id: Optional[str], *,
                           now: Optional[float] = None) -> str:
    """The user id of the newest recent message not sent by the bot; "" when there is none."""
    now = time.time() if now is None else now
    best: tuple[float, str] = (float("-inf"), "")
    for record in records:
        user = ((record.get("message_info") or {}).get("user_info")) or {}
        user_id = str(user.get("user_id") or "")
        if not user_id or (bot_user_id and user_id == str(bot_user_id)):
            continue
        try:
            when = float(record.get("timestamp"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            when = now  # undated: trust the host's newest-last order
        if now - when <= REQUESTER_MAX_AGE and when >= best[0]:
            best = (when, user_id)
    return best[1]
