"""Drives the real AstrBot core with our plugin for tests/test_astrbot_plugin.py (Python 3.12 env).

What runs, all on 127.0.0.1 (inside `unshare --net --pid` when the test could get one):
  1. the lab Gradio app (--gradio-python, --gradio-port) as the image backend;
  2. AstrBot's own core lifecycle (database, persona/conversation managers, provider manager, the
     plugin manager loading data/plugins/<plugin>/ from its folder, the event pipeline) with
     - a stand-in chat provider (registered as a provider type, as any provider plugin does) that
       plays the bot's LLM: it calls draw_picture when asked for a cat picture and writes a fixed
       English image prompt when our prompt engine asks for one;
     - AstrBot's real OneBot v11 (aiocqhttp) platform adapter, listening for a reverse WebSocket;
  3. a OneBot v11 client on that WebSocket playing the chat app: it posts group messages as events
     and answers the adapter's API calls (send_group_msg, …), recording every message sent.

Each case posts one message and waits for an image or for the plugin's last word. Between cases the
plugin config can be replaced and the plugin reloaded through the plugin manager, as the WebUI's
"save config" does. Results: <work>/cases.json, outbox.jsonl, llm_requests.jsonl, astrbot.log.
Usage: see main(); tests/test_astrbot_plugin.py builds the arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LAB_APP = HERE.parent / "gradio_apps" / "lab_app.py"
PLUGIN_DIR_NAME = "llm2pic"
SELF_ID = 10000
GROUP_ID = 456
TOOL_TRIGGER = "画一张猫咪的图片"
TOOL_ARGUMENTS = {"description": "一只猫咪", "selfie_mode": False}
TOOL_REPLY = "好的，正在给你画~"
IMAGE_PROMPT = "a fluffy orange cat sitting on a sunny windowsill, soft light, detailed fur"
LLM_BREAKS_ON = "模型坏了"  # a request containing this makes the stand-in raise, as a provider outage does
PERSONA_NAME, PERSONA_PROMPT = "小星", "你是小星，一个喜欢画画、说话温柔的女孩。"
PROMPT_ENGINE_MARKERS = ("绘画", "提示词", "image prompt")  # words of our prompt engine's request
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")


class RunFailed(Exception):
    pass


# --- the chat app: a OneBot v11 implementation on the adapter's reverse WebSocket -----------------

class OneBotClient:
    """Connects as OneBot v11 "Universal" client, posts events, answers and records API calls."""

    def __init__(self, url: str, outbox: Path) -> None:
        self.url, self.outbox = url, outbox
        self.sent: list[dict] = []
        self._ids = itertools.count(1)
        self._ws = None
        self._reader: asyncio.Task | None = None

    async def connect(self, timeout: float) -> None:
        from websockets.asyncio.client import connect

        deadline = time.monotonic() + timeout
        while True:
            try:
                self._ws = await connect(self.url, additional_headers={
                    "X-Self-ID": str(SELF_ID), "X-Client-Role": "Universal"}, max_size=64 * 2**20)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RunFailed(f"the aiocqhttp adapter never accepted a connection at {self.url}")
                await asyncio.sleep(0.2)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        if self._ws:
            await self._ws.close()

    async def _read(self) -> None:
        async for raw in self._ws:
            call = json.loads(raw)
            action, params = call.get("action", ""), call.get("params") or {}
            data: Any = None
            if action in ("send_group_msg", "send_private_msg", "send_msg"):
                message_id = next(self._ids) + 1000
                record = {"time": time.time(), "action": action, "params": params}
                self.sent.append(record)
                with self.outbox.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                data = {"message_id": message_id}
            elif action in ("get_group_member_info", "get_stranger_info"):
                user = int(params.get("user_id") or 0)
                data = {"user_id": user, "nickname": "小机" if user == SELF_ID else f"user{user}",
                        "card": "", "role": "member"}
            elif action == "get_login_info":
                data = {"user_id": SELF_ID, "nickname": "小机"}
            elif action == "get_group_info":
                data = {"group_id": GROUP_ID, "group_name": "测试群", "member_count": 3}
            await self._ws.send(json.dumps({"status": "ok", "retcode": 0, "data": data, "echo": call.get("echo")}))

    async def post_group_message(self, user_id: int, text: str, at_bot: bool = False) -> None:
        segments = ([{"type": "at", "data": {"qq": str(SELF_ID)}}] if at_bot else []) + \
                   [{"type": "text", "data": {"text": text}}]
        raw = (f"[CQ:at,qq={SELF_ID}] " if at_bot else "") + text
        await self._ws.send(json.dumps({
            "time": int(time.time()), "self_id": SELF_ID, "post_type": "message", "message_type": "group",
            "sub_type": "normal", "message_id": next(self._ids), "group_id": GROUP_ID, "user_id": user_id,
            "message": segments, "raw_message": raw, "font": 0,
            "sender": {"user_id": user_id, "nickname": f"user{user_id}", "card": "", "role": "member"},
        }, ensure_ascii=False))


def segments_of(record: dict) -> list[dict]:
    message = record["params"].get("message")
    return message if isinstance(message, list) else [{"type": "text", "data": {"text": str(message)}}]


# --- the stand-in chat provider ----------------------------------------------------------------

def register_stand_in_provider(log_path: Path) -> None:
    from astrbot.core.provider.entities import LLMResponse
    from astrbot.core.provider.provider import Provider
    from astrbot.core.provider.register import register_provider_adapter

    def text_of(content: Any) -> str:
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
        return ""

    @register_provider_adapter("llm2pic_stand_in", "LLM2Pic test stand-in chat model")
    class StandIn(Provider):
        def get_current_key(self) -> str:
            return ""

        def set_key(self, key: str) -> None:
            pass

        async def get_models(self) -> list[str]:
            return ["stand-in"]

        async def text_chat(self, prompt=None, session_id=None, image_urls=None, audio_urls=None, func_tool=None,
                            contexts=None, system_prompt=None, tool_calls_result=None, model=None, **kwargs):
            messages = self._ensure_message_to_dicts(contexts)
            if prompt:
                messages.append({"role": "user", "content": prompt})
            tools = [t.name for t in (func_tool.tools if func_tool else [])]
            offered = {t.name: {"description": t.description, "parameters": t.parameters}
                       for t in (func_tool.tools if func_tool else []) if t.name == "draw_picture"}
            users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
            answered = bool(tool_calls_result) or any(m.get("role") == "tool" for m in messages)
            everything = (system_prompt or "") + "".join(text_of(m.get("content")) for m in messages)
            if "draw_picture" in tools and users and TOOL_TRIGGER in users[-1] and not answered:
                answer = LLMResponse("assistant", tools_call_name=["draw_picture"],
                                     tools_call_args=[dict(TOOL_ARGUMENTS)], tools_call_ids=["call_draw_1"])
                kind = "tool_call"
            elif answered:
                answer, kind = LLMResponse("assistant", completion_text=TOOL_REPLY), "after_tool"
            elif LLM_BREAKS_ON in everything:
                with log_path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps({"time": time.time(), "kind": "raised"}) + "\n")
                raise RuntimeError("stand-in provider outage (status 503)")
            elif not tools and any(marker in everything for marker in PROMPT_ENGINE_MARKERS):
                answer, kind = LLMResponse("assistant", completion_text=IMAGE_PROMPT), "image_prompt"
            else:
                answer, kind = LLMResponse("assistant", completion_text="嗯嗯"), "chat"
            with log_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"time": time.time(), "kind": kind, "tools": tools, "offered": offered,
                                      "system": system_prompt,
                                      "messages": messages, "tool_results": bool(tool_calls_result)},
                                     ensure_ascii=False, default=str) + "\n")
            return answer


# --- nothing leaves the machine ------------------------------------------------------------------

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def loopback_only(log_path: Path) -> None:
    """Refuse (and record) every name lookup and connection to anything but loopback, so a test run
    shows whether AstrBot or the plugin tried to reach out, even where no network namespace exists."""
    import socket

    def refuse(what: str, target: Any) -> None:
        with log_path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"time": time.time(), "what": what, "target": repr(target)}) + "\n")

    real_getaddrinfo, real_connect, real_connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK:
            refuse("getaddrinfo", name)
            raise socket.gaierror(socket.EAI_NONAME, "llm2pic test: only loopback names resolve")
        return real_getaddrinfo(host, *args, **kwargs)

    def allowed(sock: socket.socket, address: Any) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return True
        if address[0] in LOOPBACK:
            return True
        refuse("connect", address)
        return False

    def connect(self, address):
        if not allowed(self, address):
            raise ConnectionRefusedError("llm2pic test: only loopback connections")
        return real_connect(self, address)

    def connect_ex(self, address):
        return real_connect_ex(self, address) if allowed(self, address) else 111  # ECONNREFUSED

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex


# --- AstrBot's own configuration, written before astrbot is imported ----------------------------

def write_astrbot_config(work: Path, onebot_port: int) -> None:
    config = {
        "platform": [{"id": "onebot", "type": "aiocqhttp", "enable": True, "ws_reverse_host": "127.0.0.1",
                      "ws_reverse_port": onebot_port, "ws_reverse_token": ""}],
        "provider": [{"id": "stand-in", "type": "llm2pic_stand_in", "enable": True, "model": "stand-in"}],
        # A loopback text-to-image endpoint: the default one makes AstrBot fetch a list from the internet.
        "t2i_endpoint": "http://127.0.0.1:9/text2img",
        "dashboard": {"enable": False},
        "disable_metrics": True,  # event.send() would otherwise report usage to AstrBot's servers
    }
    (work / "data").mkdir(parents=True, exist_ok=True)
    (work / "data" / "cmd_config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")


def write_plugin_config(work: Path, config_file: Path) -> None:
    target = work / "data" / "config" / f"{PLUGIN_DIR_NAME}_config.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(config_file.read_text(encoding="utf-8"), encoding="utf-8")


# --- the run -------------------------------------------------------------------------------------

async def save_plugin_config(core: Any, config: dict) -> list[str]:
    """The dashboard's plugin-config save (ConfigService.save_plugin_configs), without its HTTP route."""
    from astrbot.dashboard.services.config_service import validate_config

    [star] = [s for s in core.plugin_manager.context.get_all_stars() if s.root_dir_name == PLUGIN_DIR_NAME]
    errors, config = validate_config(config, getattr(star.config, "schema", {}), is_core=False)
    if not errors:
        star.config.save_config(config)
    return [str(error) for error in errors]


def gradio_up(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/config", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


ACKS = ("在画了", "等我拍", TOOL_REPLY)  # the plugin's acknowledgements and the stand-in's chat reply


async def wait_for_end(client: OneBotClient, since: int, timeout: float, settle: float) -> None:
    """Until an image, or a text that is neither an acknowledgement nor the LLM's reply (the plugin's
    last word: a failure, help, a refusal), has been sent; or `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        said = [seg for record in client.sent[since:] for seg in segments_of(record)]
        if any(seg.get("type") == "image" for seg in said):
            break
        if any(seg.get("type") == "text" and not any(ack in seg["data"].get("text", "") for ack in ACKS)
               for seg in said):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(settle)  # anything that would wrongly follow the last word


async def run(args: argparse.Namespace) -> dict:
    work = args.work.resolve()
    os.environ["ASTRBOT_ROOT"] = str(work)
    os.chdir(work)
    sys.path.insert(0, str(work))  # AstrBot imports plugins as data.plugins.<folder>.main
    write_astrbot_config(work, args.onebot_port)
    write_plugin_config(work, args.config[0])

    from astrbot.core import LogBroker, db_helper
    from astrbot.core import core_lifecycle as lifecycle_module
    from astrbot.core.core_lifecycle import AstrBotCoreLifecycle

    async def no_metadata_download() -> None:  # it fetches model metadata from the internet
        return None

    lifecycle_module.update_llm_metadata = no_metadata_download
    register_stand_in_provider(work / "llm_requests.jsonl")

    core = AstrBotCoreLifecycle(LogBroker(), db_helper)
    await core.initialize()
    runner = asyncio.create_task(core.start())
    client = OneBotClient(f"ws://127.0.0.1:{args.onebot_port}/ws", work / "outbox.jsonl")
    cases: list[dict] = []
    try:
        await client.connect(args.start_timeout)
        loaded = [star.name for star in core.plugin_manager.context.get_all_stars() if star.activated]
        # The group's conversation uses a persona of its own, as `/persona 小星` would set it.
        await core.persona_mgr.create_persona(persona_id=PERSONA_NAME, system_prompt=PERSONA_PROMPT)
        await core.conversation_manager.new_conversation(f"onebot:GroupMessage:{GROUP_ID}", platform_id="onebot",
                                                         persona_id=PERSONA_NAME)
        failed = dict(core.plugin_manager.failed_plugin_dict)
        phase = 0
        for step in args.step:
            kind, _, value = step.partition(":")
            if kind == "config":  # what the WebUI's "save" does: validate, save, reload the plugin
                phase += 1
                errors = await save_plugin_config(core, json.loads(args.config[int(value)].read_text(encoding="utf-8")))
                ok, error = await core.plugin_manager.reload(PLUGIN_DIR_NAME)
                cases.append({"reload": int(value), "ok": ok, "error": str(error or ""), "schema_errors": errors})
                continue
            user, _, text = value.partition(":")
            since, started = len(client.sent), time.time()
            await client.post_group_message(int(user), text, at_bot=(kind == "at"))
            await wait_for_end(client, since, args.case_timeout, args.settle)
            cases.append({"text": text, "user": int(user), "at_bot": kind == "at", "phase": phase,
                          "sent_at": started, "done_at": time.time(), "sent": client.sent[since:]})
        return {"loaded": loaded, "failed": {k: str(v.get("error", v)) if isinstance(v, dict) else str(v)
                                             for k, v in failed.items()}, "cases": cases}
    finally:
        await client.close()
        await core.stop()
        runner.cancel()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="AstrBot root (data/plugins/llm2pic installed)")
    parser.add_argument("--config", type=Path, action="append", required=True,
                        help="plugin config JSON (repeatable; the first is used at start)")
    parser.add_argument("--step", action="append", default=[],
                        help="msg:USER:TEXT, at:USER:TEXT (mentions the bot) or config:N (switch and reload)")
    parser.add_argument("--gradio-python", type=Path, required=True)
    parser.add_argument("--gradio-port", type=int, required=True)
    parser.add_argument("--onebot-port", type=int, required=True)
    parser.add_argument("--start-timeout", type=float, default=90)
    parser.add_argument("--case-timeout", type=float, default=45)
    parser.add_argument("--settle", type=float, default=0.5)
    parser.add_argument("--deadline", type=float, default=240)
    parser.add_argument("--netns", action="store_true", help="bring up lo first (inside a fresh network namespace)")
    args = parser.parse_args()

    def out_of_time(signum, frame):
        raise RunFailed(f"the whole run took longer than --deadline {args.deadline:g} s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(max(1, int(args.deadline)))
    for key in list(os.environ):
        if key.lower() in PROXY_VARIABLES:
            del os.environ[key]
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    os.environ["PIP_NO_INDEX"] = "1"  # AstrBot's dependency installer must find everything installed
    os.environ["ASTRBOT_DISABLE_METRICS"] = "1"
    loopback_only(args.work.resolve() / "network_attempts.jsonl")
    gradio = None
    try:
        if args.netns:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
        work = args.work.resolve()
        with open(work / "gradio.log", "ab") as log:
            gradio = subprocess.Popen([str(args.gradio_python), str(LAB_APP), str(args.gradio_port)], stdout=log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        url, deadline = f"http://127.0.0.1:{args.gradio_port}", time.monotonic() + 90
        while not gradio_up(url):
            if gradio.poll() is not None or time.monotonic() > deadline:
                raise RunFailed("the lab Gradio app did not start (see gradio.log)")
            time.sleep(0.2)
        result = asyncio.run(run(args))
        (work / "cases.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    except (RunFailed, OSError, subprocess.SubprocessError) as exc:
        print(f"run_astrbot: {exc}", file=sys.stderr)
        return 1
    finally:
        if gradio is not None and gradio.poll() is None:
            os.killpg(gradio.pid, signal.SIGKILL)
            gradio.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
