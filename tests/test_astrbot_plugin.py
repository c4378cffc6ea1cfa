"""The repository folder as an AstrBot 4.x plugin, loaded and driven by the real AstrBot core.

AstrBot 4.29.3 (a Python 3.12 virtualenv built by tests/astrbot_env/build.sh) starts its own core
lifecycle with our folder in data/plugins/, its plugin manager loads main.py, metadata.yaml and
_conf_schema.json, its OneBot v11 adapter carries group messages from a test client, and a stand-in
chat provider plays the bot's LLM; the lab Gradio app draws. tests/astrbot_env/run_astrbot.py drives
one AstrBot start for all cases (inside `unshare --net --pid` when allowed); this file judges it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from gradio_servers import free_port, python_for
from llm2pic.config.model import Config
from llm2pic.phrases import HELP, MISCONFIGURED
from test_maibot_host_e2e import LAB_SIZES, install_plugin, netns_prefix

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "tests" / "astrbot_env"
ASTRBOT_ENV = Path(os.environ.get("LLM2PIC_ASTRBOT_ENV")
                   or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llm2pic" / "astrbot")
DEADLINE = 240
ACK, SELFIE_ACK = Config().jobs.ack_message, Config().jobs.selfie_ack_message

DRAW, TOOL, SELFIE, PIC_HELP = "/draw 一只 戴帽子的 橘猫", "画一张猫咪的图片", "/selfie 在海边", "/pic help"
FAIL, BROKEN = "/draw 一只狗", "/draw 一只鸟"
LLM_DOWN = "/selfie 模型坏了"  # the stand-in provider raises for this one


def astrbot_python() -> Path:
    python = ASTRBOT_ENV / "bin" / "python"
    wanted = hashlib.sha256((HARNESS / "requirements.txt").read_bytes()).hexdigest()
    stamp = ASTRBOT_ENV / ".requirements-sha256"
    problem = ""
    if not python.exists():
        problem = f"no AstrBot env at {ASTRBOT_ENV}"
    elif not stamp.exists() or stamp.read_text().strip() != wanted:
        problem = f"the AstrBot env at {ASTRBOT_ENV} was built from another tests/astrbot_env/requirements.txt"
    if problem:
        message = f"{problem}: run tests/astrbot_env/build.sh"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return python


def page_config(backend_url: str, **sections) -> dict:
    """A plugin config as AstrBot's WebUI saves it: one lab backend from the gradio template."""
    config = {"backends": [{"__template_key": "gradio", "name": "lab", "enabled": True, "space": "",
                            "base_url": backend_url, "preset": "z-image-turbo", "timeout": 60.0}],
              "limits": {"user_cooldown": 0.0}, "chain": {"max_attempts": 1, "deadline": 90.0}}
    config.update(sections)
    return config


@dataclass
class Run:
    work: Path
    returncode: int
    stderr: str
    result: dict = field(default_factory=dict)

    def evidence(self) -> str:
        log = self.work / "astrbot.log"
        tail = log.read_text(encoding="utf-8", errors="replace")[-6000:] if log.exists() else "(no astrbot.log)"
        return f"driver exit code {self.returncode}; stderr:\n{self.stderr.strip()[-2000:]}\n--- astrbot.log tail:\n{tail}"

    def case(self, text: str) -> dict:
        for case in self.result.get("cases", []):
            if case.get("text") == text:
                return case
        pytest.fail(f"the run never sent {text!r}\n{self.evidence()}", pytrace=False)

    def llm_requests(self) -> list[dict]:
        path = self.work / "llm_requests.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def segments(case: dict) -> list[tuple[str, dict]]:
    out = []
    for record in case["sent"]:
        assert record["action"] == "send_group_msg" and int(record["params"]["group_id"]) == 456, record["action"]
        message = record["params"]["message"]
        out += [(s["type"], s["data"]) for s in message] if isinstance(message, list) else [("raw", {"text": message})]
    return out


def texts(case: dict) -> list[str]:
    return [data.get("text", "") for kind, data in segments(case) if kind == "text"]


def images(case: dict) -> list[Image.Image]:
    found = []
    for kind, data in segments(case):
        if kind == "image":
            assert data["file"].startswith("base64://"), data["file"][:40]  # Image.fromBase64 on the wire
            image = Image.open(io.BytesIO(base64.b64decode(data["file"].removeprefix("base64://"), validate=True)))
            image.load()
            found.append(image)
    return found


@pytest.fixture(scope="module")
def astrbot_run(tmp_path_factory) -> Run:
    python = astrbot_python()
    gradio = python_for("6")
    work = tmp_path_factory.mktemp("astrbot")
    plugin = work / "data" / "plugins" / "llm2pic"
    plugin.mkdir(parents=True)
    gradio_port, onebot_port, closed_port = free_port(), free_port(), free_port()
    install_plugin(plugin, gradio_port)  # the repository's files as a user clones them
    (plugin / "config.toml").unlink()  # MaiBot's; AstrBot keeps the plugin config in data/config/
    lab = f"http://127.0.0.1:{gradio_port}"
    configs = [page_config(lab),
               page_config(f"http://127.0.0.1:{closed_port}"),  # nothing listens there: the backend fails
               page_config(lab, limits={"user_cooldown": -1})]  # a bad value: the plugin must refuse, not crash
    config_args = []
    for index, config in enumerate(configs):
        path = work / f"plugin_config_{index}.json"
        path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        config_args += ["--config", str(path)]
    steps = [f"msg:111:{DRAW}", f"at:112:{TOOL}", f"msg:113:{SELFIE}", f"msg:111:{PIC_HELP}", f"msg:116:{LLM_DOWN}",
             "config:1", f"msg:114:{FAIL}", "config:2", f"msg:115:{BROKEN}"]
    prefix = netns_prefix()
    command = [*prefix, str(python), str(HARNESS / "run_astrbot.py"), "--work", str(work), *config_args,
               *[arg for step in steps for arg in ("--step", step)], "--gradio-python", str(gradio),
               "--gradio-port", str(gradio_port), "--onebot-port", str(onebot_port), "--deadline", str(DEADLINE)]
    if prefix:
        command.append("--netns")
    env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    with open(work / "astrbot.log", "wb") as log:
        try:
            done = subprocess.run(command, stdout=log, stderr=subprocess.PIPE, text=True, timeout=DEADLINE + 60,
                                  env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            run = Run(work, -1, f"killed after {exc.timeout} s")
            pytest.fail(f"the AstrBot driver hung\n{run.evidence()}", pytrace=False)
    run = Run(work, done.returncode, done.stderr)
    print(f"astrbot: network namespace {'on' if prefix else 'off (unshare not allowed here)'}; logs in {work}",
          file=sys.stderr)
    if done.returncode != 0 or not (work / "cases.json").exists():
        pytest.fail(f"the AstrBot run did not complete\n{run.evidence()}", pytrace=False)
    run.result = json.loads((work / "cases.json").read_text(encoding="utf-8"))
    return run


def test_the_plugin_manager_loads_the_folder(astrbot_run):
    assert "llm2pic" in astrbot_run.result["loaded"], astrbot_run.evidence()
    assert not astrbot_run.result["failed"], astrbot_run.result["failed"]
    log = (astrbot_run.work / "astrbot.log").read_text(encoding="utf-8", errors="replace")
    assert "LLM2Pic ready: backends lab" in log


def test_nothing_tried_to_leave_the_machine(astrbot_run):
    # Every lookup or connection beyond loopback was refused and written down by the driver, AstrBot's
    # dependency installer included (it found every requirement installed).
    attempts = astrbot_run.work / "network_attempts.jsonl"
    assert not attempts.exists() or not attempts.read_text(encoding="utf-8").strip(), attempts.read_text()


def test_draw_command_acks_then_sends_the_image(astrbot_run):
    case = astrbot_run.case(DRAW)
    assert texts(case) == [ACK], astrbot_run.evidence()
    [image] = images(case)
    assert image.size in LAB_SIZES and image.width == image.height  # the default 1:1
    assert [kind for kind, _ in segments(case)] == ["text", "image"]  # the ack came first
    assert not [r for r in astrbot_run.llm_requests() if case["sent_at"] <= r["time"] <= case["done_at"]], \
        "/draw draws the text as given, without the LLM"
    log = (astrbot_run.work / "astrbot.log").read_text(encoding="utf-8", errors="replace")
    assert "(prompt: 一只 戴帽子的 橘猫)" in log  # every word after the command, spaces kept


def test_the_bot_decides_to_draw_through_the_tool(astrbot_run):
    case = astrbot_run.case(TOOL)
    during = [r for r in astrbot_run.llm_requests() if case["sent_at"] <= r["time"] <= case["done_at"]]
    [call] = [r for r in during if r["kind"] == "tool_call"]  # the stand-in LLM was offered draw_picture
    tool = call["offered"]["draw_picture"]  # as AstrBot built it from the handler's docstring
    assert "画" in tool["description"] and "不要调用" in tool["description"]
    types = {name: spec["type"] for name, spec in tool["parameters"]["properties"].items()}
    assert types == {"description": "string", "selfie_mode": "boolean", "aspect": "string"}, types
    after_tool = [r for r in during if r["kind"] == "after_tool"]
    tool_results = [m.get("content") for r in after_tool for m in r["messages"] if m.get("role") == "tool"]
    assert any("已经开始画了" in str(text) for text in tool_results), tool_results
    prompt_requests = [r for r in during if r["kind"] == "image_prompt"]
    assert prompt_requests and "一只猫咪" in json.dumps(prompt_requests[0]["messages"], ensure_ascii=False)
    assert texts(case)[0] == ACK
    [image] = images(case)  # drawn from the stand-in's English prompt, after the handler returned
    assert image.size in LAB_SIZES


def test_selfie_uses_the_llm_and_a_portrait(astrbot_run):
    case = astrbot_run.case(SELFIE)
    assert texts(case) == [SELFIE_ACK]
    [image] = images(case)
    assert image.height > image.width  # the selfie aspect 3:4
    during = [r for r in astrbot_run.llm_requests() if case["sent_at"] <= r["time"] <= case["done_at"]]
    [request] = [r for r in during if r["kind"] == "image_prompt"]  # the selfie prompt is written by the LLM
    # with AstrBot's stored conversation (the earlier tool turn, without AstrBot's own notes) ...
    asked = json.dumps(request["messages"], ensure_ascii=False)
    assert TOOL in asked and "好的，正在给你画" in asked and "system_reminder" not in asked, asked
    # ... and the persona AstrBot chose for this conversation (the harness set 小星 for the group)
    assert "小星" in (request["system"] or "") and "喜欢画画" in (request["system"] or ""), request["system"]


def test_a_failing_chat_provider_still_draws(astrbot_run):
    case = astrbot_run.case(LLM_DOWN)
    during = [r for r in astrbot_run.llm_requests() if case["sent_at"] <= r["time"] <= case["done_at"]]
    assert [r["kind"] for r in during] == ["raised"]
    assert texts(case) == [SELFIE_ACK] and len(images(case)) == 1  # drawn from the request as typed
    log = (astrbot_run.work / "astrbot.log").read_text(encoding="utf-8", errors="replace")
    assert "AstrBot chat provider failed: RuntimeError" in log


def test_pic_help(astrbot_run):
    case = astrbot_run.case(PIC_HELP)
    assert texts(case) == [HELP] and not images(case)


def test_a_failing_backend_gets_one_sentence(astrbot_run):
    reloads = [c for c in astrbot_run.result["cases"] if "reload" in c]
    # AstrBot's WebUI validator accepts what our schema describes, and the plugin reloads with it
    assert reloads and all(c["ok"] and not c["schema_errors"] for c in reloads), reloads
    case = astrbot_run.case(FAIL)
    said = texts(case)
    assert said[0] == ACK and len(said) == 2 and not images(case), said
    sentence = said[1]
    assert sentence != ACK and any("\u4e00" <= ch <= "\u9fff" for ch in sentence)
    assert "127.0.0.1" not in sentence and "Error" not in sentence  # details stay in the log


def test_a_bad_config_is_logged_with_its_key_and_refuses_to_draw(astrbot_run):
    case = astrbot_run.case(BROKEN)
    assert texts(case) == [MISCONFIGURED] and not images(case)
    log = (astrbot_run.work / "astrbot.log").read_text(encoding="utf-8", errors="replace")
    assert "limits.user_cooldown = -1" in log
