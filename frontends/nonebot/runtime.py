"""LLM2Pic inside one NoneBot process: the drawing service, started and stopped with NoneBot's driver,
and what each command does with a OneBot v11 message event."""

from __future__ import annotations

import logging
import os
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Optional

from nonebot import logger as nonebot_logger
from nonebot.adapters.onebot.v11 import Bot, GroupMessageEvent, MessageEvent, PrivateMessageEvent
from nonebot.permission import SUPERUSER

from ...config.secrets import config_secrets
from ...drawing.admission import Who
from ...drawing.llm_endpoint import endpoint_llm
from ...drawing.service import DrawingService
from ...phrases import CONFIG_BROKEN
from ...redaction import redact
from ...prompt.safety import normalize
from ...prompt.selfie import is_selfie_request
from ...prompt.types import Persona, PromptInput
from ..log_forwarding import forward_logs
from .images import references_of
from .port import ChatAddress, OneBotChat
from .settings import read_config

log = logging.getLogger(__name__)

PLATFORM = "qq"  # how `[limits] admin_users` may name an account: "12345" or "qq:12345"


class Runtime:
    """One per bot process. `service` is None before start, after stop, and while the config is broken."""

    def __init__(self) -> None:
        self.service: Optional[DrawingService] = None
        self.config_broken = False
        self._port = OneBotChat()
        self._resources = AsyncExitStack()  # the [llm] endpoint's client
        self._log_secrets: list[str] = []

    # --- lifecycle (the driver's startup and shutdown hooks) ---------------------------------------

    async def start(self, config_path: Path) -> None:
        forward_logs(_LoguruTarget(), self._log_secrets)
        try:
            await self._start(config_path)
        except Exception as exc:  # whatever it is, the bot itself keeps running
            log.error("LLM2Pic could not start and will not draw: %s: %s", type(exc).__name__, redact(str(exc)))
            await self.stop()
            self.config_broken = True

    async def _start(self, config_path: Path) -> None:
        reading = read_config(config_path, log)
        config, self.config_broken = reading.config, reading.config is None
        if config is None:
            return
        self._log_secrets[:] = config_secrets(config, os.environ)
        llm = await self._resources.enter_async_context(endpoint_llm(config.llm))
        usage_file = reading.path.with_name(reading.path.stem + ".usage.json")
        self.service = DrawingService(config, self._port, llm=llm, usage_file=usage_file)
        await self.service.start()
        log.info("LLM2Pic ready: backends %s; prompts written by %s",
                 ", ".join(b.name for b in config.enabled_backends()) or "none",
                 "the [llm] endpoint" if llm else "nobody (no [llm] base_url/model: the request text is drawn)")

    async def stop(self) -> None:
        service, self.service = self.service, None
        if service is not None:
            await service.close()
        await self._resources.aclose()

    # --- commands ----------------------------------------------------------------------------------

    def commands_on(self) -> bool:
        """The rule of every command matcher: off in config means another plugin may take /draw."""
        return self.config_broken or (self.service is not None and self.service.commands_enabled)

    async def draw(self, bot: Bot, event: MessageEvent, text: str) -> None:
        who = who_of(event)
        if who is None or not await self._usable(who):
            return
        await self.service.draw_command(who, self._job(text, selfie=False, event=event),
                                        use_llm=self.service.config.jobs.draw_command_uses_llm,
                                        is_admin=await is_superuser(bot, event))

    async def selfie(self, bot: Bot, event: MessageEvent, text: str) -> None:
        who = who_of(event)
        if who is None or not await self._usable(who):
            return
        await self.service.submit(who, self._job(text, selfie=True, event=event), origin="selfie", use_llm=True,
                                  is_admin=await is_superuser(bot, event))

    async def pic(self, bot: Bot, event: MessageEvent, sub: str) -> None:
        who = who_of(event)
        if who is None or not await self._usable(who):
            return
        await self.service.pic(who, sub, is_admin=await is_superuser(bot, event))

    # --- the natural-language trigger ([components] trigger_phrases; off while the list is empty) -------

    def wants_to_draw(self, event: MessageEvent) -> bool:
        """The rule of the on_message matcher: a trigger phrase, and in a group (by default) the bot addressed."""
        service = self.service
        if service is None or not service.tool_enabled:
            return False
        components = service.config.components
        if not components.trigger_phrases:
            return False
        if isinstance(event, GroupMessageEvent) and components.trigger_needs_mention and not event.is_tome():
            return False
        text = normalize(event.get_plaintext())
        return any(normalize(phrase) in text for phrase in components.trigger_phrases)

    async def natural(self, bot: Bot, event: MessageEvent) -> None:
        who = who_of(event)
        if who is None or self.service is None:
            return
        text = event.get_plaintext().strip()
        selfie = is_selfie_request(text, self.service.config.selfie.trigger_words)
        # "tool": the chat asked in its own words, as with MaiBot's planner (a repeat within
        # [jobs] merge_window joins the picture already being drawn).
        await self.service.submit(who, self._job(text, selfie=selfie, event=event), origin="tool", use_llm=True,
                                  is_admin=await is_superuser(bot, event))

    def _job(self, text: str, *, selfie: bool, event: MessageEvent) -> PromptInput:
        llm = self.service.config.llm
        return PromptInput(request_text=text, persona=Persona(llm.persona_nickname, llm.persona_personality),
                           selfie=selfie, references=references_of(event))

    async def _usable(self, who: Who) -> bool:
        if self.service is not None:
            return True
        if self.config_broken:  # the reason is in the log since startup
            await self._port.send_text(who.chat_id, CONFIG_BROKEN)
        return False


def who_of(event: MessageEvent) -> Optional[Who]:
    """The requester and the chat; None for an event that is neither a group nor a private message."""
    if isinstance(event, GroupMessageEvent):
        address, group = ChatAddress(str(event.self_id), "group", event.group_id), str(event.group_id)
    elif isinstance(event, PrivateMessageEvent):
        address, group = ChatAddress(str(event.self_id), "private", event.user_id), ""
    else:
        return None
    return Who(chat_id=address.chat_id(), group_id=group, user_id=str(event.user_id), platform=PLATFORM)


async def is_superuser(bot: Bot, event: MessageEvent) -> bool:
    """NoneBot's SUPERUSERS (admins without limits, like `[limits] admin_users`)."""
    return bool(await SUPERUSER(bot, event))


class _LoguruTarget:
    """The `logging.Logger.log` call forward_logs makes, onto NoneBot's loguru logger."""

    def log(self, level: int, fmt: str, *args: Any) -> None:
        name = logging.getLevelName(level)
        text = fmt % args if args else fmt
        nonebot_logger.opt(depth=1).log(name if name in _LOGURU_LEVELS else "INFO", text)


_LOGURU_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
