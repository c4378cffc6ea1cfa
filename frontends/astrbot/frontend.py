"""The AstrBot plugin's logic behind its handlers: the config from the plugin page, a DrawingService
with an AstrBot chat port and LLM, and who asked (read from the AstrBot event).

Handlers in the root `main.py` call one method each. A config that does not validate is logged with
its key and the plugin refuses to draw (one sentence in the chat) instead of failing AstrBot's load.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from ...aspects import ASPECTS
from ...config.load import ConfigError
from ...config.secrets import config_secrets
from ...drawing.admission import Who
from ...drawing.service import DrawingService
from ...phrases import MISCONFIGURED
from ...prompt.parse import truthy
from ...prompt.types import ChatMessage, Persona, PromptInput
from ..log_forwarding import forward_logs
from .chat import AstrBotChat, astrbot_llm
from .config_map import host_settings, load_page
from .history import messages_from_history
from .images import references_of

DEFAULT_PERSONA_ID = "default"  # AstrBot's built-in persona: its name is not a bot name
NO_PERSONA = "[%None]"  # what AstrBot stores when a conversation has its persona turned off
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
        self.service: Optional[DrawingService] = None
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
        self.service = DrawingService(config, AstrBotChat(self.context), llm=astrbot_llm(self.context, self._provider_id),
                                      usage_file=self.data_dir / "usage.json")
        await self.service.start()
        self.logger.info("LLM2Pic ready: backends %s",
                         ", ".join(b.name for b in config.enabled_backends()) or "none")

    async def stop(self) -> None:
        service, self.service = self.service, None
        if service is not None:
            await service.close()

    # --- what the handlers do --------------------------------------------------------------------

    async def tool(self, event: Any, description: str, selfie: Any, aspect: str) -> str:
        """The draw_picture tool: starts a job and tells the bot's LLM what happened."""
        if self.service is None:
            return "画图功能暂时不可用（配置有误），告诉用户稍后再试，不要再调用。"
        if not self.service.tool_enabled:
            return "画图功能没有开启，不要再调用。"
        aspect = str(aspect or "").strip()
        job = await self._job(event, str(description or ""), selfie=truthy(selfie), with_history=True,
                              aspect=aspect if aspect in ASPECTS else None)
        with _session_of(event):
            submission = await self.service.submit(self._who(event), job, origin="tool", is_admin=_admin(event))
        return submission.detail

    async def draw(self, event: Any, text: str, *, selfie: bool) -> None:
        if not await self._commands_on(event):
            return
        use_llm = selfie or self.service.config.jobs.draw_command_uses_llm
        job = await self._job(event, text, selfie=selfie, with_history=use_llm)
        with _session_of(event):
            if selfie:
                await self.service.submit(self._who(event), job, origin="selfie", is_admin=_admin(event))
            else:
                await self.service.draw_command(self._who(event), job, use_llm=use_llm, is_admin=_admin(event))

    async def pic(self, event: Any, sub: str) -> None:
        if not await self._commands_on(event):
            return
        with _session_of(event):
            await self.service.pic(self._who(event), sub, is_admin=_admin(event))

    # --- helpers ----------------------------------------------------------------------------------

    async def _commands_on(self, event: Any) -> bool:
        if self.service is None:
            try:
                await AstrBotChat(self.context).send_text(event.unified_msg_origin, MISCONFIGURED)
            except Exception as exc:
                self.logger.warning("sending a text failed: %s", exc)
            return False
        return self.service.commands_enabled

    def _who(self, event: Any) -> Who:
        return Who(chat_id=event.unified_msg_origin, group_id=str(event.get_group_id() or ""),
                   user_id=str(event.get_sender_id() or ""), platform=str(event.get_platform_name() or ""))

    async def _provider_id(self) -> str:
        chosen = host_settings(self.page)["provider_id"]
        if chosen:
            return chosen
        return await self.context.get_current_chat_provider_id(umo=_session.get())

    async def _conversation(self, event: Any) -> Any:
        """AstrBot's current conversation of this chat (its stored turns and chosen persona), or None."""
        umo = event.unified_msg_origin
        try:
            manager = self.context.conversation_manager
            conversation_id = await manager.get_curr_conversation_id(umo)
            return await manager.get_conversation(umo, conversation_id) if conversation_id else None
        except Exception as exc:
            self.logger.warning("AstrBot conversation unavailable: %s", exc)
            return None

    async def _persona(self, event: Any, conversation: Any) -> Persona:
        """The persona AstrBot's own agent would use in this chat: a session rule, the conversation's
        choice, else the default one."""
        nickname, personality = host_settings(self.page)["persona_nickname"], ""
        try:
            record = await self._persona_record(event, conversation)
            if record is not None:
                name = str(record.get("name") or "")
                personality = str(record.get("prompt") or "")[:PERSONA_MAX_CHARS]
                if not nickname and name and name != DEFAULT_PERSONA_ID:
                    nickname = name
        except Exception as exc:  # no persona manager answer: draw with our own defaults
            self.logger.warning("AstrBot persona unavailable: %s", exc)
        return Persona(nickname or self.service.config.llm.persona_nickname, personality)

    async def _persona_record(self, event: Any, conversation: Any) -> Optional[Mapping[str, Any]]:
        manager, umo = self.context.persona_manager, event.unified_msg_origin
        resolve = getattr(manager, "resolve_selected_persona", None)  # AstrBot 4.x, newer releases
        if resolve is not None:
            persona_id, persona, _, _ = await resolve(umo=umo, platform_name=str(event.get_platform_name() or ""),
                                                      conversation_persona_id=getattr(conversation, "persona_id", None))
            if persona is not None or persona_id == NO_PERSONA:
                return persona
        return await manager.get_default_persona_v3(umo=umo)

    async def _job(self, event: Any, text: str, *, selfie: bool, with_history: bool,
                   aspect: Optional[str] = None) -> PromptInput:
        conversation = await self._conversation(event)
        persona = await self._persona(event, conversation)
        history: list[ChatMessage] = []
        if with_history and conversation is not None:
            history = messages_from_history(getattr(conversation, "history", ""), persona.nickname,
                                            self.service.config.llm.context_message_limit)
        return PromptInput(request_text=text, history=history, persona=persona, selfie=selfie, aspect=aspect,
                           references=references_of(event))


@contextlib.contextmanager
def _session_of(event: Any) -> Iterator[None]:
    """Jobs submitted inside write their prompt with this chat's provider (the task copies the context)."""
    token = _session.set(event.unified_msg_origin)
    try:
        yield
    finally:
        _session.reset(token)


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
