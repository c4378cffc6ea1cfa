"""A bound on how many images are processed at once, owned by whoever owns the job (like its
httpx clients). Pillow releases the GIL while decoding and encoding, but cropping, copying and
base64 hold it; with many worker threads in those phases at once, the event loop queues behind
all of them for the GIL. Images are CPU-bound, so more threads than cores buys nothing anyway."""

from __future__ import annotations

import asyncio
import os
from typing import Callable, Optional, TypeVar

T = TypeVar("T")


def default_size() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class ImageWorkers:
    """At most `size` imaging jobs in worker threads at a time; the rest wait without blocking the loop."""

    def __init__(self, size: Optional[int] = None) -> None:
        self.size = size or default_size()
        self._slots = asyncio.Semaphore(self.size)

    async def run(self, function: Callable[..., T], *args, **kwargs) -> T:
        async with self._slots:
            return await asyncio.to_thread(function, *args, **kwargs)
