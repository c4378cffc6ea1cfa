"""Imaging benchmark, run by hand: `.venv/bin/python bench/imaging.py`.

1. Max event-loop stall while 20 jobs process 2048² PNGs (crop + fit), with the recommended
   ImageWorkers bound, with the set-up before #10 (BytesIO encoding, min(4, cores) workers) and with
   bare asyncio.to_thread per job, each against a floor: the ticker alone for as long, which shows
   what the machine's load alone does (goal ≤ 20 ms).
2. crop+fit of a 1024² PNG vs a bare Pillow crop+save of the same image, measured in the same run
   (goal ≤ 1.5×).
3. Pass-through cost of a 1 MB image (goal: no decode; microseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from llm2pic.config.output import OutputSection  # noqa: E402
from llm2pic.imaging import encode as encode_module  # noqa: E402
from llm2pic.imaging import prepare as prepare_module  # noqa: E402
from llm2pic.imaging.container import inspect, strip_metadata  # noqa: E402
from llm2pic.imaging.prepare import prepare_for_chat, prepare_sync  # noqa: E402
from llm2pic.imaging.workers import ImageWorkers, default_size, usable_cores  # noqa: E402

TICK = 0.005


def photo(size: tuple[int, int], noise: int, seed: int = 0) -> Image.Image:
    return Image.merge("RGB", (
        Image.linear_gradient("L").resize(size).rotate(seed * 90),
        Image.effect_noise(size, noise).convert("L"),
        Image.radial_gradient("L").resize(size),
    ))


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def best_of(function, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def max_stall(sources: list[bytes], output: OutputSection, workers, jobs: int = 20) -> tuple[float, float, float]:
    """Worst and 99th-percentile event-loop stall, and wall time, while `jobs` images are prepared.
    With no sources, the ticker runs alone for `jobs` ms: the floor this machine's load sets."""
    stop, stalls = asyncio.Event(), []

    async def ticker():
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            stalls.append(time.perf_counter() - started - TICK)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    if sources:
        await asyncio.gather(*(prepare_for_chat(sources[i % len(sources)], output, workers=workers)
                               for i in range(jobs)))
    else:
        await asyncio.sleep(jobs / 1000)
    wall = time.perf_counter() - started
    stop.set()
    await task
    stalls.sort()
    return stalls[-1], stalls[int(len(stalls) * 0.99)], wall


@contextlib.contextmanager
def bytesio_encoding():
    """The encoder writing into a BytesIO, as before #10: Pillow then holds the GIL while encoding."""
    with mock.patch.object(encode_module, "_output_file", lambda fmt: io.BytesIO()):
        yield


async def stall_section(repeats: int) -> None:
    cores = usable_cores()
    print(f"1. event-loop stall, 20 jobs of 2048² PNG (crop 40 px + fit), tick 5 ms; {cores} usable cores, "
          f"load average {' / '.join(f'{v:.1f}' for v in os.getloadavg())}; medians of {repeats} rounds")
    sources = [png(photo((2048, 2048), 25 + seed, seed), compress_level=1) for seed in range(2)]
    output = OutputSection(crop_enabled=True, crop_pixels=40)
    sides = {
        f"ImageWorkers() (size {default_size()})": (ImageWorkers, contextlib.nullcontext),
        f"before #10: BytesIO encode, size {min(4, cores)}": (lambda: ImageWorkers(min(4, cores)), bytesio_encoding),
        "bare asyncio.to_thread per job": (lambda: None, contextlib.nullcontext),
    }
    figures: dict[str, list] = {"floor": [], **{label: [] for label in sides}}
    for _ in range(repeats):
        for label, (workers, encoding) in sides.items():
            with encoding():
                figures[label].append(await max_stall(sources, output, workers()))
            wall_ms = int(figures[label][-1][2] * 1000)
            figures["floor"].append(await max_stall([], output, None, jobs=wall_ms))  # same length, no images
    floor = statistics.median(f[0] for f in figures["floor"])
    for label, rounds in figures.items():
        worst = statistics.median(r[0] for r in rounds)
        p99 = statistics.median(r[1] for r in rounds)
        wall = statistics.median(r[2] for r in rounds)
        name = "floor: the ticker alone, as long" if label == "floor" else label
        goal = "   goal ≤ 20 ms" if label.startswith("ImageWorkers") else ""
        print(f"   {name:40s} max {worst * 1000:6.1f} ms ({worst / floor:4.1f}× floor)  p99 {p99 * 1000:5.1f} ms"
              f"  wall {wall:5.2f} s{goal}")


def ratio_section() -> None:
    print("2. crop+fit of a 1024² PNG vs bare Pillow crop+save (PNG), same image, median of 7")
    data = png(photo((1024, 1024), 30))
    output = OutputSection(crop_enabled=True, crop_pixels=40)
    box = (0, 0, 1024, 984)

    def peer():
        image = Image.open(io.BytesIO(data))
        buffer = io.BytesIO()
        image.crop(box).save(buffer, "PNG")
        return buffer.getvalue()

    ours = prepare_sync(data, output)
    assert ours.mime == "image/png" and (ours.width, ours.height) == (1024, 984)
    peer_time = best_of(peer, 7)
    our_time = best_of(lambda: prepare_sync(data, output), 7)
    print(f"   input {len(data) / 1e6:.2f} MB, output {len(ours.data) / 1e6:.2f} MB {ours.mime}")
    print(f"   bare Pillow crop+save   {peer_time * 1000:7.1f} ms")
    print(f"   llm2pic crop+fit+base64 {our_time * 1000:7.1f} ms   ratio {our_time / peer_time:.2f}x")


def pass_through_section() -> None:
    print("3. pass-through of a 1 MB image (no crop, already fits)")
    data = png(photo((640, 640), 40))
    scale = (1_000_000 / len(data)) ** 0.5
    data = png(photo((int(640 * scale), int(640 * scale)), 40))
    output = OutputSection()

    def verify_and_strip():
        info = inspect(data)
        return strip_metadata(data, info)

    def no_decode(*args, **kwargs):
        raise AssertionError("pass-through decoded the image")

    with mock.patch.object(prepare_module, "decode", no_decode):
        result = prepare_sync(data, output)
    assert result.passed_through and result.data is data
    repeat = 200
    checks = best_of(verify_and_strip, repeat)
    whole = best_of(lambda: prepare_sync(data, output), repeat)
    b64 = best_of(lambda: base64.b64encode(data), repeat)
    decode = best_of(lambda: Image.open(io.BytesIO(data)).load(), 20)
    print(f"   image {len(data) / 1e6:.2f} MB PNG; decoded: never (asserted)")
    print(f"   verify (chunks + CRC) + metadata strip   {checks * 1e6:8.0f} µs")
    print(f"   whole prepare_sync incl. base64           {whole * 1e6:8.0f} µs")
    print(f"     of which plain base64.b64encode         {b64 * 1e6:8.0f} µs")
    print(f"   for scale: a Pillow decode of it          {decode * 1e6:8.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the stall measurement")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, Pillow {Image.__version__}")
    asyncio.run(stall_section(args.repeats))
    ratio_section()
    pass_through_section()


if __name__ == "__main__":
    main()
