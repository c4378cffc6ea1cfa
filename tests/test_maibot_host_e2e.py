"""End to end in the real MaiBot host: a group message comes back out of the chat as an image.

The unmodified MaiBot 1.3.15 host from PyPI (a Python 3.12 virtualenv built by
tests/maibot_host/build.sh) runs with our plugin installed, a test gateway plugin playing the chat
platform, a scripted LLM and the lab Gradio app as the image backend, all on 127.0.0.1 (inside
`unshare --net --pid` when that works: only loopback exists and nothing outlives the run).
One host start serves both cases; tests/maibot_host/run_e2e.py drives it, this file judges it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from gradio_servers import free_port, python_for

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "tests" / "maibot_host"
HOST_ENV = Path(os.environ.get("LLM2PIC_MAIBOT_HOST_ENV")
                or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llm2pic" / "maibot-host")
PLANNER_MESSAGE = "画一张猫咪的图片"
COMMAND_MESSAGE = "/draw 橘猫"
SEVERAL_MESSAGE = "/draw -n 2 橘猫"
ACK_TEXT = "在画了，稍等~"  # the plugin's default acknowledgement
HOST_STOPPING = "收到中断信号"  # the host's "signal received, shutting down" log line
DEADLINE = 240  # the driver's own hard limit; this process waits a little longer, then kills it
NOT_PLUGIN = ("tests/", "bench/", "docs/", ".ci/")
# Sizes the lab app's Z-Image-shaped /generate returns: each dropdown resolution divided by 16.
LAB_SIZES = {(w // 16, h // 16) for w, h in [(1024, 1024), (1152, 896), (896, 1152), (1152, 864), (864, 1152),
                                               (1248, 832), (832, 1248), (1280, 720), (720, 1280), (1344, 576),
                                               (576, 1344)]}


def host_python() -> Path:
    """The host env's python, or a skip (locally) / failure (CI) that says how to build it."""
    python = HOST_ENV / "bin" / "python"
    wanted = hashlib.sha256((HARNESS / "requirements.txt").read_bytes()).hexdigest()
    stamp = HOST_ENV / ".requirements-sha256"
    problem = ""
    if not python.exists():
        problem = f"no MaiBot host env at {HOST_ENV}"
    elif not stamp.exists() or stamp.read_text().strip() != wanted:
        problem = f"the MaiBot host env at {HOST_ENV} was built from another tests/maibot_host/requirements.txt"
    if problem:
        message = f"{problem}: run tests/maibot_host/build.sh"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return python


def netns_prefix() -> list[str]:
    """`unshare` arguments for a private network and pid namespace, or [] where that is not allowed."""
    command = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--"]
    if not shutil.which("unshare") or not shutil.which("ip"):
        return []
    try:
        probe = subprocess.run([*command, "ip", "link", "set", "lo", "up"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return command if probe.returncode == 0 else []


def install_plugin(destination: Path, gradio_port: int) -> None:
    """Our plugin as a user installs it: the repository's files minus tests, benchmarks and docs,
    plus a config.toml whose only backend is the lab Gradio app.

    Untracked files that git does not ignore are included, so a local run tests the work tree as it
    is (a new module not yet added still counts); a fresh CI clone has none.
    """
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=REPO, capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if name.startswith(NOT_PLUGIN) or not source.is_file():
            continue
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination / name)
    example = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    (destination / "config.toml").write_text(f"""\
[plugin]
enabled = true
config_version = "{example["plugin"]["config_version"]}"

[[backends]]
type = "gradio"
name = "lab"
base_url = "http://127.0.0.1:{gradio_port}"
preset = "z-image-turbo"
timeout = 60

[chain]
max_attempts = 1
deadline = 90
""", encoding="utf-8")


@dataclass
class Run:
    work: Path
    returncode: int
    stderr: str
    cases: list[dict] = field(default_factory=list)

    def host_log_tail(self, lines: int = 60) -> str:
        """The host log's last lines before its shutdown began (the shutdown steps say nothing useful)."""
        path = self.work / "host.log"
        if not path.exists():
            return "(no host.log)"
        text = re.sub(r"\x1b\[[0-9;]*m", "", path.read_text(encoding="utf-8", errors="replace")).splitlines()
        stop = next((i for i, line in enumerate(text) if HOST_STOPPING in line), len(text))
        return "\n".join(text[max(0, stop - lines):stop])

    def evidence(self) -> str:
        return (f"driver exit code {self.returncode}; stderr:\n{self.stderr.strip()[-3000:]}\n"
                f"--- host log before shutdown (all of it: {self.work / 'host.log'}):\n{self.host_log_tail()}")

    def outbox(self) -> list[dict]:
        path = self.work / "instance" / "e2e" / "outbox.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def llm_requests(self) -> list[dict]:
        path = self.work / "llm_requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def case(self, text: str) -> dict:
        for case in self.cases:
            if case["text"] == text:
                return case
        pytest.fail(f"the run never sent {text!r}\n{self.evidence()}", pytrace=False)

    def sent_during(self, case: dict) -> list[list[dict]]:
        """The segments of every message the bot sent between this case's message and its end."""
        return [record["message"].get("raw_message", []) for record in self.outbox()
                if case["sent_at"] <= record["time"] <= case["done_at"]]


@pytest.fixture(scope="module")
def host_run(tmp_path_factory) -> Run:
    python = host_python()
    gradio = python_for("6")  # raises with the build.sh hint when the Gradio 6 env is missing
    work = tmp_path_factory.mktemp("maibot-host")
    plugin = work / "llm2pic"
    gradio_port = free_port()
    install_plugin(plugin, gradio_port)
    prefix = netns_prefix()
    command = [*prefix, str(python), str(HARNESS / "run_e2e.py"), "--work", str(work), "--plugin", str(plugin),
               "--gradio-python", str(gradio), "--gradio-port", str(gradio_port), "--deadline", str(DEADLINE),
               "--case-timeout", "45",
               "--message", PLANNER_MESSAGE, "--message", COMMAND_MESSAGE, "--message", SEVERAL_MESSAGE]
    if prefix:
        command.append("--netns")
    env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE + 60, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        run = Run(work, -1, f"killed after {exc.timeout} s: {exc.stderr or ''}")
        pytest.fail(f"the end-to-end driver hung\n{run.evidence()}", pytrace=False)
    run = Run(work, done.returncode, done.stderr)
    print(f"maibot host e2e: network namespace {'on' if prefix else 'off (unshare not allowed here)'}; "
          f"logs in {work}", file=sys.stderr)
    if done.returncode != 0 or not (work / "cases.json").exists():
        pytest.fail(f"the end-to-end run did not complete\n{run.evidence()}", pytrace=False)
    run.cases = json.loads((work / "cases.json").read_text(encoding="utf-8"))["cases"]
    return run


def assert_ack_then_image(run: Run, text: str) -> Image.Image:
    case = run.case(text)
    assert not case["rejected"], f"the host refused the message {text!r}: {case['rejected']}\n{run.evidence()}"
    sent = run.sent_during(case)
    kinds = [[(s.get("type"), s.get("data")[:80] if isinstance(s.get("data"), str) else "") for s in message]
             for message in sent]
    images = [i for i, message in enumerate(sent) if any(s.get("type") == "image" for s in message)]
    assert images, (f"no image came out of the chat after {text!r} ({case['error'] or 'no error'}); "
                    f"sent: {kinds}\n{run.evidence()}")
    first_image = images[0]
    texts_before = [s.get("data") for message in sent[:first_image] for s in message if s.get("type") == "text"]
    assert texts_before[:1] == [ACK_TEXT], (f"expected the acknowledgement {ACK_TEXT!r} as the first message after "
                                            f"{text!r}, before the image; texts before it: {texts_before}\n"
                                            f"{run.evidence()}")
    segment = next(s for s in sent[first_image] if s.get("type") == "image")
    data = base64.b64decode(segment.get("binary_data_base64") or "", validate=True)
    assert data, f"the image segment after {text!r} carries no bytes: {segment}"
    Image.open(io.BytesIO(data)).verify()  # a real image, not just bytes
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _text(content) -> str:
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def tool_calls(requests: list[dict]) -> list[tuple[str, dict]]:
    return [(call["function"]["name"], json.loads(call["function"]["arguments"] or "{}"))
            for entry in requests for call in entry["answer"].get("tool_calls") or []]


def test_planner_draws_the_picture_a_member_asks_for(host_run):
    image = assert_ack_then_image(host_run, PLANNER_MESSAGE)
    assert image.size in LAB_SIZES, f"image {image.size} is not one the lab Gradio app draws"
    case = host_run.case(PLANNER_MESSAGE)
    during = [r for r in host_run.llm_requests() if case["sent_at"] <= r["time"] <= case["done_at"]]
    # The scripted planner always asks for draw_picture; what the plugin is tested on is the answer the
    # host got back from the plugin's tool and gave the planner as the tool's result.
    results = [_text(m.get("content")) for r in during for m in r["request"].get("messages") or []
               if m.get("role") == "tool"]
    assert any("已经开始画了" in text for text in results), (
        f"the plugin's draw_picture result never reached the planner; tool results: {results}\n"
        f"{host_run.evidence()}")
    prompt_requests = [r for r in during if not r["request"].get("tools")
                       and "一只猫咪" in json.dumps(r["request"].get("messages"), ensure_ascii=False)]
    assert prompt_requests, f"the plugin never asked the host's LLM for an image prompt\n{host_run.evidence()}"


def test_draw_command_sends_the_picture(host_run):
    image = assert_ack_then_image(host_run, COMMAND_MESSAGE)
    assert image.size in LAB_SIZES, f"image {image.size} is not one the lab Gradio app draws"
    case = host_run.case(COMMAND_MESSAGE)
    during = [r for r in host_run.llm_requests() if case["sent_at"] <= r["time"] <= case["done_at"]]
    assert "draw_picture" not in [name for name, _ in tool_calls(during)], "the command went through the planner"


def test_several_images_come_out_as_one_message_with_several_images(host_run):
    case = host_run.case(SEVERAL_MESSAGE)
    sent = host_run.sent_during(case)
    with_images = [[s for s in message if s.get("type") == "image"] for message in sent]
    with_images = [images for images in with_images if images]
    assert [len(images) for images in with_images][:1] == [2], (
        f"expected one message with 2 images after {SEVERAL_MESSAGE!r} (send.hybrid); got "
        f"{[len(images) for images in with_images]}\n{host_run.evidence()}")
    pictures = []
    for segment in with_images[0]:
        picture = Image.open(io.BytesIO(base64.b64decode(segment.get("binary_data_base64") or "", validate=True)))
        picture.load()
        assert picture.size in LAB_SIZES
        pictures.append(picture.tobytes())
    assert pictures[0] != pictures[1], "the two images are the same picture (no new seed)"
