"""Starting tests/gradio_apps/any_spaces.py (several Space-shaped apps in one process) per Gradio version."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from gradio_servers import free_port, python_for

APP = Path(__file__).parent / "gradio_apps" / "any_spaces.py"
NAMES = ("flux", "interface", "lightning", "chinese", "landscape", "ratio")


class AnySpaces:
    def __init__(self, version: str) -> None:
        self.version = version
        self.ports = {name: free_port() for name in NAMES}
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_SERVER_NAME": "127.0.0.1",
               "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"llm2pic-any-spaces-{version}-{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        self.log = open(folder / "server.log", "wb")
        # Cached examples are written under the working directory: give each version its own.
        self.process = subprocess.Popen(
            [str(python_for(version)), str(APP), *(f"{name}={port}" for name, port in self.ports.items())],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=folder)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(NAMES)
        while pending and time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Gradio {self.version} any-space apps exited; see {self.log.name}")
            for name in sorted(pending):
                try:
                    if httpx.get(f"{self.url(name)}/config", timeout=2, trust_env=False).status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        if pending:
            raise RuntimeError(f"Gradio {self.version} apps {sorted(pending)} did not start; see {self.log.name}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
