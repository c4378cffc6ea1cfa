"""LLM2Pic inside one NoneBot process: the drawing service, started and stopped with NoneBot's driver,
and what each command does with a OneBot v11 message event."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Optional

import httpx
from nonebot import logger as nonebot_logger
from nonebot.adapters.onebot.v11 import Bot, GroupMessageEvent, MessageEvent, PrivateMessageEvent
from nonebot.permission import SUPERUSER

from ... import chat_text
from ...backends.tls import shared_tls_context
from ...config.model import Config
from ...config.secrets import config_secrets
from ...host_glue import forward_logs
from ...limits import Who
from ...prompt.openai_chat import chat_llm_from_config
from ...prompt.types import Persona, PromptInput
from ._interim_service import DrawingService
from .port import ChatAddress, OneBotChat
from .settings import read_config

log = logging.getLogger(__name__)

PLATFORM = "qq"  # how `[limits] admin_users` may name an account: "12345" or "qq:12345"


class Runtime:
    """One per bot process. `service` is None before start, after stop, and while the config is broken."""

    def __init__(self) -> None:
        self.service: Optional[DrawingService] = None
        self.config: Optional[Config] = None
        self.config_broken = False
        self._port = OneBotChat()
        self._llm_client: Optional[httpx.AsyncClient] = None
        self._log_secrets: list[str] = []

    # --- lifecycle (the driver's startup and shutdown hooks) ---------------------------------------

    async def start(self, config_path: Path) -> None:
        forward_logs(_LoguruTarget(), self._log_secrets)
        reading = read_config(config_path, log)
        self.config, self.config_broken = reading.config, reading.config is None
        if reading.config is None:
            return
        config = reading.config
        self._log_secrets[:] = config_secrets(config, os.environ)
        self._llm_client = httpx.AsyncClient(verify=shared_tls_context())
        llm = chat_llm_from_config(config.llm, self._llm_client)
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
        if self._llm_client is not None:
            await self._llm_client.aclose()
            self._llm_client = None

    # --- commands ----------------------------------------------------------------------------------

    def commands_on(self) -> bool:
        """The rule of every command matcher: off in config means another plugin may take /draw."""
        return self.config_broken or (self.config is not None and self.config.components.enable_direct_pic_command)

    async def draw(self, bot: Bot, event: MessageEvent, text: str) -> None:
        who = who_of(event)
        if who is None or not await self._usable(who):
            return
        if not text:
            await self.service.say(who.chat_id, chat_text.EMPTY_DRAW)
            return
        await self.service.submit(who, self._job(text, selfie=False), origin="draw",
                                  use_llm=self.config.jobs.draw_command_uses_llm,
                                  is_admin=await is_superuser(bot, event))

    async def selfie(self, bot: Bot, event: MessageEvent, text: str) -> None:
        who = who_of(event)
        if who is None or not await self._usable(who):
            return
        await self.service.submit(who, self._job(text, selfie=True), origin="selfie", use_llm=True,
                                  is_admin=await is_superuser(bot, event))

    async def pic(self, bot: Bot, event: MessageEvent, sub: str) -> None:
        who = who_of(event)
        if who is None or not await self._usable(who):
            return
        await self.service.pic(who, sub, is_admin=await is_superuser(bot, event))

    def _job(self, text: str, *, selfie: bool) -> PromptInput:
        llm = self.config.llm
        return PromptInput(request_text=text, persona=Persona(llm.persona_nickname, llm.persona_personality),
                           selfie=selfie)

    async def _usable(self, who: Who) -> bool:
        if self.service is not None:
            return True
        if self.config_broken:  # the reason is in the log since startup
            await self._port.send_text(who.chat_id, chat_text.CONFIG_BROKEN)
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
