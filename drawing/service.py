"""What a chat front end needs to draw, host-neutral: the engine of the config in use, admission,
the job board, daily usage and each chat's style preset that survive a restart, the chats' recent
drawings, and the /pic logic (help, status, again [N], history, prompt [N], style [名字], styles).

A front end (MaiBot, NoneBot2, AstrBot) brings a `ChatPort` (send a text, send an image), an LLM
callable (or None: the request text is drawn as typed) and its handlers, which read the host's event
into a `Who` and a `PromptInput` and call `submit`, `draw_command` or `pic`. Nothing here knows a host.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Optional

from ..config.model import Config
from ..config.styles import MAX_NAME, OFF_WORDS
from ..imaging.workers import ImageWorkers
from ..phrases import (BAD_NUMBER, EMPTY_DRAW, HELP, NO_STYLE_SET, NO_STYLES, STYLE_CLEARED,
                       current_style, history_text, no_such_drawing, prompt_text, quota_line, status_text, style_set,
                       styles_text, unknown_style)
from ..prompt.count import split_count_flag
from ..prompt.types import ChatLLM, PromptInput
from .admission import Limits, Who
from .engine import Engine
from .jobs import ChatPort, DrawOrder, JobBoard, Submission
from .styles import preset_name, style_for_request

# The usage file's key for the chats' styles; its own version, so the file's other keys stay as they are.
CHAT_STYLES_KEY = "chat_styles"
CHAT_STYLES_VERSION = 1
MAX_SAVED_STYLES = 10_000
_STYLE_WORD = re.compile(r"\s*(?:风格|画风|风|style)$", re.I)  # "/pic style 水彩风格" means 水彩
# Chinese spellings of the /pic subcommands.
_SUBCOMMANDS = {"状态": "status", "再来": "again", "重画": "again", "历史": "history", "记录": "history",
                "提示词": "prompt", "风格": "style", "画风": "style", "风格列表": "styles", "画风列表": "styles",
                "帮助": "help"}

log = logging.getLogger(__name__)


class DrawingService:
    def __init__(self, config: Config, port: ChatPort, *, llm: Optional[ChatLLM] = None,
                 usage_file: Optional[Path] = None, workers: Optional[ImageWorkers] = None) -> None:
        self.limits = Limits(config.limits)
        self.board = JobBoard(port, self.limits, Engine(config), llm=llm, workers=workers or ImageWorkers(),
                              after_success=self.save_usage)
        self._usage_file = usage_file
        self._chat_styles: dict[str, str] = {}  # chat → the name of its style preset
        self._saving = asyncio.Lock()

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
        """Restore the daily usage counters and the chats' styles saved by the last run."""
        if self._usage_file is None:
            return
        try:
            data = json.loads(await asyncio.to_thread(self._usage_file.read_text, encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("daily usage counters not restored: %s", exc)
            return
        self.limits.restore(data)
        self._chat_styles = _restored_styles(data.get(CHAT_STYLES_KEY) if isinstance(data, dict) else None)

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
        """Write the usage counters and the chats' styles; one writer at a time, replaced whole."""
        if self._usage_file is None:
            return
        path = self._usage_file
        data = {**self.limits.snapshot(),
                CHAT_STYLES_KEY: {"version": CHAT_STYLES_VERSION, "chats": dict(self._chat_styles)}}
        async with self._saving:
            try:
                await asyncio.to_thread(_write_whole, path, json.dumps(data, ensure_ascii=False))
            except OSError as exc:
                log.warning("daily usage counters not saved: %s", exc)

    # --- requests -----------------------------------------------------------------------------------

    async def submit(self, who: Who, job: PromptInput, *, origin: str = "tool", use_llm: bool = True,
                     is_admin: bool = False) -> Submission:
        """A drawing request (the LLM's tool, /draw, /selfie): acknowledged at once, drawn in the background.

        The job draws with the style preset its text names ("用水彩风格画…"), else the chat's."""
        if job.style is None:
            style = style_for_request(self.config, job.request_text, self._chat_styles.get(who.chat_id, ""))
            job = dataclasses.replace(job, style=style) if style is not None else job
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
        """/pic <sub> [argument] — `sub` is everything after "/pic" ("again 2", "style 水彩"): status,
        again [N], history, prompt [N], style [名字|off], styles; anything else: help. Answers in the chat."""
        sub, _, argument = " ".join(sub.split()).partition(" ")
        sub, argument = sub.lower(), argument.strip()
        sub = _SUBCOMMANDS.get(sub, sub)
        if sub == "status":
            from ..hub.zero_gpu_report import chat_lines  # ZeroGPU seconds left, with a token

            zero_gpu = await chat_lines(self.board.engine.backends)
            await self.say(who.chat_id, "\n".join([self.status_text(who), *zero_gpu]))
        elif sub == "again":
            await self._again(who, argument, is_admin)
        elif sub == "history":
            await self.say(who.chat_id, self.history_text(who.chat_id))
        elif sub == "prompt":
            await self._show_prompt(who, argument)
        elif sub == "style":
            await self._style(who, argument)
        elif sub == "styles":
            presets = [(name, preset.description, preset.aliases) for name, preset in self.config.styles.items()]
            await self.say(who.chat_id, styles_text(presets, self._chat_styles.get(who.chat_id, "")))
        else:
            await self.say(who.chat_id, HELP)

    async def _again(self, who: Who, argument: str, is_admin: bool) -> None:
        drawing = await self._numbered(who, argument)
        if drawing is None:
            return
        previous = drawing.image_prompt
        job = PromptInput(request_text=previous.prompt, selfie=previous.selfie)
        await self.board.submit(DrawOrder(who, job, reuse=previous, is_admin=is_admin, origin="again"))

    async def _numbered(self, who: Who, argument: str):
        """The chat's drawing numbered in `argument` (1 = the last), or None after saying why not."""
        number = _number(argument)
        if number is None:
            await self.say(who.chat_id, BAD_NUMBER)
            return None
        drawing = self.board.history.get(who.chat_id, number)
        if drawing is None:
            await self.say(who.chat_id, no_such_drawing(number, len(self.board.history.recent(who.chat_id))))
        return drawing

    def history_text(self, chat_id: str) -> str:
        return history_text([(time.strftime("%H:%M", time.localtime(d.at)), d.backend, d.seed, d.image_prompt.preset,
                              d.image_prompt.prompt) for d in self.board.history.recent(chat_id)])

    async def _show_prompt(self, who: Who, argument: str) -> None:
        drawing = await self._numbered(who, argument)
        if drawing is None:
            return
        drawn = drawing.image_prompt
        await self.say(who.chat_id, prompt_text(drawn.prompt, drawn.negative_prompt, drawn.aspect, drawing.backend,
                                                drawing.seed, drawn.preset))

    def chat_style(self, chat_id: str) -> str:
        """The name of the chat's style preset ("" when none is set)."""
        return self._chat_styles.get(chat_id, "")

    async def set_chat_style(self, chat_id: str, name: str) -> None:
        """Set (a preset's name) or clear ("") the chat's style, and save it."""
        if name:
            self._chat_styles.pop(chat_id, None)
            self._chat_styles[chat_id] = name  # newest last: the oldest are dropped past the bound
            while len(self._chat_styles) > MAX_SAVED_STYLES:
                del self._chat_styles[next(iter(self._chat_styles))]
        else:
            self._chat_styles.pop(chat_id, None)
        await self.save_usage()

    async def _style(self, who: Who, argument: str) -> None:
        chat, current = who.chat_id, self.chat_style(who.chat_id)
        if not argument:
            if not current:
                await self.say(chat, NO_STYLE_SET if self.config.styles else NO_STYLES)
            else:
                await self.say(chat, current_style(current, preset_name(self.config, current) is not None))
            return
        if argument.lower() in OFF_WORDS:
            await self.set_chat_style(chat, "")
            await self.say(chat, STYLE_CLEARED)
            return
        found = preset_name(self.config, argument) or preset_name(self.config, _STYLE_WORD.sub("", argument))
        if found is None:
            await self.say(chat, unknown_style(argument[:MAX_NAME], list(self.config.styles)))
            return
        await self.set_chat_style(chat, found)
        await self.say(chat, style_set(found))

    def status_text(self, who: Who) -> str:
        board, usage = self.board, self.limits.usage(who)
        quota = quota_line(usage.user_left, usage.group_left, usage.cooldown_left,
                           user_known=bool(who.user_id), in_group=bool(who.group_id))
        lines = [status.user_line() for status in board.engine.chain.status()]
        return status_text(lines, board.running, board.pending, board.chat_pending(who.chat_id), quota)

    async def say(self, chat_id: str, text: str) -> None:
        """Send a text; a host failure is logged, never raised."""
        await self.board.say(chat_id, text)


def _number(argument: str) -> Optional[int]:
    """The drawing number of /pic again N and /pic prompt N: 1 when not given, None when not a number."""
    if not argument:
        return 1
    word = argument.split()[0]
    return int(word) if word.isdigit() and len(word) <= 4 else None


def _restored_styles(saved: Any) -> dict[str, str]:
    """The chats' styles from the usage file; an old file (no key), another version or junk gives none."""
    if not isinstance(saved, dict) or saved.get("version") != CHAT_STYLES_VERSION:
        return {}
    chats = saved.get("chats")
    if not isinstance(chats, dict):
        return {}
    styles = {chat: name for chat, name in chats.items()
              if isinstance(chat, str) and isinstance(name, str) and 0 < len(name) <= MAX_NAME}
    return dict(list(styles.items())[-MAX_SAVED_STYLES:])


def _write_whole(path: Path, text: str) -> None:
    """Write a new file beside `path` and put it in place, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
