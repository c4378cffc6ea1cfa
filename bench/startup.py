"""Benchmark: one whole `python -m llm2pic draw --no-llm` process vs a minimal gradio_client script
vs a bare httpx script, each drawing one image from the same local Gradio 6 lab app.

Run by hand: `.venv/bin/python bench/startup.py [--runs 7]` (needs tests/gradio_envs/build.sh and the
test extra, which brings gradio_client). Every run is a fresh process timed from start to exit; the
three sides alternate, so load on the machine hits them alike; medians and ratios are printed.
Goal (#10): llm2pic ≤ 0.8× gradio_client. The bare httpx script is the floor: the same HTTP calls
with nothing else (no discovery, no checks, no image fitting).

Two endpoints: /generate (Z-Image-Turbo shape, PNG: our image goes out unchanged, the common case)
and /infer (FLUX shape, WebP: we re-encode it to JPEG for the chat, so Pillow is loaded).
Bytecode is compiled first (`compileall`), as pip does on install: this machine sets
PYTHONDONTWRITEBYTECODE, which would otherwise recompile our sources (only) on every run.
Both wall time (what a user waits) and CPU time (user + system: steadier on a loaded machine) are
printed. `--before DIR` runs a second tree (an older commit) as a fourth side: before/after in one run.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

ENDPOINTS = {
    "/generate": {
        "preset": "z-image-turbo",
        "kwargs": 'prompt="a red fox", resolution="1024x1024 ( 1:1 )", seed=1, random_seed=False',
        "data": '["a red fox", "1024x1024 ( 1:1 )", 1, 8, 3.0, False, []]',
        "file": "lambda out: out[0][0]['image']",
        "url": "lambda out: out[0][0]['image']['url']",
    },
    "/infer": {
        "preset": "flux-schnell",
        "kwargs": 'prompt="a red fox", seed=1, randomize_seed=False, width=1024, height=1024',
        "data": '["a red fox", 1, False, 1024, 1024, 4]',
        "file": "lambda out: out[0]",
        "url": "lambda out: out[0]['url']",
    },
}

CLIENT = """
import shutil, sys
from gradio_client import Client
client = Client(sys.argv[1], verbose=False)
result = client.predict({kwargs}, api_name="{api}")
shutil.copyfile(({file})(result), sys.argv[2])
"""

# The Gradio 4+ REST flow (POST /call/<api>, then its event stream), then the file download.
HTTPX = """
import json, sys
import httpx
base, out = sys.argv[1], sys.argv[2]
with httpx.Client(timeout=60) as client:
    event = client.post(base + "/gradio_api/call{api}", json={{"data": {data}}}).json()["event_id"]
    with client.stream("GET", base + "/gradio_api/call{api}/" + event) as stream:
        name = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:") and name == "complete":
                output = json.loads(line[5:])
                break
    open(out, "wb").write(client.get(({url})(output)).content)
"""


def config_for(url: str, preset: str, folder: Path) -> Path:
    path = folder / f"{preset}.toml"
    path.write_text(f'[plugin]\nconfig_version = "1.0.0"\n\n[[backends]]\ntype = "gradio"\nname = "lab"\n'
                    f'base_url = "{url}"\npreset = "{preset}"\n', encoding="utf-8")
    return path


def before_env(env: dict, tree: Path, folder: Path) -> dict:
    """`python -m llm2pic` from another checkout: a folder on PYTHONPATH whose `llm2pic` is that tree
    (PYTHONPATH is searched before the editable install's finder)."""
    tree = tree.resolve()
    compileall.compile_dir(str(tree), quiet=1, rx=re.compile(r"/(\.venv|tests|bench|\.git)/"))
    (folder / "before").mkdir(exist_ok=True)
    link = folder / "before" / "llm2pic"
    if not link.exists():
        link.symlink_to(tree, target_is_directory=True)
    return {**env, "PYTHONPATH": str(folder / "before")}


def timed(command: list[str], env: dict, out: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one process; CPU time is the steadier figure on a
    loaded machine, wall time is what a user waits."""
    out.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode or not out.exists() or not out.stat().st_size:
        raise SystemExit(f"{command[:4]} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--endpoint", choices=list(ENDPOINTS), action="append")
    parser.add_argument("--before", type=Path, help="another tree of this repository (e.g. `git archive <commit> | tar -x -C "
                        "/tmp/before`), run as a fourth side for a before/after figure in one run")
    args = parser.parse_args()
    from gradio_servers import LabServer

    compileall.compile_dir(str(ROOT), quiet=1, rx=re.compile(r"/(\.venv|tests|bench|\.git)/"))
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}
    server = LabServer("6")
    try:
        server.wait_ready()
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            out = folder / "out.img"
            for api in args.endpoint or list(ENDPOINTS):
                spec = ENDPOINTS[api]
                config = config_for(server.url, spec["preset"], folder)
                sides = {
                    "llm2pic": [sys.executable, "-m", "llm2pic", "draw", "a red fox", "--no-llm", "--seed", "1",
                                "--config", str(config), "--out", str(out)],
                    "gradio_client": [sys.executable, "-c", CLIENT.format(api=api, **spec), server.url, str(out)],
                    "bare httpx": [sys.executable, "-c", HTTPX.format(api=api, **spec), server.url, str(out)],
                }
                if args.before:
                    sides["llm2pic before"] = sides["llm2pic"]
                env_for = {"llm2pic before": before_env(env, args.before, folder)} if args.before else {}
                for side, command in sides.items():  # warm the file cache and the app
                    timed(command, env_for.get(side, env), out)
                times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
                for _ in range(args.runs):
                    for side, command in sides.items():
                        times[side].append(timed(command, env_for.get(side, env), out))
                report(api, times)
    finally:
        server.stop()


def report(api: str, times: dict[str, list[tuple[float, float]]]) -> None:
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Gradio 6 lab app {api}: whole process, {len(times['llm2pic'])} runs per side, medians "
          f"({os.cpu_count()} CPUs, load average {load})")
    peer_wall = statistics.median(wall for wall, _ in times["gradio_client"])
    peer_cpu = statistics.median(cpu for _, cpu in times["gradio_client"])
    for side, values in times.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        goal = "   goal ≤ 0.80×" if side == "llm2pic" else ""
        print(f"  {side:14s} wall {wall * 1000:6.0f} ms {wall / peer_wall:5.2f}×   "
              f"CPU {cpu * 1000:6.0f} ms {cpu / peer_cpu:5.2f}×   (× gradio_client){goal}")


if __name__ == "__main__":
    main()
