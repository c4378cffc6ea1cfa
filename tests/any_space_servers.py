"""Starting tests/gradio_apps/any_spaces.py or real_shapes.py (several Space-shaped apps in one process)
per Gradio version."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from gradio_servers import free_port, python_for, stop_process

APP = Path(__file__).parent / "gradio_apps" / "any_spaces.py"
NAMES = ("flux", "interface", "lightning", "chinese", "landscape", "ratio")


class AnySpaces:
    def __init__(self, version: str, app: Path = APP, names: tuple[str, ...] = NAMES) -> None:
        self.version = version
        self.app, self.names = app, names
        self.folder = Path(tempfile.mkdtemp(prefix=f"llm2pic-any-spaces-{version}-"))
        self.log = open(self.folder / "server.log", "ab")
        self.tries = 0
        self._start()

    def _start(self) -> None:
        # A free port may be taken by another process before the app binds it: wait_ready then
        # starts again on fresh ports.
        self.tries += 1
        self.ports = {name: free_port() for name in self.names}
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_SERVER_NAME": "127.0.0.1",
               "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
        # Cached examples are written under the working directory: each version has its own.
        self.process = subprocess.Popen(
            [str(python_for(self.version)), str(self.app), *(f"{name}={port}" for name, port in self.ports.items())],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.folder)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.names)
        while pending and time.monotonic() < deadline:
            if self.process.poll() is not None:
                if self.tries < 3:
                    self._start()
                    pending = set(self.names)
                    continue
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
        stop_process(self.process)
        self.log.close()
        if not os.environ.get("LLM2PIC_KEEP_LAB_LOGS"):
            shutil.rmtree(self.folder, ignore_errors=True)  # cached examples and the log
