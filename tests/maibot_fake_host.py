"""Loading plugin.py the way the MaiBot runner does, and a recording `rpc_call` that answers the
capability calls the way the 1.3.15 host does (see shared/research/maibot-host-contract.md)."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import itertools
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maibot_sdk.context import PluginContext, PluginPaths

ROOT = Path(__file__).resolve().parent.parent
_names = itertools.count()


def copy_plugin_folder(target: Path) -> Path:
    """The files a user installs (what git tracks plus new files, minus tests, bench and docs)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        if name.split("/")[0] in {"tests", "bench", "docs", ".ci"} or not (ROOT / name).is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def load_plugin_module(folder: Path):
    """plugin.py as a synthetic package whose submodules live in the folder, as the runner loads it."""
    name = f"_maibot_plugin_llm2pic_test_{next(_names)}"
    spec = importlib.util.spec_from_file_location(name, folder / "plugin.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Call:
    capability: str
    args: dict
    at: float


@dataclass
class FakeHost:
    """Answers cap.call like the host; records every call in order."""

    recent: list = field(default_factory=list)
    settings: dict = field(default_factory=lambda: {"bot.nickname": "麦麦", "bot.qq_account": "10000",
                                                    "personality.personality": "一个爱画画的女孩"})
    llm_answer: str = "a fluffy orange cat sitting on a windowsill, soft light"
    send_ok: bool = True
    calls: list = field(default_factory=list)
    # message.get_by_id: message_id -> record with its image bytes (binary_data_base64), stripped like
    # the host does (host/message_utils.py) unless include_binary_data=True
    stored: dict = field(default_factory=dict)
    hybrid_ok: bool = True  # send.hybrid's answer; None: the capability fails like an older host's
    lost_images: set = field(default_factory=set)  # 1-based numbers of send.image calls the host fails
    image_sends: int = 0
    avatar: dict = field(default_factory=lambda: {"status": "unsupported", "url": None, "expires_at": None})

    async def rpc_call(self, method: str, plugin_id: str = "", payload: Any = None, **_: Any) -> Any:
        assert method == "cap.call", method
        capability, args = payload["capability"], dict(payload["args"])
        self.calls.append(Call(capability, args, time.monotonic()))
        await asyncio.sleep(0)
        if capability == "send.image":
            self.image_sends += 1
            if self.image_sends in self.lost_images:
                self.calls.pop()  # not sent
                return {"success": False}
        if capability in ("send.text", "send.image"):
            return {"success": self.send_ok}
        if capability == "send.hybrid":
            if self.hybrid_ok is None:
                return {"success": False, "error": "未知能力 send.hybrid"}
            return {"success": self.hybrid_ok}
        if capability == "message.get_by_id":
            record = self.stored.get(args["message_id"])
            if record is not None and not args.get("include_binary_data"):
                record = without_bytes(record)
            return {"success": True, "message": record}
        if capability == "chat.get_avatar":
            return {"success": True, "avatar": dict(self.avatar)}
        if capability == "message.get_recent":
            return {"success": True, "messages": list(self.recent)}
        if capability == "config.get":
            return {"success": True, "value": self.settings.get(args["key"], args.get("default"))}
        if capability == "llm.generate":
            return {"success": True, "response": self.llm_answer, "model_name": "scripted"}
        raise AssertionError(f"unexpected capability {capability}")

    def of(self, capability: str) -> list[Call]:
        return [c for c in self.calls if c.capability == capability]

    def texts(self) -> list[str]:
        return [c.args["text"] for c in self.of("send.text")]

    def images(self) -> list[bytes]:
        return [base64.b64decode(c.args["image_base64"], validate=True) for c in self.of("send.image")]

    def hybrid_images(self) -> list[list[bytes]]:
        """The images of each send.hybrid message (SDK segments: {"type": "image", "content": b64})."""
        return [[base64.b64decode(s["content"], validate=True) for s in c.args["segments"] if s["type"] == "image"]
                for c in self.of("send.hybrid")]

    async def wait_for(self, capability: str, count: int = 1, timeout: float = 30.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(self.of(capability)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{capability} not seen {count}x within {timeout:g}s; calls: "
                                     f"{[(c.capability, c.args.get('text')) for c in self.calls]}")
            await asyncio.sleep(0.02)
        return self.of(capability)


def host_message(user_id: str, text: str, *, nickname: str = "", when: float | None = None,
                 group_id: str = "g1") -> dict:
    """A message dict shaped like the host's MessageDict."""
    return {
        "message_id": f"m{next(_names)}", "timestamp": str(when if when is not None else time.time()),
        "platform": "qq", "processed_plain_text": text,
        "message_info": {"user_info": {"user_id": user_id, "user_nickname": nickname or f"user{user_id}",
                                       "user_cardname": ""},
                         "group_info": {"group_id": group_id, "group_name": "测试群"}},
    }


def without_bytes(record: dict) -> dict:
    """A record as get_recent and a command's `message` give it: image segments keep data and hash only."""
    segments = [{k: v for k, v in segment.items() if k != "binary_data_base64"}
                for segment in record.get("raw_message") or []]
    return {**record, "raw_message": segments}


def image_message(user_id: str, image: bytes, text: str = "", *, kind: str = "image", reply_to: str = "",
                  when: float | None = None) -> dict:
    """A message record with an image segment (and its bytes), optionally replying to another message."""
    record = host_message(user_id, text or "[图片]", when=when)
    segments = []
    if reply_to:
        segments.append({"type": "reply", "data": {"target_message_id": reply_to, "target_message_content": None,
                                                   "target_message_sender_id": None,
                                                   "target_message_sender_nickname": None,
                                                   "target_message_sender_cardname": None}})
        record["reply_to"] = reply_to
    if image:
        segments.append({"type": kind, "data": "", "hash": "h" + record["message_id"],
                         "binary_data_base64": base64.b64encode(image).decode()})
    if text:
        segments.append({"type": "text", "data": text})
    record["raw_message"] = segments
    record["is_picture"] = bool(image)
    return record


async def start_plugin(module, host: FakeHost, config: dict, data_dir: Path):
    """create_plugin → context → config → on_load, in the runner's order."""
    plugin = module.create_plugin()
    plugin._set_context(PluginContext("llm2pic.llm2pic", rpc_call=host.rpc_call,
                                      paths=PluginPaths(data_dir=data_dir, runtime_dir=data_dir)))
    plugin.set_plugin_config({"plugin": {"enabled": True, "config_version": "1.0.0"}, **config})
    await plugin.on_load()
    return plugin
