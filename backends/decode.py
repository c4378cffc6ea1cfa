"""Decoding what a server sent, bounded and kept off the event loop when large: JSON answers and
images sent inline as base64 (bare or as a data: URL)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

from ..errors import ProtocolError

OFF_LOOP_BYTES = 256 * 1024  # larger than this: parsed or decoded in a worker thread


async def decode_json(raw: bytes, what: str, *, backend: str) -> Any:
    """JSON from a server, parsed in a worker thread when large."""
    try:
        if len(raw) > OFF_LOOP_BYTES:
            return await asyncio.to_thread(json.loads, raw)
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting like [[[[…]]]]
        raise ProtocolError(f"{what}: answer is not JSON ({len(raw)} bytes)", backend=backend) from None


async def decode_base64(text: str, limit: int, what: str, *, backend: str, strict: bool = True) -> bytes:
    """An image sent as base64 (bare or as a data: URL), refusing anything over `limit` bytes.
    `strict=False` skips characters outside the alphabet, as some relays need."""
    if not isinstance(text, str):
        raise ProtocolError(f"{what}: image is not a base64 string", backend=backend)
    if text[:5].lower() == "data:":
        text = text.partition(",")[2]
    if len(text) > limit * 4 // 3 + 16:
        raise ProtocolError(f"{what}: image exceeds {limit} bytes", backend=backend)
    try:
        if len(text) > OFF_LOOP_BYTES:
            return await asyncio.to_thread(base64_bytes, text, strict=strict)
        return base64_bytes(text, strict=strict)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{what}: image is not valid base64", backend=backend) from None


def base64_bytes(text: str, *, strict: bool = True) -> bytes:
    """Base64 with whitespace and missing padding tolerated; binascii.Error or ValueError when invalid."""
    compact = "".join(text.split())
    return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=strict)
