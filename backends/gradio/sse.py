"""A small Server-Sent Events reader for httpx streams (Gradio's /queue/data and /call streams).

Memory stays bounded whatever the server sends: lines are split from the raw bytes here (httpx's
`aiter_lines` buffers a line of any length), and a line, comment lines included, or an event
larger than the cap stops the stream while it is being read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, AsyncIterator

import httpx

from ...errors import ProtocolError

MAX_EVENT_BYTES = 8 * 1024 * 1024


@dataclass
class SSEEvent:
    event: str  # "message" when the server named none
    data: Any  # parsed JSON, or the raw text when it is not JSON


async def read_events(response: httpx.Response, max_event_bytes: int = MAX_EVENT_BYTES) -> AsyncIterator[SSEEvent]:
    """Events until the stream ends. Lines may carry `data:` with or without a space.

    Raises ProtocolError (without a backend name; the caller adds it) when a line or an event is
    larger than `max_event_bytes`.
    """
    event_name = ""
    data_lines: list[str] = []
    size = 0
    async for line in _lines(response, max_event_bytes):
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
            event_name = value[:200]
        elif field == "data":
            size += len(value) + 1
            if size > max_event_bytes:
                raise ProtocolError(f"server-sent event larger than {max_event_bytes} bytes")
            data_lines.append(value)
    if data_lines:
        yield SSEEvent(event_name or "message", _parse("\n".join(data_lines)))


async def _lines(response: httpx.Response, max_line_bytes: int) -> AsyncIterator[str]:
    """Lines ended by CRLF, LF or CR (the SSE spec allows all three), each at most `max_line_bytes`."""
    pending = bytearray()
    async for chunk in response.aiter_bytes():
        pending += chunk
        start = 0
        while True:
            cut = _line_end(pending, start)
            if cut is None:
                break
            end, after = cut
            yield pending[start:end].decode("utf-8", "replace")
            start = after
        del pending[:start]
        if len(pending) > max_line_bytes:
            raise ProtocolError(f"server-sent event line longer than {max_line_bytes} bytes")
    if pending:
        yield pending.decode("utf-8", "replace").rstrip("\r")


def _line_end(buffer: bytearray, start: int) -> tuple[int, int] | None:
    """(end of line, start of the next) for the first complete line from `start`, else None.
    A CR at the very end of the buffer waits for the next chunk: it may be half of a CRLF."""
    lf = buffer.find(b"\n", start)
    cr = buffer.find(b"\r", start, lf if lf >= 0 else len(buffer))
    if cr >= 0:
        if cr + 1 == len(buffer):
            return None
        return cr, cr + 2 if buffer[cr + 1] == 0x0A else cr + 1
    if lf >= 0:
        return lf, lf + 1
    return None


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise ProtocolError("server-sent event nested too deeply to read") from None
    except ValueError:
        return text
