"""Never block the bot: 20 images of 2048² processed at once while a ticker measures event-loop lag."""

from __future__ import annotations

import asyncio
import io
import os
import time

from PIL import Image

from llm2pic.config.output import OutputSection
from llm2pic.imaging.prepare import prepare_for_chat
from llm2pic.imaging import encode
from llm2pic.imaging.workers import ImageWorkers, default_size, usable_cores

TICK = 0.005
# Generous so a loaded 2-core machine passes; bench/imaging.py prints the real figure.
MAX_STALL = 0.100


def big_png(seed: int) -> bytes:
    size = (2048, 2048)
    image = Image.merge("RGB", (
        Image.linear_gradient("L").resize(size).rotate(seed * 90),
        Image.effect_noise(size, 25 + seed).convert("L"),
        Image.radial_gradient("L").resize(size),
    ))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


async def ticker(stop: asyncio.Event, stalls: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(TICK)
        stalls.append(time.perf_counter() - started - TICK)


async def test_twenty_big_images_do_not_stall_the_event_loop():
    sources = await asyncio.to_thread(lambda: [big_png(seed) for seed in range(2)])
    output = OutputSection(crop_enabled=True, crop_position="bottom", crop_pixels=40)
    stop, stalls = asyncio.Event(), []
    ticking = asyncio.create_task(ticker(stop, stalls))
    await asyncio.sleep(0.05)
    try:
        workers = ImageWorkers()
        results = await asyncio.gather(*(prepare_for_chat(sources[i % 2], output, workers=workers)
                                         for i in range(20)))
    finally:
        stop.set()
        await ticking
    assert len(results) == 20
    assert all(r.height == 2008 and len(r.data) <= output.max_bytes for r in results)
    assert len(stalls) > 20, "the ticker hardly ran: the loop was blocked"
    assert max(stalls) < MAX_STALL, f"event loop stalled {max(stalls) * 1000:.0f} ms"


async def test_pass_through_of_many_images_keeps_the_loop_responsive():
    source = await asyncio.to_thread(big_png, 3)
    output = OutputSection(max_bytes=50 * 1024 * 1024, format="png", max_edge=2048)
    stop, stalls = asyncio.Event(), []
    ticking = asyncio.create_task(ticker(stop, stalls))
    await asyncio.sleep(0.02)  # the ticker is running before the work starts
    before = len(stalls)
    try:
        workers = ImageWorkers()
        results = await asyncio.gather(*(prepare_for_chat(source, output, workers=workers) for _ in range(20)))
    finally:
        stop.set()
        await ticking
    assert all(r.passed_through and r.data is source for r in results)
    # The ticks from the start of the work on (at least the one it interrupted) measured every stall.
    assert len(stalls) > before, "the ticker never measured the work"
    assert max(stalls[before:]) < MAX_STALL


async def test_workers_bound_how_many_images_are_processed_at_once():
    import threading

    workers, lock, running, peak = ImageWorkers(2), threading.Lock(), [0], [0]

    def job():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return True

    assert all(await asyncio.gather(*(workers.run(job) for _ in range(8))))
    assert peak[0] == 2


def test_the_default_bound_leaves_a_core_to_the_event_loop():
    assert [default_size(cores) for cores in (1, 2, 3, 4, 5, 16)] == [1, 1, 2, 3, 4, 4]
    assert ImageWorkers().size == default_size(usable_cores())


def test_encoding_goes_through_a_descriptor_and_gives_the_same_bytes_as_bytesio():
    """Pillow releases the GIL only when it encodes into a real file descriptor (encode_to_file)."""
    # No effect_noise here: it draws from the C library's rand(), and later tests' images depend on its sequence.
    image = Image.merge("RGB", (Image.linear_gradient("L"), Image.radial_gradient("L"),
                                Image.linear_gradient("L").rotate(90))).resize((300, 200))
    with encode._output_file("JPEG") as output:
        if hasattr(os, "memfd_create"):
            assert output.fileno() >= 0
    for fmt, options in (("JPEG", {"quality": 80}), ("PNG", {}), ("WEBP", {"quality": 70})):
        reference = io.BytesIO()
        image.save(reference, fmt, **options)
        assert encode._save(image, fmt, **options) == reference.getvalue(), fmt
