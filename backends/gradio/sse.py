"""A small Server-Sent Events reader for httpx streams (Gradio's /queue/data and /call streams)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, AsyncIterator

import httpx


@dataclass
class SSEEvent:
    event: str  # "message" when the server named none
    data: Any  # parsed JSON, or the raw text when it is not JSON


async def read_events(response: httpx.Response, max_event_bytes: int = 8 * 1024 * 1024) -> AsyncIterator[SSEEvent]:
    """Events until the stream ends. Lines may carry `data:` with or without a space."""
    event_name = ""
    data_lines: list[str] = []
    size = 0
    async for line in response.aiter_lines():
        if not line:
            if data_lines:
                yield SSEEvent(event_name or "message", _parse("\n".join(data_lines)))
            event_name, data_lines, size = "", [], 0
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event_name = value
        elif field == "data":
            size += len(value)
            if size > max_event_bytes:
                raise ValueError(f"server-sent event larger than {max_event_bytes} bytes")
            data_lines.append(value)
    if data_lines:
        yield SSEEvent(event_name or "message", _parse("\n".join(data_lines)))


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
