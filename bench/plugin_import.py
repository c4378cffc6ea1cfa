"""Benchmark: importing plugin.py the way MaiBot's runner loads it vs `import maibot_sdk` alone.

Run by hand: `.venv/bin/python bench/plugin_import.py [--runs 9]`. Each import runs in a fresh
interpreter (the two sides alternate, so load on the machine hits both alike) and times only the
import itself; the medians and their ratio are printed. Goal: plugin ≤ 2× the SDK's own import
(the plugin's import includes the SDK's, since plugin.py imports it).

Bytecode is compiled first (`compileall`), as pip does for an installed package and as the runner's
first start leaves behind: otherwise our sources would be compiled on every run (this machine sets
PYTHONDONTWRITEBYTECODE) while the SDK's are not. `--sources` measures exactly that case instead.
`--before DIR` loads a second tree (an older commit) as a third side: before/after in one run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SDK = """
import time
started, cpu = time.perf_counter(), time.process_time()
import maibot_sdk
print(time.perf_counter() - started, time.process_time() - cpu)
"""

# What tests/maibot_fake_host.py's load_plugin_module does: plugin.py as a synthetic package.
PLUGIN = """
import importlib.util, sys, time
folder = sys.argv[1]
started, cpu = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("_maibot_plugin_llm2pic_bench", folder + "/plugin.py",
                                              submodule_search_locations=[folder])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
assert module.create_plugin
print(elapsed, cpu)
"""


def once(code: str, folder: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU time of the import (CPU time is the steadier figure on a loaded machine)."""
    output = subprocess.run([sys.executable, "-c", code, str(folder)], check=True, capture_output=True, text=True,
                            cwd="/", timeout=120)
    wall, cpu = output.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def load_average() -> str:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line too")
    parser.add_argument("--before", type=Path, help="another tree of this repository (e.g. `git archive <commit> | "
                        "tar -x -C /tmp/before`), loaded as a third side for a before/after figure in one run")
    parser.add_argument("--sources", action="store_true", help="no bytecode for our files: compile them on every "
                        "run (a first start, or PYTHONDONTWRITEBYTECODE=1 with no __pycache__), the SDK still has its")
    args = parser.parse_args()
    skip = re.compile(r"/(\.venv|tests|bench|\.git)/")
    for folder in (ROOT, args.before) if args.before else (ROOT,):
        if args.sources:
            os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
            for cache in folder.rglob("__pycache__"):
                if not skip.search(str(cache) + "/"):
                    shutil.rmtree(cache)
        else:
            compileall.compile_dir(str(folder), quiet=1, rx=skip)
    once(SDK), once(PLUGIN)  # warm the file cache
    sdk, plugin, before = [], [], []
    for _ in range(args.runs):
        sdk.append(once(SDK))
        plugin.append(once(PLUGIN))
        if args.before:
            before.append(once(PLUGIN, args.before))
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_average()}; "
          f"{args.runs} fresh interpreters per side, medians; our bytecode: {'none' if args.sources else 'compiled'}")
    rows = [("import maibot_sdk", sdk), ("load plugin.py as MaiBot does", plugin)]
    if before:
        rows.append((f"same, {args.before}", before))
    figures = {}
    for label, runs in rows:
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        figures[label] = (wall, cpu)
        sdk_wall, sdk_cpu = figures["import maibot_sdk"]
        goal = "   goal ≤ 2.0×" if label.startswith("load") else ""
        print(f"  {label[:36]:36s} wall {wall * 1000:5.0f} ms {wall / sdk_wall:5.2f}×   "
              f"CPU {cpu * 1000:5.0f} ms {cpu / sdk_cpu:5.2f}×   (× the SDK){goal}")
    if args.json:
        print(json.dumps({"sdk": sdk, "plugin": plugin, "before": before}))


if __name__ == "__main__":
    main()
