"""A sample conversation from a text file, for tuning prompts and personas without a chat host:
one message per line, `name: text` (or `name：text`), oldest first; `#` lines are comments."""

from __future__ import annotations

import re

from ...prompt.types import ChatMessage

_LINE = re.compile(r"^\s*([^:：]{1,40}?)\s*[:：]\s*(.*)$")


def parse_chat_text(text: str, bot_nickname: str = "") -> list[ChatMessage]:
    """Lines without a `name:` continue the previous message. Messages have no time (all are recent)."""
    messages: list[ChatMessage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match and match.group(2).strip():
            speaker, body = match.group(1).strip(), match.group(2).strip()
            messages.append(ChatMessage(speaker, body, is_bot=bool(bot_nickname) and speaker == bot_nickname))
        elif messages:
            last = messages[-1]
            messages[-1] = ChatMessage(last.speaker, f"{last.text} {line}", last.time, last.is_bot)
        else:
            messages.append(ChatMessage("?", line))
    return messages
