"""A bound on how many images are processed at once, owned by whoever owns the job (like its
httpx clients). Decoding, resizing and (see encode._output_file) encoding release the GIL, but the
Python between those steps, cropping and base64 hold it: every extra thread in such a phase can
make the event loop wait another switch interval (5 ms) for the GIL, and on a busy machine for a
CPU as well. Images are CPU-bound, so threads beyond the cores buy nothing; the default leaves one
core to the event loop (one worker on a 2-core machine, at most 4)."""

from __future__ import annotations

import asyncio
import os
from typing import Callable, Optional, TypeVar

T = TypeVar("T")
MAX_DEFAULT_SIZE = 4


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset)."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        try:
            return len(os.sched_getaffinity(0)) or 1
        except OSError:
            pass
    return os.cpu_count() or 1


def default_size(cores: Optional[int] = None) -> int:
    cores = usable_cores() if cores is None else cores
    return max(1, min(MAX_DEFAULT_SIZE, cores - 1))


class ImageWorkers:
    """At most `size` imaging jobs in worker threads at a time; the rest wait without blocking the loop."""

    def __init__(self, size: Optional[int] = None) -> None:
        self.size = size or default_size()
        self._slots = asyncio.Semaphore(self.size)

    async def run(self, function: Callable[..., T], *args, **kwargs) -> T:
        async with self._slots:
            return await asyncio.to_thread(function, *args, **kwargs)
