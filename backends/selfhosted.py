"""Pieces both self-hosted backends (SD WebUI, ComfyUI) share: JSON and base64 decoding off the
event loop, GPU out-of-memory detection, seeds, and bounded best-effort cleanup calls."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import random
import re
from typing import Any, Awaitable, Optional

from ..errors import ConfigurationError, ProtocolError, TransientError
from ..phrases import DEADLINE, OUT_OF_MEMORY

log = logging.getLogger(__name__)

OFF_LOOP_BYTES = 256 * 1024
MAX_SEED = 2**32 - 1
# torch: "CUDA out of memory", torch.cuda.OutOfMemoryError / torch.OutOfMemoryError, ROCm "HIP out of memory",
# Apple "MPS backend out of memory", DirectML "Could not allocate tensor".
_OOM = re.compile(r"out of memory|OutOfMemoryError|Could not allocate tensor|CUBLAS_STATUS_ALLOC_FAILED", re.I)


class OutOfMemoryError(ConfigurationError):
    """The server's GPU ran out of memory for this size; the same request would fail again."""

    default_user_message = OUT_OF_MEMORY


def is_out_of_memory(text: str) -> bool:
    return bool(_OOM.search(text or ""))


def random_seed() -> int:
    return random.randint(0, MAX_SEED)


async def decode_json(raw: bytes, what: str, *, backend: str) -> Any:
    """JSON from a server, parsed in a worker thread when large."""
    try:
        if len(raw) > OFF_LOOP_BYTES:
            return await asyncio.to_thread(json.loads, raw)
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting like [[[[…]]]]
        raise ProtocolError(f"{what}: answer is not JSON ({len(raw)} bytes)", backend=backend) from None


async def decode_base64(text: str, limit: int, what: str, *, backend: str) -> bytes:
    """An image sent as base64 (bare or as a data: URL), refusing anything over `limit` bytes."""
    if not isinstance(text, str):
        raise ProtocolError(f"{what}: image is not a base64 string", backend=backend)
    if text[:5].lower() == "data:":
        text = text.partition(",")[2]
    if len(text) > limit * 4 // 3 + 16:
        raise ProtocolError(f"{what}: image exceeds {limit} bytes", backend=backend)
    try:
        if len(text) > OFF_LOOP_BYTES:
            return await asyncio.to_thread(_b64decode, text)
        return _b64decode(text)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{what}: image is not valid base64", backend=backend) from None


def _b64decode(text: str) -> bytes:
    compact = "".join(text.split())
    return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def best_effort(what: str, call: Awaitable[Any], *, backend: str, timeout: float = 5.0) -> Optional[Any]:
    """Run a cleanup call (interrupt, dequeue) to its end even while the caller is being cancelled,
    for at most `timeout` seconds; failures are logged, never raised."""
    task = asyncio.ensure_future(call)
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout)
    except asyncio.CancelledError:
        # Cancelled again while cleaning up: let the call finish on its own (it is bounded by the
        # client's timeouts) and keep the cancellation going.
        raise
    except Exception as exc:  # noqa: BLE001 - cleanup never fails the job twice
        log.info("%s: %s failed: %s", backend, what, exc)
        return None


async def within_timeout(work: Awaitable[Any], timeout: float, *, backend: str) -> Any:
    """The backend's whole-request `timeout`: past it the job may still be running on the server,
    so its outcome is unknown (a paid backend is not sent it again)."""
    try:
        return await asyncio.wait_for(work, timeout)
    except asyncio.TimeoutError:
        raise TransientError(f"no result within timeout = {timeout:g}s", backend=backend, outcome_unknown=True,
                             user_message=DEADLINE) from None
