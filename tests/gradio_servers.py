"""Starting the lab Gradio app (tests/gradio_apps/lab_app.py) under each major Gradio version.

The virtualenvs come from tests/gradio_envs/build.sh (which .ci/run calls). Servers listen on
127.0.0.1 only and are stopped when the test session ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

VERSIONS = ("3", "4", "5", "6")
APP = Path(__file__).parent / "gradio_apps" / "lab_app.py"
ENVS = Path(os.environ.get("LLM2PIC_GRADIO_ENVS", Path.home() / ".cache" / "llm2pic" / "gradio-envs"))


def python_for(version: str) -> Path:
    python = ENVS / f"gradio-{version}" / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"no Gradio {version} virtualenv at {python}: run tests/gradio_envs/build.sh")
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Ask a test server to exit; kill it if it has not within `grace` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class LabServer:
    def __init__(self, version: str) -> None:
        self.version = version
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_SERVER_NAME": "127.0.0.1",
               "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
        # A fresh file per server: parallel runs (other checkouts, other users) never share one.
        self.log = tempfile.NamedTemporaryFile(prefix=f"llm2pic-lab-gradio-{version}-", suffix=".log", delete=False)
        self.process = subprocess.Popen([str(python_for(version)), str(APP), str(self.port)],
                                        stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Gradio {self.version} lab app exited; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/config", timeout=2, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"Gradio {self.version} lab app did not start within {timeout:g} s; see {self.log.name}")

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()
