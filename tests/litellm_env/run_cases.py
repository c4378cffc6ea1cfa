"""The relay cases against a real LiteLLM proxy: starts the loopback image API (image_api.py) and
LiteLLM in front of it, drives LLM2Pic's OpenAI backend, chain and CLI through the proxy, and prints
one JSON object with what LiteLLM answered and what LLM2Pic made of it (the test asserts on it).

Runs under the project's interpreter, usually inside `unshare --net --pid` (then only loopback
exists; --netns brings lo up first). Without a namespace the proxy still runs with every proxy
variable removed and every "fetch the latest list" switch pointed at LiteLLM's bundled copies, and
its sockets are checked after every case. Usage: run_cases.py --litellm PYTHON [--netns]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import image_api  # noqa: E402

from llm2pic.backends.base import GenerationRequest  # noqa: E402
from llm2pic.errors import BackendError
from llm2pic.backends.chain import BackendChain  # noqa: E402
from llm2pic.backends.openai import OpenAIBackend  # noqa: E402
from llm2pic.config.backends import OpenAIBackendConfig  # noqa: E402
from llm2pic.config.chain import ChainSection  # noqa: E402

MASTER_KEY = "sk-llm2pic-relay-master"  # LLM2Pic's own key for the relay
SHAPED_UPSTREAM_KEY = "sk-upstreamSECRETshaped0123456789"
PLAIN_UPSTREAM_KEY = "PlainUpstreamKey4242"
SECRETS = (MASTER_KEY, SHAPED_UPSTREAM_KEY, PLAIN_UPSTREAM_KEY)
# Everything LiteLLM would otherwise fetch from the internet at start or on first use.
LITELLM_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
               "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True", "LITELLM_LOCAL_BLOG_POSTS": "True",
               "LITELLM_LOCAL_POLICY_TEMPLATES": "True", "LITELLM_DONT_SHOW_FEEDBACK_BOX": "true",
               "LITELLM_LOG": "ERROR", "NO_PROXY": "*", "no_proxy": "*"}
_DROPPED_ENV = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                "DATABASE_URL", "DIRECT_URL", "REDIS_HOST", "REDIS_URL", "OPENAI_API_KEY", "LITELLM_MASTER_KEY")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def litellm_config(upstream: str) -> str:
    def model(name: str, upstream_model: str, key: str, extra: str = "") -> str:
        return (f"  - model_name: {name}\n    litellm_params: {{model: openai/{upstream_model}, "
                f"api_base: \"{upstream}/v1\", api_key: \"{key}\"{extra}}}\n")

    good = image_api.GOOD_KEY
    return ("model_list:\n" + model("img", "house-image", good) + model("img-chat", "house-chat", good)
            + model("img-badkey-shaped", "house-image", SHAPED_UPSTREAM_KEY)
            + model("img-badkey-plain", "house-image", PLAIN_UPSTREAM_KEY)
            + model("img-badkey-cooldown", "house-image", PLAIN_UPSTREAM_KEY)
            + model("img-badkey-cli", "house-image", PLAIN_UPSTREAM_KEY)
            + model("img-rpm", "house-image", good, ", rpm: 1")
            + "litellm_settings:\n  telemetry: false\n  num_retries: 0\n"
            + "router_settings:\n  routing_strategy: usage-based-routing-v2\n"
            + f"general_settings:\n  master_key: {MASTER_KEY}\n")


def start_litellm(python: str, workdir: Path, upstream: str, port: int) -> subprocess.Popen:
    (workdir / "config.yaml").write_text(litellm_config(upstream), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED_ENV}
    env.update(LITELLM_ENV)
    litellm = str(Path(python).parent / "litellm")
    log = open(workdir / "proxy.log", "wb")
    return subprocess.Popen([litellm, "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port),
                             "--telemetry", "False"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def wait_ready(url: str, proxy: subprocess.Popen, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if proxy.poll() is not None:
            raise RuntimeError(f"litellm exited with {proxy.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health/liveliness", timeout=2) as answer:
                if answer.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"litellm not ready after {seconds:.0f}s")


# 127.0.0.1, ::1 and ::ffff:127.0.0.1 as /proc/net/* writes them; 127.0.0.53 (a local DNS stub that
# forwards outward) and every other address count as leaving.
_LOOPBACK = ("0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F")


def foreign_connections(pid: int) -> list[str]:
    """Remote addresses of the TCP/UDP sockets of `pid` and its children that are not loopback."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    inodes = set()
    for each in pids:
        try:
            for fd in Path(f"/proc/{each}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    foreign = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            remote = fields[2].split(":")[0]
            if remote.strip("0") and remote not in _LOOPBACK:
                foreign.append(f"{table} {fields[2]}")
    return foreign


class Recorder(httpx.AsyncBaseTransport):
    """Keeps each answer LiteLLM gave (status, relevant headers, error text) for the case table."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.answers: list[dict] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        text = ""
        if response.status_code >= 300:
            text = body[:600].decode("utf-8", "replace")
        headers = {name: value for name, value in response.headers.items()
                   if name.startswith(("retry-after", "x-ratelimit"))}
        sent = json.loads(request.content) if request.headers.get("content-type") == "application/json" else {}
        self.answers.append({"path": request.url.path, "fields": sorted(sent), "status": response.status_code,
                             "headers": headers, "text": text})
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def chain_case(relay: str, direct: str, backends: list[dict], draws: int = 1) -> dict:
    """Draws `draws` times through a chain of OpenAI backends; what each draw gave, what LiteLLM
    answered, the log lines and the chain status lines."""
    recorder = Recorder()
    lines = Lines()
    logger = logging.getLogger("llm2pic")
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    results = []
    async with httpx.AsyncClient(transport=recorder, timeout=60) as client:
        built = []
        for fields in backends:
            base = direct if fields.pop("direct", False) else relay
            config = OpenAIBackendConfig(**{"base_url": f"{base}/v1", "api_key": MASTER_KEY, **fields})
            built.append(OpenAIBackend(config, client, environ={}))
        chain = BackendChain(built, ChainSection(max_attempts=3, backoff_initial=1.0))
        for _ in range(draws):
            started = time.monotonic()
            try:
                images = await chain.generate(GenerationRequest("a red fox in the snow"), deadline=60)
                results.append({"ok": True, "backend": images[0].backend, "mime": images[0].mime,
                                "seconds": round(time.monotonic() - started, 2)})
            except BackendError as exc:
                results.append({"ok": False, "kind": exc.kind, "reason": str(exc),
                                "seconds": round(time.monotonic() - started, 2)})
        status = [status.describe() for status in chain.status()] + [status.user_line() for status in chain.status()]
    logger.removeHandler(lines)
    return {"draws": results, "answers": recorder.answers, "log": lines.lines, "status": status}


def cli_case(relay: str, model: str, workdir: Path) -> dict:
    """`python -m llm2pic draw --no-llm` against the relay; stderr and the exit code."""
    config = workdir / f"cli-{model}.toml"
    config.write_text(f"""\
[[backends]]
type = "openai"
name = "relay"
enabled = true
base_url = "{relay}/v1"
api_key = "{MASTER_KEY}"
model = "{model}"

[chain]
max_attempts = 2
deadline = 60
""", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "llm2pic", "-v", "draw", "--no-llm", "--config", str(config),
                           "--out", str(workdir / f"{model}.png"), "a red fox"], capture_output=True, text=True,
                          timeout=120, cwd=workdir, stdin=subprocess.DEVNULL)
    return {"rc": done.returncode, "stderr": done.stderr, "stdout": done.stdout}


async def run(relay: str, direct: str, workdir: Path, proxy_pid: int) -> dict:
    cases: dict[str, dict] = {}
    foreign: list[str] = []

    async def case(name: str, backends: list[dict], draws: int = 1) -> None:
        cases[name] = await chain_case(relay, direct, backends, draws)
        foreign.extend(foreign_connections(proxy_pid))

    await case("images route", [{"name": "relay", "model": "img", "response_format": "none"}])
    await case("chat route", [{"name": "relay", "model": "img-chat", "mode": "chat"}])
    await case("unsupported parameter", [{"name": "relay", "model": "img"}], draws=2)
    await case("upstream 401, key-shaped key", [{"name": "relay", "model": "img-badkey-shaped"}])
    await case("upstream 401, plain key", [{"name": "relay", "model": "img-badkey-plain"}])
    await case("unknown model", [{"name": "relay", "model": "no-such-model"}])
    await case("rpm limit, no second backend", [{"name": "relay", "model": "img-rpm", "response_format": "none"}],
               draws=2)
    # LiteLLM's rpm window is a minute; the second backend goes straight to the image API.
    await case("rpm limit, second backend", [{"name": "relay", "model": "img-rpm", "response_format": "none"},
                                             {"name": "direct", "model": "house-image", "direct": True,
                                              "api_key": image_api.GOOD_KEY}], draws=1)
    # LiteLLM cools a deployment down for 5 s after its upstream's 401 and answers 429 "Try again in 5
    # seconds" meanwhile: the second draw must wait that long and end in the real 401.
    await case("relay cooldown after an upstream 401",
               [{"name": "relay", "model": "img-badkey-cooldown", "response_format": "none"}], draws=2)
    cli = {"upstream 401, plain key": cli_case(relay, "img-badkey-cli", workdir),
           "unsupported parameter": cli_case(relay, "img", workdir)}
    foreign.extend(foreign_connections(proxy_pid))
    return {"cases": cases, "cli": cli, "foreign_connections": foreign}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--litellm", required=True, help="the python of the LiteLLM venv")
    parser.add_argument("--netns", action="store_true", help="bring up lo first (inside a fresh network namespace)")
    parser.add_argument("--ready-timeout", type=float, default=240)
    args = parser.parse_args()
    if args.netns:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for name in _DROPPED_ENV:
        os.environ.pop(name, None)
    upstream_server = image_api.serve()
    direct = f"http://127.0.0.1:{upstream_server.server_address[1]}"
    port = free_port()
    relay = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="llm2pic-litellm-") as folder:
        workdir = Path(folder)
        proxy = start_litellm(args.litellm, workdir, direct, port)
        try:
            ready = wait_ready(relay, proxy, args.ready_timeout)
            result = asyncio.run(run(relay, direct, workdir, proxy.pid))
            result["ready_seconds"] = round(ready, 1)
        except Exception as exc:  # noqa: BLE001 - reported to the test with the proxy's log
            result = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            os.killpg(proxy.pid, 15)
            try:
                proxy.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proxy.pid, 9)
        result["proxy_log_tail"] = (workdir / "proxy.log").read_text("utf-8", "replace")[-3000:]
    result["upstream_requests"] = image_api.recorded()
    result["netns"] = args.netns
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
