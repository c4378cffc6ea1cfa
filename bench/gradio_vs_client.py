"""Benchmark: our Gradio backend vs gradio_client against one local Gradio 6 app (≈ zero work).

Run by hand: `.venv/bin/python bench/gradio_vs_client.py` (needs tests/gradio_envs/build.sh and the
test extra, which brings gradio_client). Each side runs in its own child process so its peak RSS is
its own; both talk to the same server in the same run, and the ratios are printed.
Goals: median per-image latency ≤ 0.5×, 50 concurrent jobs ≤ 1× wall and ≤ 0.6× peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SEQUENTIAL = 20
CONCURRENT = 50
ENDPOINT = "/infer"


def worker_ours(url: str) -> dict:
    import asyncio
    from dataclasses import replace

    from llm2pic.backends.base import GenerationRequest
    from llm2pic.backends.registry import build_backend, make_client
    from llm2pic.config.backends import GradioBackendConfig

    async def run() -> dict:
        config = GradioBackendConfig(base_url=url, preset="flux-schnell", timeout=600)
        async with make_client(config) as client:
            backend = build_backend(config, client, {})
            request = GenerationRequest("a red fox", width=256, height=256, seed=1)
            await backend.generate(request)  # discovery, as Client() does for the peer
            latencies = []
            for _ in range(SEQUENTIAL):
                start = time.perf_counter()
                images = await backend.generate(request)
                latencies.append(time.perf_counter() - start)
                assert images[0].data
            start = time.perf_counter()
            # Distinct seeds: identical outputs share one cache file on the server, rewritten under load.
            results = await asyncio.gather(*(backend.generate(replace(request, seed=100 + i))
                                             for i in range(CONCURRENT)))
            wall = time.perf_counter() - start
            assert all(r[0].data for r in results)
        return {"median": statistics.median(latencies), "wall": wall}

    return asyncio.run(run())


def worker_client(url: str) -> dict:
    from gradio_client import Client

    client = Client(url, verbose=False)
    kwargs = dict(prompt="a red fox", seed=1, randomize_seed=False, width=256, height=256,
                  steps=4, api_name=ENDPOINT)
    client.predict(**kwargs)
    latencies = []
    for _ in range(SEQUENTIAL):
        start = time.perf_counter()
        result = client.predict(**kwargs)
        latencies.append(time.perf_counter() - start)
        assert Path(result[0]).read_bytes()
    start = time.perf_counter()
    jobs = [client.submit(**{**kwargs, "seed": 100 + i}) for i in range(CONCURRENT)]
    results = [job.result() for job in jobs]
    wall = time.perf_counter() - start
    assert all(Path(r[0]).exists() for r in results)
    return {"median": statistics.median(latencies), "wall": wall}


def child(side: str, url: str) -> dict:
    result = {"ours": worker_ours, "client": worker_client}[side](url)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=["ours", "client"])
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(child(args.worker, args.url)))
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from gradio_servers import LabServer

    server = LabServer("6")
    try:
        server.wait_ready()
        figures = {}
        for side in ("client", "ours"):
            output = subprocess.run([sys.executable, __file__, "--worker", side, "--url", server.url],
                                    check=False, capture_output=True, text=True)
            if output.returncode:
                raise SystemExit(f"{side} worker failed:\n{output.stderr[-3000:]}")
            output = output.stdout
            figures[side] = json.loads(output.strip().splitlines()[-1])
    finally:
        server.stop()
    ours, peer = figures["ours"], figures["client"]
    print(f"Gradio 6 lab app, {ENDPOINT}; {SEQUENTIAL} sequential calls, then {CONCURRENT} concurrent jobs")
    print(f"{'':28}{'llm2pic':>12}{'gradio_client':>16}{'ratio':>9}{'goal':>8}")
    for label, key, unit, goal in (("median latency per image", "median", "ms", "≤ 0.5"),
                                   (f"{CONCURRENT} concurrent jobs, wall", "wall", "s", "≤ 1.0"),
                                   ("peak RSS", "peak_rss_mb", "MB", "≤ 0.6")):
        scale = 1000 if unit == "ms" else 1
        print(f"{label:28}{ours[key] * scale:>10.1f}{unit:>2}{peer[key] * scale:>14.1f}{unit:>2}"
              f"{ours[key] / peer[key]:>8.2f}×{goal:>8}")


if __name__ == "__main__":
    main()
