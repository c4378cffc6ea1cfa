"""The AstrBot plugin's logic behind its handlers: the config from the plugin page, the job board
with an AstrBot chat port and LLM, and who asked (read from the AstrBot event).

Handlers in the root `main.py` call one method each. A config that does not validate is logged with
its key and the plugin refuses to draw (one sentence in the chat) instead of failing AstrBot's load.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from ... import chat_text
from ...backends.base import ASPECTS
from ...config.load import ConfigError
from ...config.model import Config
from ...config.secrets import config_secrets
from ...host_glue import forward_logs, truthy
from ...limits import Limits, Who
from ...pipeline import Engine
from ...prompt.types import ChatMessage, Persona, PromptInput
from ...scheduler import DrawOrder, JobBoard
from .chat import AstrBotChat, astrbot_llm
from .config_map import host_settings, load_page
from .history import messages_from_history

DEFAULT_PERSONA_ID = "default"  # AstrBot's built-in persona: its name is not a bot name
PERSONA_MAX_CHARS = 2000
# The session whose request is being drawn: the job task inherits it, so the prompt is written by
# that session's chat provider.
_session: contextvars.ContextVar[str] = contextvars.ContextVar("llm2pic_astrbot_session", default="")


class AstrBotFrontend:
    def __init__(self, context: Any, page: Mapping[str, Any], data_dir: Path, logger: logging.Logger) -> None:
        self.context = context
        self.page = page
        self.data_dir = data_dir
        self.logger = logger
        self.board: Optional[JobBoard] = None
        self.limits: Optional[Limits] = None
        self.problem = ""  # the config error that keeps the plugin from drawing
        self._secrets: list[str] = []

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        forward_logs(self.logger, self._secrets)
        try:
            loaded = load_page(self.page)
        except ConfigError as exc:
            self.problem = str(exc)
            self.logger.error("LLM2Pic will not draw until its config is fixed: %s", exc)
            return
        for warning in loaded.warnings:
            self.logger.warning("LLM2Pic config: %s", warning)
        config = loaded.config
        self._secrets[:] = config_secrets(config, os.environ)
        self.limits = Limits(config.limits)
        await self._restore_usage()
        llm = astrbot_llm(self.context, self._provider_id)
        self.board = JobBoard(AstrBotChat(self.context), self.limits, Engine(config), llm=llm,
                              after_success=self._save_usage)
        self.logger.info("LLM2Pic ready: backends %s",
                         ", ".join(b.name for b in config.enabled_backends()) or "none")

    async def stop(self) -> None:
        board, self.board = self.board, None
        if board is not None:
            await board.close()
            await board.engine.retire()
            await self._save_usage()

    # --- what the handlers do --------------------------------------------------------------------

    async def tool(self, event: Any, description: str, selfie: Any, aspect: str) -> str:
        """The draw_picture tool: starts a job and tells the bot's LLM what happened."""
        if self.board is None:
            return "画图功能暂时不可用（配置有误），告诉用户稍后再试，不要再调用。"
        if not self._settings.components.enable_image_generation:
            return "画图功能没有开启，不要再调用。"
        job = PromptInput(request_text=str(description or ""), history=await self._history(event),
                          persona=await self._persona(event), selfie=truthy(selfie),
                          aspect=aspect if aspect in ASPECTS else None)
        submission = await self._submit(event, DrawOrder(self._who(event), job, is_admin=_admin(event),
                                                         origin="tool"))
        return submission.detail

    async def draw(self, event: Any, text: str, *, selfie: bool) -> None:
        if not await self._commands_on(event):
            return
        text = (text or "").strip()
        if not text and not selfie:
            await self.board.say(event.unified_msg_origin, chat_text.EMPTY_DRAW)
            return
        use_llm = selfie or self._settings.jobs.draw_command_uses_llm
        history = await self._history(event) if use_llm else []
        job = PromptInput(request_text=text, history=history, persona=await self._persona(event), selfie=selfie)
        await self._submit(event, DrawOrder(self._who(event), job, use_llm=use_llm, is_admin=_admin(event),
                                            origin="selfie" if selfie else "draw"))

    async def pic(self, event: Any, sub: str) -> None:
        if not await self._commands_on(event):
            return
        chat, sub = event.unified_msg_origin, (sub or "").strip().lower()
        if sub == "status":
            await self.board.say(chat, self._status_text(self._who(event)))
        elif sub == "again":
            previous = self.board.last_prompt(chat)
            if previous is None:
                await self.board.say(chat, chat_text.NOTHING_TO_REPEAT)
            else:
                job = PromptInput(request_text=previous.prompt, selfie=previous.selfie)
                await self._submit(event, DrawOrder(self._who(event), job, reuse=previous, is_admin=_admin(event),
                                                    origin="again"))
        else:
            await self.board.say(chat, chat_text.HELP)

    # --- helpers ----------------------------------------------------------------------------------

    @property
    def _settings(self) -> Config:
        return self.board.engine.config

    async def _commands_on(self, event: Any) -> bool:
        if self.board is None:
            await self._send_plain(event, chat_text.CONFIG_BROKEN)
            return False
        return self._settings.components.enable_direct_pic_command

    async def _submit(self, event: Any, order: DrawOrder):
        token = _session.set(event.unified_msg_origin)
        try:
            return await self.board.submit(order)
        finally:
            _session.reset(token)

    async def _send_plain(self, event: Any, text: str) -> None:
        try:
            await AstrBotChat(self.context).send_text(event.unified_msg_origin, text)
        except Exception as exc:
            self.logger.warning("sending a text failed: %s", exc)

    def _who(self, event: Any) -> Who:
        return Who(chat_id=event.unified_msg_origin, group_id=str(event.get_group_id() or ""),
                   user_id=str(event.get_sender_id() or ""), platform=str(event.get_platform_name() or ""))

    def _status_text(self, who: Who) -> str:
        board, usage = self.board, self.limits.usage(who)
        quota = chat_text.quota(usage.user_left, usage.group_left, usage.cooldown_left,
                                user_known=bool(who.user_id), in_group=bool(who.group_id))
        lines = [status.user_line() for status in board.engine.chain.status()]
        return chat_text.status(lines, board.running, board.pending, board.chat_pending(who.chat_id), quota)

    async def _provider_id(self) -> str:
        chosen = host_settings(self.page)["provider_id"]
        if chosen:
            return chosen
        return await self.context.get_current_chat_provider_id(umo=_session.get())

    async def _persona(self, event: Any) -> Persona:
        nickname = host_settings(self.page)["persona_nickname"]
        personality = ""
        try:
            persona = await self.context.persona_manager.get_default_persona_v3(umo=event.unified_msg_origin)
            name = str(persona.get("name") or "")
            personality = str(persona.get("prompt") or "")[:PERSONA_MAX_CHARS]
            if not nickname and name and name != DEFAULT_PERSONA_ID:
                nickname = name
        except Exception as exc:  # no persona manager answer: draw with our own defaults
            self.logger.warning("AstrBot persona unavailable: %s", exc)
        return Persona(nickname or self._settings.llm.persona_nickname, personality)

    async def _history(self, event: Any) -> list[ChatMessage]:
        umo, limit = event.unified_msg_origin, self._settings.llm.context_message_limit
        try:
            manager = self.context.conversation_manager
            conversation_id = await manager.get_curr_conversation_id(umo)
            if not conversation_id:
                return []
            conversation = await manager.get_conversation(umo, conversation_id)
        except Exception as exc:
            self.logger.warning("AstrBot conversation unavailable: %s", exc)
            return []
        bot = (await self._persona(event)).nickname
        return messages_from_history(getattr(conversation, "history", ""), bot, limit)

    # --- usage counters survive a restart ---------------------------------------------------------

    def _usage_file(self) -> Path:
        return self.data_dir / "usage.json"

    async def _restore_usage(self) -> None:
        try:
            data = await asyncio.to_thread(self._usage_file().read_text, encoding="utf-8")
            self.limits.restore(json.loads(data))
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            self.logger.warning("daily usage counters not restored: %s", exc)

    async def _save_usage(self) -> None:
        if self.limits is None:
            return
        path = self._usage_file()
        try:
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(path.write_text, json.dumps(self.limits.snapshot()), encoding="utf-8")
        except OSError as exc:
            self.logger.warning("daily usage counters not saved: %s", exc)


def command_text(event: Any, name: str) -> str:
    """What follows the command word (AstrBot has already removed the wake prefix such as "/")."""
    words = str(event.message_str or "").strip().split(maxsplit=1)
    if words and words[0].lower() == name:
        return words[1].strip() if len(words) > 1 else ""
    return ""


def _admin(event: Any) -> bool:
    try:
        return bool(event.is_admin())
    except Exception:
        return False
