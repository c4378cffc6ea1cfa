"""Drives one end-to-end run of the real MaiBot host; run by tests/test_maibot_host_e2e.py.

Runs under the host's interpreter, usually inside `unshare --net --pid` so that everything it starts
has only loopback and dies with it. In order:
  1. a fresh instance in WORK/instance (`maibot init` + offline config, instance.py) with the test's
     gateway plugin and the plugin under test (a copy of --plugin, config.toml included);
  2. the scripted LLM (scripted_llm.py) and the lab Gradio app (--gradio-python, --gradio-port);
  3. the host (`python -m src.runtime` in the instance dir), until the gateway reports ready;
  4. each --message in turn through the gateway, waiting until an image comes out (or --case-timeout);
  5. everything stopped.
It writes WORK/cases.json (each message with its time window) and leaves the evidence in WORK:
host.log, gradio.log, llm_requests.jsonl and instance/e2e/outbox.jsonl. Exit code 0 when the run
completed (the test judges the outcome), 1 with the reason on stderr when it could not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from instance import make_instance  # noqa: E402
from scripted_llm import ScriptedLLM  # noqa: E402

GROUP = {"group_id": "424242", "group_name": "画图测试群"}
# Each message comes from its own group member, so one person's cooldown never blocks the next case.
USERS = [{"user_id": "20001", "user_nickname": "小明"}, {"user_id": "20002", "user_nickname": "小红"},
         {"user_id": "20003", "user_nickname": "小刚"}]
LAB_APP = HERE.parent / "gradio_apps" / "lab_app.py"
HOST_READY = "全部系统初始化完成"  # MaiBot 1.3.15's "all systems initialised" log line
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")


class RunFailed(Exception):
    pass


def loopback_env(**extra: str) -> dict[str, str]:
    """This environment without any proxy setting, so nothing is ever sent through one."""
    env = {key: value for key, value in os.environ.items() if key.lower() not in PROXY_VARIABLES}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", **extra)
    return env


def group_message(number: int, text: str) -> dict:
    """A standard message dict as an adapter hands it to the host."""
    return {
        "message_id": f"e2e-{number}-{time.time_ns()}",
        "timestamp": str(time.time()),
        "platform": "qq",
        "account_id": "10001",
        "scope": None,
        "message_info": {"user_info": dict(USERS[(number - 1) % len(USERS)]), "group_info": dict(GROUP),
                         "additional_config": {}},
        "raw_message": [{"type": "text", "data": text}],
        "processed_plain_text": text,
        "is_mentioned": False,
        "is_at": False,
        "is_command": text.startswith("/"),
    }


def start(command: list[str], log: Path, cwd: Path | None = None, env: dict | None = None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop(process: subprocess.Popen | None, grace: float) -> None:
    """SIGTERM to the process's whole group, SIGKILL after `grace` seconds."""
    if process is None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    try:  # children that outlived their parent in the same group
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_for(condition, timeout: float, what: str, alive: list[tuple[subprocess.Popen, str]] = ()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process, name in alive:
            if process.poll() is not None:
                raise RunFailed(f"{name} exited with code {process.returncode} while waiting for {what}")
        time.sleep(0.1)
    raise RunFailed(f"timed out after {timeout:g} s waiting for {what}")


def gradio_up(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/config", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def outbox_lines(outbox: Path) -> list[dict]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines() if line.strip()]


def has_image_since(outbox: Path, since: float) -> bool:
    return any(
        record["time"] >= since and any(seg.get("type") == "image" for seg in record["message"].get("raw_message", []))
        for record in outbox_lines(outbox)
    )


def run(args: argparse.Namespace) -> None:
    work = args.work.resolve()
    llm = ScriptedLLM(work / "llm_requests.jsonl").start()
    processes: list[subprocess.Popen] = []
    try:
        instance = make_instance(work / "instance", llm_url=llm.url)
        shutil.copytree(HERE / "gateway_plugin", instance / "plugins" / "e2e_chat_gateway")
        shutil.copytree(args.plugin, instance / "plugins" / args.plugin.name)

        gradio_url = f"http://127.0.0.1:{args.gradio_port}"
        gradio = start([str(args.gradio_python), str(LAB_APP), str(args.gradio_port)], work / "gradio.log",
                       env=loopback_env(GRADIO_ANALYTICS_ENABLED="False", GRADIO_SERVER_NAME="127.0.0.1",
                                        HF_HUB_OFFLINE="1"))
        processes.append(gradio)
        host = start([sys.executable, "-m", "src.runtime"], work / "host.log", cwd=instance,
                     env=loopback_env(MAIBOT_INSTANCE_DIR=str(instance), MAIBOT_LOCALE="zh-CN", PYTHONUNBUFFERED="1",
                                      HF_HUB_OFFLINE="1"))
        processes.append(host)

        exchange = instance / "e2e"
        wait_for(lambda: gradio_up(gradio_url), 90, "the lab Gradio app", [(gradio, "the Gradio app")])
        # Both: the gateway runs in the host's core runner, which can be up before the runner of the
        # plugin under test has registered its components; the host logs this line after both.
        wait_for(lambda: (exchange / "gateway.ready").exists() and HOST_READY in (work / "host.log").read_text(
            encoding="utf-8", errors="replace"), args.start_timeout, "the host to finish starting", [(host, "the host")])
        ready_at = time.time()

        cases = []
        for number, text in enumerate(args.message, 1):
            message = group_message(number, text)
            sent_at = time.time()
            inbox = exchange / "inbox" / f"{number:03d}.json"
            inbox.with_suffix(".tmp").write_text(json.dumps(message, ensure_ascii=False), encoding="utf-8")
            inbox.with_suffix(".tmp").rename(inbox)  # the gateway polls for *.json: never a half-written file
            error = ""
            try:
                wait_for(lambda: has_image_since(exchange / "outbox.jsonl", sent_at), args.case_timeout,
                         f"an image after {text!r}", [(host, "the host")])
                time.sleep(args.settle)  # let a late extra message of this case land in its window
            except RunFailed as exc:
                error = str(exc)
            rejected = inbox.with_suffix(".rejected")
            cases.append({"text": text, "message_id": message["message_id"], "sent_at": sent_at,
                          "done_at": time.time(), "error": error,
                          "rejected": rejected.read_text(encoding="utf-8") if rejected.exists() else ""})
        (work / "cases.json").write_text(json.dumps({"ready_at": ready_at, "cases": cases}, ensure_ascii=False,
                                                    indent=1), encoding="utf-8")
    finally:
        for process in reversed(processes):
            stop(process, grace=args.stop_grace)
        llm.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="empty folder for the instance and the logs")
    parser.add_argument("--plugin", type=Path, required=True, help="plugin folder to install (with its config.toml)")
    parser.add_argument("--gradio-python", type=Path, required=True, help="python of a Gradio virtualenv")
    parser.add_argument("--gradio-port", type=int, required=True)
    parser.add_argument("--message", action="append", required=True, help="group message to send (repeatable)")
    parser.add_argument("--start-timeout", type=float, default=90)
    parser.add_argument("--case-timeout", type=float, default=60)
    parser.add_argument("--settle", type=float, default=0.5)
    parser.add_argument("--stop-grace", type=float, default=15)
    parser.add_argument("--deadline", type=float, default=240, help="hard limit for the whole run, s")
    parser.add_argument("--netns", action="store_true", help="bring up lo first (inside a fresh network namespace)")
    args = parser.parse_args()

    def out_of_time(signum, frame):
        raise RunFailed(f"the whole run took longer than --deadline {args.deadline:g} s")

    signal.signal(signal.SIGALRM, out_of_time)  # raised wherever the run is; its cleanup still runs
    signal.alarm(max(1, int(args.deadline)))
    try:
        if args.netns:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
        run(args)
    except (RunFailed, RuntimeError, subprocess.SubprocessError, OSError, KeyError) as exc:
        print(f"run_e2e: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
