"""Running the LLM2Pic Space app (space/app.py) as its own program for the tests.

The diffusers runs use the virtualenvs built by tests/space_env/build.sh (torch CPU, diffusers,
transformers, Gradio 6 or 5), which .ci/run builds; tests that need one skip, naming the command,
only when it is absent. Servers listen on 127.0.0.1 only and are stopped by their fixtures.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Mapping, Optional

import httpx
import pytest

from gradio_servers import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "space" / "app.py"
MAKE_TINY = Path(__file__).parent / "space_apps" / "make_tiny_pipeline.py"
ENVS = Path(os.environ.get("LLM2PIC_SPACE_ENVS", Path.home() / ".cache" / "llm2pic"))
# The app's own settings: never inherited from the machine running the tests.
APP_VARIABLES = ("MODEL_ID", "ENGINE", "DEVICE", "MODEL_FAMILY", "HF_TOKEN", "INFERENCE_API_URL", "QUEUE_MAX_SIZE",
                 "CONCURRENCY_LIMIT", "SYSTEM", "SPACE_ID", "SPACES_ZERO_GPU")


def space_python(version: str) -> Path:
    """The Python of the Space test env for a Gradio major version, or a skip that says how to build it."""
    python = ENVS / f"space-env-{version}" / "bin" / "python"
    if not python.exists():
        pytest.skip(f"no Space test env at {python}: run tests/space_env/build.sh {version} (.ci/run does)")
    return python


def quiet_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in APP_VARIABLES}
    env.update({
        "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        # One torch thread: the machine is shared, and a busy CPU makes torch's thread pool spin.
        "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
    })
    env.update(extra)
    return env


def make_tiny_models(python: Path, out: Path) -> tuple[Path, Path]:
    """Writes the tiny random-weight pipelines (plain, and with an always-flagging safety checker)."""
    result = subprocess.run([str(python), str(MAKE_TINY), str(out)], env=quiet_env({}), capture_output=True,
                            text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"make_tiny_pipeline.py failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return out / "tiny-sd", out / "tiny-sd-nsfw"


class SpaceServer:
    def __init__(self, python: Path, env: Mapping[str, str], label: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.label = label
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"llm2pic-space-{label}.log"
        self._log = open(self.log_path, "wb")
        full_env = quiet_env({"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(self.port), **env})
        self.process = subprocess.Popen([str(python), str(APP)], stdout=self._log, stderr=subprocess.STDOUT,
                                        env=full_env, cwd=str(APP.parent))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 420.0) -> "SpaceServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Space app ({self.label}) exited:\n{self.log()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/config", timeout=3, trust_env=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Space app ({self.label}) did not start within {timeout:g} s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        stop_process(self.process, grace=15)
        self._log.close()


# Gradio's launch() gives up when its own HEAD / to the new server takes over 3 s
# (networking.url_ok), which happens on a loaded 2-core machine; that start is tried again.
_SLOW_SELF_CHECK = "When localhost is not accessible"


def start(python: Path, env: Mapping[str, str], label: str, tries: int = 3) -> SpaceServer:
    for attempt in range(1, tries + 1):
        server = SpaceServer(python, env, label)
        try:
            return server.wait_ready()
        except RuntimeError:
            server.stop()
            if attempt == tries or _SLOW_SELF_CHECK not in server.log():
                raise
        except BaseException:
            server.stop()
            raise
    raise AssertionError("unreachable")


def predict_raw(url: str, data: list, timeout: float = 180.0, path: str = "/run/predict") -> httpx.Response:
    """The seed document's call: POST /run/predict with {"data": [...]} and nothing else."""
    return httpx.post(f"{url}{path}", json={"data": data}, timeout=timeout, trust_env=False,
                      headers={"Content-Type": "application/json"})


def fetch_file(url: str, item: dict, timeout: float = 30.0) -> bytes:
    """The bytes of one gallery item, through the app's own file route."""
    file_data = item.get("image", item)
    response = httpx.get(f"{url}/gradio_api/file={file_data['path']}", timeout=timeout, trust_env=False)
    response.raise_for_status()
    return response.content


def first_error(response: httpx.Response) -> Optional[str]:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None
