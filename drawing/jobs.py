"""Chat drawing jobs in the background: admission, duplicate merging, per-chat order, a global
concurrency cap, a hard deadline, honest notices, and an account of how every job ended.

`JobBoard.submit` returns at once (after the acknowledgement is sent); the job itself runs as a
task. Chat output goes through a `ChatPort`, so the board knows nothing of MaiBot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Optional, Protocol

from ..phrases import (CHAT_BUSY, CRASHED, NOT_DELIVERED, SHUTTING_DOWN, acknowledgement, images_note,
                       space_queue_notice)
from ..backends.base import ProgressEvent
from ..errors import BackendError, DeadlineReached
from ..imaging.workers import ImageWorkers
from .admission import Limits, Refusal, Ticket, Who
from .engine import Engine
from .history import PromptHistory
from .pipeline import Drawn, run_job
from ..prompt.engine import requested_count
from ..prompt.types import ChatLLM, ImagePrompt, PromptInput
from ..redaction import redact

log = logging.getLogger(__name__)

OUTCOMES = ("succeeded", "failed", "timed_out", "undelivered", "crashed", "cancelled")


class ChatPort(Protocol):
    """How the board talks to a chat. A port may also offer
    `async send_images(chat_id, images_base64: list[str]) -> bool`: several images in ONE message
    (used for a request of several images; without it, or when it fails, they go one by one)."""

    async def send_text(self, chat_id: str, text: str) -> bool: ...

    async def send_image(self, chat_id: str, image_base64: str) -> bool: ...


@dataclass(frozen=True)
class DrawOrder:
    """One request from the chat: who asked and what to draw."""

    who: Who
    job: PromptInput
    use_llm: bool = True
    reuse: Optional[ImagePrompt] = None  # /pic again: draw this prompt again with a new seed
    is_admin: bool = False
    origin: str = "tool"  # tool / draw / selfie / again, for the log


@dataclass(frozen=True)
class Submission:
    """What became of a request; `detail` is for the planner LLM and the log, not the chat."""

    status: str  # started, queued, merged, refused, busy, closed
    detail: str

    @property
    def accepted(self) -> bool:
        return self.status in ("started", "queued")


@dataclass
class _ChatLine:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO: one job at a time per chat
    pending: int = 0  # running + waiting
    busy_notice_at: float = float("-inf")


class _Slots:
    """A semaphore whose size can change with the config."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.used < self.capacity)
            self.used += 1

    async def release(self) -> None:
        async with self._changed:
            self.used -= 1
            self._changed.notify_all()

    async def resize(self, capacity: int) -> None:
        async with self._changed:
            self.capacity = capacity
            self._changed.notify_all()


class JobBoard:
    def __init__(self, port: ChatPort, limits: Limits, engine: Engine, *, llm: Optional[ChatLLM],
                 workers: Optional[ImageWorkers] = None, clock: Callable[[], float] = time.monotonic,
                 after_success: Optional[Callable[[], Awaitable[None]]] = None) -> None:
        self.port = port
        self.limits = limits
        self.engine = engine
        self.llm = llm
        self.workers = workers or ImageWorkers()
        self.outcomes: Counter[str] = Counter()  # submissions by status and jobs by outcome
        self._clock = clock
        self._after_success = after_success  # e.g. persist the usage counters
        self._slots = _Slots(engine.config.limits.max_concurrent_jobs)
        self._chats: dict[str, _ChatLine] = {}
        self._recent: dict[tuple[str, str], tuple[float, asyncio.Task]] = {}  # tool calls in the merge window
        self.history = PromptHistory()  # /pic history, again N, prompt
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    # --- state for /pic status and again -------------------------------------------------------

    @property
    def running(self) -> int:
        return self._slots.used

    @property
    def pending(self) -> int:
        return sum(line.pending for line in self._chats.values())

    def chat_pending(self, chat_id: str) -> int:
        line = self._chats.get(chat_id)
        return line.pending if line else 0

    def last_prompt(self, chat_id: str) -> Optional[ImagePrompt]:
        last = self.history.get(chat_id)
        return last.image_prompt if last else None

    async def use_engine(self, engine: Engine) -> None:
        """Swap in the engine of a new config; running jobs finish on the old one."""
        old, self.engine = self.engine, engine
        await self._slots.resize(engine.config.limits.max_concurrent_jobs)
        await old.retire()

    # --- submitting ------------------------------------------------------------------------------

    async def submit(self, order: DrawOrder) -> Submission:
        submission = await self._admit(order)
        self.outcomes[submission.status] += 1
        log.info("%s request in %s from %s: %s (%s)", order.origin, order.who.chat_id, order.who.user_id or "?",
                 submission.status, submission.detail)
        return submission

    async def _admit(self, order: DrawOrder) -> Submission:
        who, jobs = order.who, self.engine.config.jobs
        if self._closed:
            return Submission("closed", "plugin is unloading")
        now = self._clock()
        # The planner may decide twice on one message; commands are explicit and never merged.
        key = (who.chat_id, who.user_id) if order.origin == "tool" else None
        recent = self._recent.get(key) if key else None
        if recent and now - recent[0] < jobs.merge_window and _same_job_alive(recent[1]):
            return Submission("merged", "这张图已经在画了，画好会自动发出，不用再调用。")

        # Quotas count images: reserve the number the request names (capped); the LLM's reading may
        # grow it before drawing (run_job's `allow`), and only what reached the chat is charged.
        cap = self.engine.config.generation.max_images
        requested = order.reuse.count if order.reuse else (requested_count(order.job) or 1)
        admission = self.limits.admit(who, is_admin=order.is_admin, count=min(requested, cap))
        if isinstance(admission, Refusal):
            if admission.notify:
                await self.say(who.chat_id, admission.user_message())
            return Submission("refused", f"没有画（{admission.reason}），已经告诉用户原因，不用再回复。")

        line = self._chats.setdefault(who.chat_id, _ChatLine())
        if line.pending > self.engine.config.limits.max_pending_per_chat:  # one drawing + N waiting
            admission.release()
            if now - line.busy_notice_at >= self.engine.config.limits.notice_window:
                line.busy_notice_at = now
                await self.say(who.chat_id, CHAT_BUSY)
            return Submission("busy", "这个聊天排队的图太多，没有接这一张，已经告诉用户。")

        ahead = line.pending
        line.pending += 1
        acknowledged = asyncio.Event()  # the job says nothing before the acknowledgement is out
        task = asyncio.ensure_future(self._run(order, admission, line, acknowledged))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._prune_recent(now)
        if key:  # before the first await, so a parallel duplicate already merges
            self._recent[key] = (now, task)
        ack = jobs.selfie_ack_message if order.job.selfie else jobs.ack_message
        ack += images_note(admission.granted, admission.asked, requested, cap)
        try:
            await self.say(who.chat_id, acknowledgement(ack, ahead))
        finally:
            acknowledged.set()
        status = "queued" if ahead else "started"
        return Submission(status, "已经开始画了，图片画好会自动发到聊天里；不要再调用，也不用再说在画了。")

    # --- running ---------------------------------------------------------------------------------

    async def _run(self, order: DrawOrder, ticket: Ticket, line: _ChatLine, acknowledged: asyncio.Event) -> str:
        chat_id, outcome, started = order.who.chat_id, "crashed", self._clock()
        ending = _Ending()
        try:
            await acknowledged.wait()
            async with line.lock:
                await self._slots.acquire()
                engine = self.engine.acquire()
                try:
                    outcome = await self._draw_and_send(order, engine, ending, ticket)
                finally:
                    await engine.release()
                    await self._slots.release()
        except asyncio.CancelledError:
            outcome = "cancelled"
            if acknowledged.is_set() and not ending.said:
                # Every acknowledged job ends in exactly one message, an unload included.
                ending.said = True
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(self.say(chat_id, SHUTTING_DOWN), _LAST_WORD_TIMEOUT)
            raise
        finally:
            if outcome == "succeeded":
                ticket.commit(ending.delivered)
            else:
                ticket.release()
            line.pending -= 1
            if line.pending == 0 and self._chats.get(chat_id) is line:
                del self._chats[chat_id]
            self.outcomes[outcome] += 1
            log.info("%s job in %s: %s after %.1f s", order.origin, chat_id, outcome, self._clock() - started)
        if outcome == "succeeded" and self._after_success is not None:
            await self._after_success()
        return outcome

    async def _draw_and_send(self, order: DrawOrder, engine: Engine, ending: Optional["_Ending"] = None,
                             ticket: Optional[Ticket] = None) -> str:
        chat_id = order.who.chat_id
        ending = ending or _Ending()
        try:
            drawn = await self._draw(order, engine, ticket)
        except DeadlineReached as exc:
            log.warning("job in %s passed its %g s deadline: %s", chat_id, engine.config.chain.deadline, exc)
            ending.said = True
            await self.say(chat_id, exc.user_message)
            return "timed_out"
        except BackendError as exc:  # includes PromptRefused
            log.warning("job in %s failed: %s", chat_id, exc)
            ending.said = True
            await self.say(chat_id, exc.user_message)
            return "failed"
        except Exception as exc:  # a bug must cost one job, never the board
            log.error("job in %s crashed: %s: %s", chat_id, type(exc).__name__, redact(str(exc)))
            log.debug("traceback", exc_info=True)
            ending.said = True
            await self.say(chat_id, CRASHED)
            return "crashed"
        ending.said = True  # the image(s) (or the not-delivered sentence) is this job's one message
        ending.delivered = await self._send_images(chat_id, [drawn.prepared.base64, *(m.base64 for m in drawn.more)])
        if not ending.delivered:
            await self.say(chat_id, NOT_DELIVERED)
            return "undelivered"
        asked = ticket.granted if ticket is not None else drawn.count
        if ending.delivered < asked:  # the chain ended early: only these are charged (the log says why)
            log.info("%d of %d images reached %s; %d charged", ending.delivered, asked, chat_id, ending.delivered)
        self.history.record(chat_id, drawn.image_prompt, drawn.image.backend, drawn.image.seed)
        log.info("sent %d image(s), %s %dx%d, from %s (prompt: %s)", ending.delivered, drawn.prepared.mime,
                 drawn.prepared.width, drawn.prepared.height, drawn.image.backend, drawn.image_prompt.prompt[:200])
        return "succeeded"

    async def _draw(self, order: DrawOrder, engine: Engine, ticket: Optional[Ticket] = None) -> Drawn:
        seed = random.randrange(2**31) if order.reuse else None
        cap = engine.config.generation.max_images
        allow = (lambda wanted: ticket.grow(min(wanted, cap))) if ticket is not None else None
        return await run_job(order.job, engine, self.workers, llm=self.llm if order.use_llm else None,
                             reuse=order.reuse, seed=seed, progress=_QueueNotice(self, order.who.chat_id, engine),
                             clock=self._clock, allow=allow)

    async def _send_images(self, chat_id: str, images: list[str]) -> int:
        """Send the images, together when the port can (`send_images`), else one by one in order;
        how many reached the chat. A host failure is logged, never raised."""
        together = getattr(self.port, "send_images", None) if len(images) > 1 else None
        if together is not None:
            try:
                if await together(chat_id, images):
                    return len(images)
                log.warning("the host did not send %d images as one message to %s; sending them one by one",
                            len(images), chat_id)
            except Exception as exc:
                log.warning("sending %d images as one message to %s failed (%s); sending them one by one",
                            len(images), chat_id, redact(str(exc)))
        delivered = 0
        for image in images:
            try:
                sent = await self.port.send_image(chat_id, image)
            except Exception as exc:
                log.error("sending an image to %s failed: %s", chat_id, redact(str(exc)))
                sent = False
            delivered += 1 if sent else 0
        return delivered

    # --- chat output -----------------------------------------------------------------------------

    async def say(self, chat_id: str, text: str) -> None:
        """Send a text; a host failure is logged, never raised."""
        try:
            if not await self.port.send_text(chat_id, text):
                log.warning("the host did not send a text to %s", chat_id)
        except Exception as exc:  # the host refused (capability, timeout): log and go on
            log.warning("sending a text to %s failed: %s", chat_id, redact(str(exc)))

    def say_later(self, chat_id: str, text: str) -> None:
        """Send from synchronous code (progress callbacks) without blocking it."""
        task = asyncio.ensure_future(self.say(chat_id, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _prune_recent(self, now: float) -> None:
        window = self.engine.config.jobs.merge_window
        for key in [k for k, (at, _) in self._recent.items() if now - at >= window]:
            del self._recent[key]

    async def close(self, timeout: float = 10.0) -> None:
        """Cancel every job (backends cancel their server-side jobs) and wait for them to end."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


@dataclass
class _Ending:
    """Whether a job's one closing message (image, error or shutdown sentence) is on its way."""

    said: bool = False
    delivered: int = 0  # images that reached the chat (what the quotas are charged)


_LAST_WORD_TIMEOUT = 3.0


class _QueueNotice:
    """Tells the chat once when the image service's queue is long."""

    def __init__(self, board: JobBoard, chat_id: str, engine: Engine) -> None:
        self._board, self._chat_id, self._jobs = board, chat_id, engine.config.jobs
        self._told = False

    def __call__(self, event: ProgressEvent) -> None:
        if self._told or event.kind != "queued":
            return
        rank, eta = event.rank or 0, event.eta or 0.0
        if rank >= self._jobs.queue_notice_rank or eta > self._jobs.queue_notice_eta:
            self._told = True
            self._board.say_later(self._chat_id, space_queue_notice(rank, event.eta))


def _same_job_alive(task: asyncio.Task) -> bool:
    """A duplicate merges into a job that is still running or that succeeded."""
    if not task.done():
        return True
    return not task.cancelled() and task.exception() is None and task.result() == "succeeded"

