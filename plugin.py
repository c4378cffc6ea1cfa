"""MaiBot entry: the draw_picture tool, the /draw /selfie /pic commands, and the plugin lifecycle.

Handlers stay short: read the host's kwargs, build a DrawOrder, hand it to the JobBoard, return.
This is the only module that imports maibot_sdk.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Optional

from maibot_sdk import Command, MaiBotPlugin, PluginConfigBase, Tool
from maibot_sdk.types import ToolParameterInfo, ToolParamType

from . import chat_text
from .aspects import ASPECTS
from .config.model import Config
from .frontends.maibot.config_model import sdk_model
from .config.secrets import config_secrets
from .frontends.maibot.config_adoption import Adoption, adopt_config_file
from .host_glue import HostChat, forward_logs, requester_from_records, truthy
from .imaging.workers import ImageWorkers
from .limits import Limits, Who
from .pipeline import Engine
from .prompt.host import host_llm, messages_from_host
from .prompt.types import Persona, PromptInput
from .scheduler import DrawOrder, JobBoard

PLUGIN_DIR = Path(__file__).resolve().parent
TOOL_TIMEOUT_MS = 120_000  # the tool returns within seconds; this only covers a slow host RPC

DRAW_TOOL_DESCRIPTION = (
    "画图/发图片/自拍：只有当有人明确要你画一张图、发一张图片或照片、来张自拍时才调用；"
    "普通聊天、讨论图片、让你看图或评价图片时不要调用。调用后图片会在后台画好自动发出，不要重复调用。\n"
    "Draw and send a picture (or a selfie of yourself) ONLY when someone explicitly asks for one; "
    "never for ordinary chat or for describing an image someone sent. The picture is drawn in the "
    "background and sent automatically; call once."
)


class LLM2PicPlugin(MaiBotPlugin):
    config_model = sdk_model(Config, PluginConfigBase)

    def __init__(self, adoption: Optional[Adoption] = None) -> None:
        super().__init__()
        self._adoption = adoption  # what create_plugin did to config.toml, logged once the logger exists
        self.board: Optional[JobBoard] = None
        self.limits: Optional[Limits] = None
        self._workers = ImageWorkers()
        self._log_secrets: list[str] = []  # every secret of the config in use: masked in forwarded logs

    # --- lifecycle --------------------------------------------------------------------------------

    async def on_load(self) -> None:
        forward_logs(self.ctx.logger, self._log_secrets)
        self._log_adoption()
        config = self.config
        self._log_secrets[:] = config_secrets(config, os.environ)
        self.limits = Limits(config.limits)
        await self._restore_usage()
        chat = HostChat(self.ctx)
        self.board = JobBoard(chat, self.limits, Engine(config), llm=self._llm(config), workers=self._workers,
                              after_success=self._save_usage)
        self.ctx.logger.info("LLM2Pic ready: backends %s", ", ".join(b.name for b in config.enabled_backends()) or "none")

    async def on_unload(self) -> None:
        if self.board is not None:
            await self.board.close()
            await self.board.engine.retire()
            await self._save_usage()
        self.board = None

    async def on_config_update(self, scope: str, config_data: dict, version: str) -> None:
        if scope != "self" or self.board is None:
            return
        try:
            config = self.config  # the runner has already validated and set the new config
        except RuntimeError as exc:  # it did not validate: keep drawing with the old one
            self.ctx.logger.error("new config not applied, the previous one stays in use: %s", exc)
            return
        self._log_secrets[:] = config_secrets(config, os.environ)
        self.limits.update_config(config.limits)
        self.board.llm = self._llm(config)
        await self.board.use_engine(Engine(config))
        self.ctx.logger.info("LLM2Pic config reloaded (version %s)", version)

    # --- the tool the planner calls ---------------------------------------------------------------

    @Tool(
        "draw_picture",
        description=DRAW_TOOL_DESCRIPTION,
        parameters=[
            ToolParameterInfo(name="description", param_type=ToolParamType.STRING, required=False, default="",
                              description="要画的内容，用对方的原话或简短概括 (what to draw, in the requester's words)"),
            ToolParameterInfo(name="selfie_mode", param_type=ToolParamType.BOOLEAN, required=False, default=False,
                              description="对方要的是你自己的照片/自拍时为 true (true for a picture of yourself)"),
            ToolParameterInfo(name="aspect", param_type=ToolParamType.STRING, required=False, default="",
                              description=f"画面比例，只在对方提到横图/竖图/比例时填：{' '.join(ASPECTS)} "
                                          "(aspect ratio, only when asked)"),
        ],
        timeout_ms=TOOL_TIMEOUT_MS,
        visibility="visible",
    )
    async def draw_picture(self, description: str = "", selfie_mode: Any = False, aspect: str = "",
                           stream_id: str = "", chat_id: str = "", group_id: str = "", user_id: str = "",
                           platform: str = "", **_: Any) -> dict[str, Any]:
        chat = stream_id or chat_id
        if self.board is None or not self._settings.components.enable_image_generation:
            return {"success": False, "content": "画图功能没有开启，不要再调用。"}
        records = await self._recent_records(chat)
        bot_id = await self._bot_account()
        requester = user_id or requester_from_records(records, bot_id)
        job = PromptInput(request_text=str(description or ""), history=messages_from_host(records, bot_id),
                          persona=await self._persona(), selfie=truthy(selfie_mode),
                          aspect=_aspect_or_none(aspect))
        who = Who(chat_id=chat, group_id=str(group_id or ""), user_id=str(requester or ""), platform=platform)
        submission = await self.board.submit(DrawOrder(who, job, origin="tool"))
        return {"success": submission.accepted or submission.status == "merged", "content": submission.detail}

    # --- commands -----------------------------------------------------------------------------------

    @Command("draw", description="/draw <描述>：按描述直接画一张", pattern=r"^\s*/draw(?:\s+(?P<text>[\s\S]*))?$")
    async def draw_command(self, **kwargs: Any) -> tuple[bool, Optional[str], bool]:
        text = _matched(kwargs, "text")
        if not self._commands_on():
            return False, None, False
        if not text:
            await self.board.say(_chat_of(kwargs), chat_text.EMPTY_DRAW)
            return True, None, True
        use_llm = self._settings.jobs.draw_command_uses_llm
        return await self._command_order(kwargs, text, selfie=False, use_llm=use_llm, origin="draw")

    @Command("selfie", description="/selfie [场景]：来张自拍", pattern=r"^\s*/selfie(?:\s+(?P<text>[\s\S]*))?$")
    async def selfie_command(self, **kwargs: Any) -> tuple[bool, Optional[str], bool]:
        return await self._command_order(kwargs, _matched(kwargs, "text"), selfie=True, use_llm=True, origin="selfie")

    @Command("pic", description="/pic help|status|again：画图帮助、状态、再画一张",
             pattern=r"^\s*/pic(?:\s+(?P<sub>\S+))?\s*$")
    async def pic_command(self, **kwargs: Any) -> tuple[bool, Optional[str], bool]:
        if not self._commands_on():
            return False, None, False
        chat, sub = _chat_of(kwargs), _matched(kwargs, "sub").lower()
        if sub == "status":
            from .hub.zero_gpu_report import chat_lines  # ZeroGPU seconds left, with a token

            zero_gpu = await chat_lines(self.board.engine.backends)
            await self.board.say(chat, "\n".join([self._status_text(self._who(kwargs)), *zero_gpu]))
        elif sub == "again":
            previous = self.board.last_prompt(chat)
            if previous is None:
                await self.board.say(chat, chat_text.NOTHING_TO_REPEAT)
            else:
                job = PromptInput(request_text=previous.prompt, selfie=previous.selfie)
                await self.board.submit(DrawOrder(self._who(kwargs), job, reuse=previous,
                                                  is_admin=truthy(kwargs.get("is_local_operator")), origin="again"))
        else:
            await self.board.say(chat, chat_text.HELP)
        return True, None, True

    async def _command_order(self, kwargs: dict, text: str, *, selfie: bool, use_llm: bool,
                             origin: str) -> tuple[bool, Optional[str], bool]:
        if not self._commands_on():
            return False, None, False
        chat = _chat_of(kwargs)
        records = await self._recent_records(chat) if use_llm else []
        history = messages_from_host(records, await self._bot_account()) if records else ()
        job = PromptInput(request_text=text, history=history, persona=await self._persona(), selfie=selfie)
        order = DrawOrder(self._who(kwargs), job, use_llm=use_llm,
                          is_admin=truthy(kwargs.get("is_local_operator")), origin=origin)
        await self.board.submit(order)
        return True, None, True

    @property
    def _settings(self) -> Config:
        """The last config that validated (a bad edit in the WebUI leaves the previous one in use)."""
        return self.board.engine.config

    def _commands_on(self) -> bool:
        return self.board is not None and self._settings.components.enable_direct_pic_command

    def _status_text(self, who: Who) -> str:
        board = self.board
        usage = self.limits.usage(who)
        quota = chat_text.quota(usage.user_left, usage.group_left, usage.cooldown_left,
                                user_known=bool(who.user_id), in_group=bool(who.group_id))
        lines = [status.user_line() for status in board.engine.chain.status()]
        return chat_text.status(lines, board.running, board.pending, board.chat_pending(who.chat_id), quota)

    # --- host reads ---------------------------------------------------------------------------------

    def _who(self, kwargs: dict) -> Who:
        return Who(chat_id=_chat_of(kwargs), group_id=str(kwargs.get("group_id") or ""),
                   user_id=str(kwargs.get("user_id") or ""), platform=str(kwargs.get("platform") or ""))

    async def _recent_records(self, chat: str) -> list[dict]:
        try:
            records = await self.ctx.message.get_recent(chat, limit=self._settings.llm.context_message_limit)
        except Exception as exc:  # the host refused or timed out: draw without the chat
            self.ctx.logger.warning("recent messages unavailable: %s", exc)
            return []
        return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []

    async def _host_setting(self, key: str, default: Any) -> Any:
        try:
            value = await self.ctx.config.get(key, default)
        except Exception as exc:
            self.ctx.logger.warning("host setting %s unavailable: %s", key, exc)
            return default
        return default if value is None else value

    async def _bot_account(self) -> Optional[str]:
        account = await self._host_setting("bot.qq_account", "")
        return str(account) if account not in ("", 0) else None

    async def _persona(self) -> Persona:
        nickname, personality = await asyncio.gather(self._host_setting("bot.nickname", ""),
                                                     self._host_setting("personality.personality", ""))
        return Persona(str(nickname or self._settings.llm.persona_nickname), str(personality or ""))

    def _llm(self, config: Config):
        return host_llm(self.ctx.llm.generate, config.llm.model_name)

    # --- usage counters survive a restart -------------------------------------------------------------

    def _usage_file(self) -> Path:
        return Path(self.ctx.paths.data_dir) / "usage.json"

    async def _restore_usage(self) -> None:
        try:
            data = await asyncio.to_thread(self._usage_file().read_text, encoding="utf-8")
            self.limits.restore(json.loads(data))
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            self.ctx.logger.warning("daily usage counters not restored: %s", exc)

    async def _save_usage(self) -> None:
        path = self._usage_file()
        try:
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(path.write_text, json.dumps(self.limits.snapshot()), encoding="utf-8")
        except OSError as exc:
            self.ctx.logger.warning("daily usage counters not saved: %s", exc)

    def _log_adoption(self) -> None:
        adoption = self._adoption
        if adoption is None:
            return
        log = self.ctx.logger
        if adoption.action == "migrated":
            log.warning("classic MaiBot_LLM2pic config.toml migrated; the original is kept as %s", adoption.backup.name)
        elif adoption.action == "versioned":
            log.info("config.toml had no [plugin] config_version; added it")
        for note in adoption.notes:
            log.warning("config: %s", note)
        if adoption.error:
            log.error("config.toml: %s", adoption.error)


def _chat_of(kwargs: dict) -> str:
    return str(kwargs.get("stream_id") or kwargs.get("chat_id") or "")


def _matched(kwargs: dict, name: str) -> str:
    groups = kwargs.get("matched_groups") or {}
    return str(groups.get(name) or "").strip() if isinstance(groups, dict) else ""


def _aspect_or_none(aspect: Any) -> Optional[str]:
    value = str(aspect or "").strip()
    return value if value in ASPECTS else None


def create_plugin() -> LLM2PicPlugin:
    # Runs before the host reads config.toml: a classic file is migrated in place so it survives.
    return LLM2PicPlugin(adopt_config_file(PLUGIN_DIR / "config.toml"))
