"""AstrBot's stored conversation (an OpenAI-style message list as JSON text) → our ChatMessages.

Plain Python, bounded: only the tail of a long history is read, and only text parts are kept."""

from __future__ import annotations

import json
import re
from typing import Any

from ...prompt.types import ChatMessage

MAX_HISTORY_CHARS = 200_000  # a long-lived conversation can hold megabytes; the prompt needs its end
# AstrBot stores its own notes (the date and time) inside user turns; they are not what anyone said.
_REMINDER = re.compile(r"<system_reminder>.*?</system_reminder>", re.S)


def messages_from_history(history: Any, bot_name: str, limit: int) -> list[ChatMessage]:
    """The last `limit` user/assistant text turns, oldest first; [] for anything unreadable."""
    if limit <= 0:
        return []
    if isinstance(history, str):
        if len(history) > MAX_HISTORY_CHARS:
            return []  # cutting JSON text in the middle cannot be parsed; better no context than a wrong one
        try:
            history = json.loads(history) if history.strip() else []
        except (ValueError, RecursionError):
            return []
    if not isinstance(history, list):
        return []
    turns: list[ChatMessage] = []
    for message in history[-4 * limit:]:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        text = _REMINDER.sub("", _text(message.get("content"))).strip()
        if not text:
            continue
        is_bot = message["role"] == "assistant"
        turns.append(ChatMessage(speaker=bot_name if is_bot else "用户", text=text, is_bot=is_bot))
    return turns[-limit:]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content
                       if isinstance(part, dict) and part.get("type") == "text")
    return ""
