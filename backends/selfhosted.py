"""Pieces both self-hosted backends (SD WebUI, ComfyUI) share: JSON and base64 decoding off the
event loop, GPU out-of-memory detection, seeds, and bounded best-effort cleanup calls."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import re
from typing import Any, Awaitable, Optional

from ..errors import ConfigurationError, TransientError
from ..phrases import DEADLINE, OUT_OF_MEMORY

log = logging.getLogger(__name__)

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
