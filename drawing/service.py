"""What a chat front end needs to draw, host-neutral: the engine of the config in use, admission,
the job board, daily usage that survives a restart, and the /pic help|status|again logic.

A front end (MaiBot, NoneBot2, AstrBot) brings a `ChatPort` (send a text, send an image), an LLM
callable (or None: the request text is drawn as typed) and its handlers, which read the host's event
into a `Who` and a `PromptInput` and call `submit`, `draw_command` or `pic`. Nothing here knows a host.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path
from typing import Optional

from ..config.model import Config
from ..imaging.workers import ImageWorkers
from ..phrases import EMPTY_DRAW, HELP, NOTHING_TO_REPEAT, quota_line, status_text
from ..prompt.count import split_count_flag
from ..prompt.types import ChatLLM, PromptInput
from .admission import Limits, Who
from .engine import Engine
from .jobs import ChatPort, DrawOrder, JobBoard, Submission

log = logging.getLogger(__name__)


class DrawingService:
    def __init__(self, config: Config, port: ChatPort, *, llm: Optional[ChatLLM] = None,
                 usage_file: Optional[Path] = None, workers: Optional[ImageWorkers] = None) -> None:
        self.limits = Limits(config.limits)
        self.board = JobBoard(port, self.limits, Engine(config), llm=llm, workers=workers or ImageWorkers(),
                              after_success=self.save_usage)
        self._usage_file = usage_file

    @property
    def config(self) -> Config:
        """The config in use: the last one that validated."""
        return self.board.engine.config

    @property
    def tool_enabled(self) -> bool:
        return self.config.components.enable_image_generation

    @property
    def commands_enabled(self) -> bool:
        return self.config.components.enable_direct_pic_command

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Restore the daily usage counters saved by the last run."""
        if self._usage_file is None:
            return
        try:
            data = await asyncio.to_thread(self._usage_file.read_text, encoding="utf-8")
            self.limits.restore(json.loads(data))
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("daily usage counters not restored: %s", exc)

    async def reload(self, config: Config, *, llm: Optional[ChatLLM] = None) -> None:
        """Use a new config; running jobs finish on the old engine."""
        self.limits.update_config(config.limits)
        self.board.llm = llm
        await self.board.use_engine(Engine(config))

    async def close(self) -> None:
        """Cancel running jobs (each ends with one message), close the backends' clients, save usage."""
        await self.board.close()
        await self.board.engine.retire()
        await self.save_usage()

    async def save_usage(self) -> None:
        if self._usage_file is None:
            return
        path = self._usage_file
        try:
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(path.write_text, json.dumps(self.limits.snapshot()), encoding="utf-8")
        except OSError as exc:
            log.warning("daily usage counters not saved: %s", exc)

    # --- requests -----------------------------------------------------------------------------------

    async def submit(self, who: Who, job: PromptInput, *, origin: str = "tool", use_llm: bool = True,
                     is_admin: bool = False) -> Submission:
        """A drawing request (the LLM's tool, /draw, /selfie): acknowledged at once, drawn in the background."""
        return await self.board.submit(DrawOrder(who, job, use_llm=use_llm, is_admin=is_admin, origin=origin))

    async def draw_command(self, who: Who, job: PromptInput, *, use_llm: bool, is_admin: bool = False) -> None:
        """/draw [-n N | --count N] <描述>: an empty description gets the usage line instead of a picture."""
        count, text = split_count_flag(job.request_text)
        if count is not None:
            job = dataclasses.replace(job, request_text=text, count=count)
        if not job.request_text.strip():
            await self.say(who.chat_id, EMPTY_DRAW)
            return
        await self.submit(who, job, origin="draw", use_llm=use_llm, is_admin=is_admin)

    async def pic(self, who: Who, sub: str, *, is_admin: bool = False) -> None:
        """/pic status|again|help (anything else: help); the answer goes to the chat."""
        sub = sub.strip().lower()
        if sub == "status":
            from ..hub.zero_gpu_report import chat_lines  # ZeroGPU seconds left, with a token

            zero_gpu = await chat_lines(self.board.engine.backends)
            await self.say(who.chat_id, "\n".join([self.status_text(who), *zero_gpu]))
        elif sub == "again":
            previous = self.board.last_prompt(who.chat_id)
            if previous is None:
                await self.say(who.chat_id, NOTHING_TO_REPEAT)
                return
            job = PromptInput(request_text=previous.prompt, selfie=previous.selfie)
            await self.board.submit(DrawOrder(who, job, reuse=previous, is_admin=is_admin, origin="again"))
        else:
            await self.say(who.chat_id, HELP)

    def status_text(self, who: Who) -> str:
        board, usage = self.board, self.limits.usage(who)
        quota = quota_line(usage.user_left, usage.group_left, usage.cooldown_left,
                           user_known=bool(who.user_id), in_group=bool(who.group_id))
        lines = [status.user_line() for status in board.engine.chain.status()]
        return status_text(lines, board.running, board.pending, board.chat_pending(who.chat_id), quota)

    async def say(self, chat_id: str, text: str) -> None:
        """Send a text; a host failure is logged, never raised."""
        await self.board.say(chat_id, text)
