"""TEMPORARY: the planned `drawing.DrawingService` API over today's JobBoard, Limits and Engine (the same
wiring as plugin.py), so the NoneBot front end works before the core refactor lands. Replaced by the
core's DrawingService on merge; nothing here is NoneBot-specific."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Optional

from ... import chat_text
from ...config.model import Config
from ...limits import Limits, Who
from ...pipeline import Engine
from ...prompt.types import ChatLLM, PromptInput
from ...scheduler import ChatPort, DrawOrder, JobBoard

log = logging.getLogger(__name__)


class DrawingService:
    def __init__(self, config: Config, port: ChatPort, *, llm: Optional[ChatLLM] = None,
                 usage_file: Optional[Path] = None) -> None:
        self.config = config
        self.limits = Limits(config.limits)
        self.board = JobBoard(port, self.limits, Engine(config), llm=llm, after_success=self._save_usage)
        self._usage_file = usage_file

    async def start(self) -> None:
        if self._usage_file is None:
            return
        try:
            data = await asyncio.to_thread(self._usage_file.read_text, encoding="utf-8")
            self.limits.restore(json.loads(data))
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("daily usage counters not restored: %s", exc)

    async def close(self) -> None:
        await self.board.close()
        await self.board.engine.retire()
        await self._save_usage()

    async def submit(self, who: Who, job: PromptInput, *, origin: str, use_llm: bool = True,
                     is_admin: bool = False):
        return await self.board.submit(DrawOrder(who, job, use_llm=use_llm, is_admin=is_admin, origin=origin))

    async def pic(self, who: Who, sub: str, *, is_admin: bool = False) -> None:
        sub = sub.strip().lower()
        if sub == "status":
            usage = self.limits.usage(who)
            quota = chat_text.quota(usage.user_left, usage.group_left, usage.cooldown_left,
                                    user_known=bool(who.user_id), in_group=bool(who.group_id))
            lines = [status.user_line() for status in self.board.engine.chain.status()]
            await self.say(who.chat_id, chat_text.status(lines, self.board.running, self.board.pending,
                                                         self.board.chat_pending(who.chat_id), quota))
        elif sub == "again":
            previous = self.board.last_prompt(who.chat_id)
            if previous is None:
                await self.say(who.chat_id, chat_text.NOTHING_TO_REPEAT)
            else:
                await self.board.submit(DrawOrder(who, PromptInput(request_text=previous.prompt, selfie=previous.selfie),
                                                  reuse=previous, is_admin=is_admin, origin="again"))
        else:
            await self.say(who.chat_id, chat_text.HELP)

    async def say(self, chat_id: str, text: str) -> None:
        await self.board.say(chat_id, text)

    async def _save_usage(self) -> None:
        if self._usage_file is None:
            return
        try:
            await asyncio.to_thread(self._usage_file.write_text, json.dumps(self.limits.snapshot()), encoding="utf-8")
        except OSError as exc:
            log.warning("daily usage counters not saved: %s", exc)
