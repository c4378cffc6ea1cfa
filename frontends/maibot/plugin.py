"""MaiBot entry: the draw_picture tool, the /draw /selfie /pic commands, and the plugin lifecycle.

Handlers stay short: read the host's kwargs, build a DrawOrder, hand it to the JobBoard, return.
This is the only module that imports maibot_sdk.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Optional

from maibot_sdk import Command, MaiBotPlugin, PluginConfigBase, Tool
from maibot_sdk.types import ToolParameterInfo, ToolParamType

from ...aspects import ASPECTS, named_aspect
from ...config.model import Config
from .config_model import sdk_model
from ...config.secrets import config_secrets
from .config_adoption import Adoption, adopt_config_file
from ...drawing.admission import Limits, Who
from ...drawing.jobs import JobBoard
from ...drawing.service import DrawingService
from ...imaging.workers import ImageWorkers
from ...prompt.types import Persona, PromptInput
from .chat_images import chat_references, sender_of, trigger_record
from .chat_reads import host_llm, messages_from_host
from ...prompt.parse import truthy
from ..log_forwarding import forward_logs
from .host import HostChat

PLUGIN_DIR = Path(__file__).resolve().parents[2]  # the plugin root, where MaiBot keeps config.toml
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
        self.service: Optional[DrawingService] = None
        self._workers = ImageWorkers()
        self._log_secrets: list[str] = []  # every secret of the config in use: masked in forwarded logs

    @property
    def board(self) -> Optional[JobBoard]:
        return self.service.board if self.service else None

    @property
    def limits(self) -> Optional[Limits]:
        return self.service.limits if self.service else None

    # --- lifecycle --------------------------------------------------------------------------------

    async def on_load(self) -> None:
        forward_logs(self.ctx.logger, self._log_secrets)
        self._log_adoption()
        config = self.config
        self._log_secrets[:] = config_secrets(config, os.environ)
        self.service = DrawingService(config, HostChat(self.ctx), llm=self._llm(config), workers=self._workers,
                                      usage_file=Path(self.ctx.paths.data_dir) / "usage.json")
        await self.service.start()
        self.ctx.logger.info("LLM2Pic ready: backends %s", ", ".join(b.name for b in config.enabled_backends()) or "none")

    async def on_unload(self) -> None:
        if self.service is not None:
            await self.service.close()
        self.service = None

    async def on_config_update(self, scope: str, config_data: dict, version: str) -> None:
        if scope != "self" or self.service is None:
            return
        try:
            config = self.config  # the runner has already validated and set the new config
        except RuntimeError as exc:  # it did not validate: keep drawing with the old one
            self.ctx.logger.error("new config not applied, the previous one stays in use: %s", exc)
            return
        self._log_secrets[:] = config_secrets(config, os.environ)
        await self.service.reload(config, llm=self._llm(config))
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
            ToolParameterInfo(name="count", param_type=ToolParamType.INTEGER, required=False, default=1,
                              description="要画几张，只在对方明确要几张时填，默认 1 (how many pictures, only when asked)"),
        ],
        timeout_ms=TOOL_TIMEOUT_MS,
        visibility="visible",
    )
    async def draw_picture(self, description: str = "", selfie_mode: Any = False, aspect: str = "",
                           count: Any = 1, stream_id: str = "", chat_id: str = "", group_id: str = "",
                           user_id: str = "", platform: str = "", **_: Any) -> dict[str, Any]:
        chat = stream_id or chat_id
        if self.service is None or not self.service.tool_enabled:
            return {"success": False, "content": "画图功能没有开启，不要再调用。"}
        records = await self._recent_records(chat)
        bot_id = await self._bot_account()
        trigger = trigger_record(records, bot_id)  # the message the planner answers (a tool call names none)
        requester = user_id or (sender_of(trigger) if trigger is not None else "")
        text = str(description or "")
        job = PromptInput(request_text=text, history=messages_from_host(records, bot_id),
                          persona=await self._persona(), selfie=truthy(selfie_mode),
                          aspect=named_aspect(str(aspect or "")), count=_tool_count(count),
                          references=await self._references(chat, trigger, f"{text} {_plain_text(trigger)}",
                                                            platform, str(requester or "")))
        who = Who(chat_id=chat, group_id=str(group_id or ""), user_id=str(requester or ""), platform=platform)
        submission = await self.service.submit(who, job, origin="tool")
        return {"success": submission.accepted or submission.status == "merged", "content": submission.detail}

    # --- commands -----------------------------------------------------------------------------------

    @Command("draw", description="/draw <描述>：按描述直接画一张", pattern=r"^\s*/draw(?:\s+(?P<text>[\s\S]*))?$")
    async def draw_command(self, **kwargs: Any) -> tuple[bool, Optional[str], bool]:
        if not self._commands_on():
            return False, None, False
        use_llm = self._settings.jobs.draw_command_uses_llm
        text = _matched(kwargs, "text")
        job = await self._job(kwargs, text, selfie=False, with_history=use_llm and bool(text))
        await self.service.draw_command(self._who(kwargs), job, use_llm=use_llm, is_admin=_is_admin(kwargs))
        return True, None, True

    @Command("selfie", description="/selfie [场景]：来张自拍", pattern=r"^\s*/selfie(?:\s+(?P<text>[\s\S]*))?$")
    async def selfie_command(self, **kwargs: Any) -> tuple[bool, Optional[str], bool]:
        if not self._commands_on():
            return False, None, False
        job = await self._job(kwargs, _matched(kwargs, "text"), selfie=True, with_history=True)
        await self.service.submit(self._who(kwargs), job, origin="selfie", is_admin=_is_admin(kwargs))
        return True, None, True

    @Command("pic", description="/pic help|status|again [序号]|history|prompt|style [名字]|styles：画图帮助、状态、重画、历史、画风",
             pattern=r"^\s*/pic(?:\s+(?P<sub>[\s\S]*?))?\s*$")
    async def pic_command(self, **kwargs: Any) -> tuple[bool, Optional[str], bool]:
        if not self._commands_on():
            return False, None, False
        await self.service.pic(self._who(kwargs), _matched(kwargs, "sub"), is_admin=_is_admin(kwargs))
        return True, None, True

    async def _job(self, kwargs: dict, text: str, *, selfie: bool, with_history: bool) -> PromptInput:
        records = await self._recent_records(_chat_of(kwargs)) if with_history else []
        history = messages_from_host(records, await self._bot_account()) if records else ()
        message = kwargs.get("message")  # the command's own message record (the host sends it without bytes)
        references = await self._references(_chat_of(kwargs), message if isinstance(message, dict) and message
                                            else None, text, str(kwargs.get("platform") or ""),
                                            str(kwargs.get("user_id") or ""))
        return PromptInput(request_text=text, history=history, persona=await self._persona(), selfie=selfie,
                           references=tuple(references))

    async def _references(self, chat: str, trigger: Optional[dict], text: str, platform: str,
                          user_id: str) -> tuple[str, ...]:
        """The images the request draws from: its own, the replied-to message's, or the avatar it names."""
        sources, notes = await chat_references(self.ctx, chat, trigger, text=text, platform=platform,
                                               user_id=user_id)
        for note in notes:
            self.ctx.logger.info("reference images: %s", note)
        return tuple(sources)

    @property
    def _settings(self) -> Config:
        """The last config that validated (a bad edit in the WebUI leaves the previous one in use)."""
        return self.service.config

    def _commands_on(self) -> bool:
        return self.service is not None and self.service.commands_enabled

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


def _tool_count(value: Any) -> Optional[int]:
    """The tool's count argument (it may come as a string); 1, absent or nonsense: not named."""
    try:
        number = int(str(value).strip()[:4])
    except (TypeError, ValueError):
        return None
    return number if number > 1 else None


def _plain_text(record: Optional[dict]) -> str:
    return str(record.get("processed_plain_text") or "") if isinstance(record, dict) else ""


def _chat_of(kwargs: dict) -> str:
    return str(kwargs.get("stream_id") or kwargs.get("chat_id") or "")


def _matched(kwargs: dict, name: str) -> str:
    groups = kwargs.get("matched_groups") or {}
    return str(groups.get(name) or "").strip() if isinstance(groups, dict) else ""


def _is_admin(kwargs: dict) -> bool:
    return truthy(kwargs.get("is_local_operator"))


def create_plugin() -> LLM2PicPlugin:
    # Runs before the host reads config.toml: a classic file is migrated in place so it survives.
    return LLM2PicPlugin(adopt_config_file(PLUGIN_DIR / "config.toml"))
