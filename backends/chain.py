"""The fallback chain: backends tried in config order under one job deadline, with retries,
a cost-safe rule for paid requests, and a per-backend circuit breaker.

- transient failure → retry the same backend with exponential backoff (or the server's
  Retry-After), within `max_attempts` and the deadline;
- quota / configuration / protocol failure → the next backend at once;
- content rejected → stop: another backend must not be used to get around a safety refusal;
- a paid request whose outcome is unknown (sent, then the answer was lost) is never resent, and
  no other paid backend is tried for the same job: the user may already have been charged;
- several images (`count`): the backend that drew first is asked again with new seeds until there
  are enough (each call a new request whose outcome was known before); a later failure ends the
  job with the images delivered so far;
- reference images: backends that cannot take them are skipped; when none can, the job ends with
  ReferenceUnsupported (one polite sentence) instead of a picture that ignores them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional, Sequence, TypeVar

from ..config.chain import ChainSection
from ..redaction import redacted_traceback
from .base import Backend, GeneratedImage, GenerationRequest, ProgressCallback, ProgressEvent, no_progress
from ..errors import (BackendError, ConfigurationError, ContentRejectedError, DeadlineReached, ProtocolError, QuotaError,
                      ReferenceUnsupported, TransientError)
from .quota_groups import SharedQuotas
from ..phrases import (NO_BACKEND, OUTCOME_UNKNOWN, all_paused, backend_paused, backend_ready,
                       backend_skipped_for_references, images_partial, images_so_far)

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_COOLDOWN = 24 * 3600.0
# Seeds the chain picks for further images stay below 2**31: many apps cap their seed input there.
MAX_CHAIN_SEED = 2**31 - 1


@dataclass
class _BreakerState:
    consecutive_failures: int = 0
    open_until: float = 0.0
    open_reason: str = ""
    last_error: str = ""


@dataclass(frozen=True)
class BackendStatus:
    """One backend as doctor and `/pic status` show it. `last_error` is redacted log text."""

    name: str
    paid: bool
    available: bool
    consecutive_failures: int
    cooldown_remaining: float
    open_reason: str
    last_error: str

    def describe(self) -> str:
        """One English line for doctor and the log."""
        if self.available:
            state = "ready" if not self.consecutive_failures else f"ready ({self.consecutive_failures} recent failures)"
        else:
            state = f"skipped for {math.ceil(self.cooldown_remaining)}s more: {self.open_reason}"
        last = f"; last error: {self.last_error}" if self.last_error else ""
        return f"{self.name}{' (paid)' if self.paid else ''}: {state}{last}"

    def user_line(self) -> str:
        """One Chinese line for the chat: no upstream text."""
        if self.available:
            return backend_ready(self.name, self.consecutive_failures)
        pause = "quota" if self.open_reason.startswith("quota") else \
            "rate" if self.open_reason.startswith("rate") else "failures"
        return backend_paused(self.name, self.cooldown_remaining, pause)


class _DeadlineReached(Exception):
    def __init__(self, error: BackendError) -> None:
        super().__init__(str(error))
        self.error = error


class BackendChain:
    """Holds the backends in order and their breaker state; one per plugin instance or CLI run."""

    def __init__(
        self,
        backends: Sequence[Backend],
        settings: Optional[ChainSection] = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.backends = list(backends)
        self.settings = settings or ChainSection()
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._states = {backend.name: _BreakerState() for backend in self.backends}
        self.shared_quotas = SharedQuotas()

    # --- status -------------------------------------------------------------------------------

    def status(self) -> list[BackendStatus]:
        now = self._clock()
        result = []
        for backend in self.backends:
            state = self._states[backend.name]
            remaining, reason = max(0.0, state.open_until - now), state.open_reason
            shared_wait, shared_reason = self.shared_quotas.paused(backend, now)
            if shared_wait > remaining:
                remaining, reason = shared_wait, shared_reason
            result.append(BackendStatus(backend.name, backend.paid, remaining <= 0, state.consecutive_failures,
                                        remaining, reason if remaining > 0 else "", state.last_error))
        return result

    # --- the job ------------------------------------------------------------------------------

    async def generate(
        self,
        request: GenerationRequest,
        progress: ProgressCallback = no_progress,
        *,
        deadline: Optional[float] = None,
    ) -> list[GeneratedImage]:
        """Images from the first backend that succeeds; raises a BackendError when none did.

        `deadline` is the whole job's budget in seconds (default: `[chain] deadline`). With
        `request.count` > 1 the backend that drew the first image is asked again (new seed) until
        there are enough; a later call that fails ends the job with the images already delivered.
        With required reference images, backends that cannot take them are skipped, and when none
        can, ReferenceUnsupported is raised instead of drawing without them.
        """
        if not self.backends:
            raise ConfigurationError("no backend is enabled", user_message=NO_BACKEND)
        deadline_at = self._clock() + (deadline if deadline is not None else self.settings.deadline)
        errors: list[BackendError] = []
        unknown_paid: Optional[BackendError] = None
        without_references: list[str] = []
        paused = False
        for backend in self.backends:
            state = self._states[backend.name]
            if state.open_until > self._clock():
                log.info("backend %s skipped: %s", backend.name, state.open_reason)
                paused = True
                continue
            shared_wait, shared_reason = self.shared_quotas.paused(backend, self._clock())
            if shared_wait > 0:
                log.info("backend %s skipped for %.0fs more: %s", backend.name, shared_wait, shared_reason)
                paused = True
                continue
            if unknown_paid is not None and backend.paid:
                log.info("backend %s skipped: an earlier paid request may have been charged", backend.name)
                continue
            try:
                asked = await self._with_references(backend, request, deadline_at)
                if asked is None:
                    without_references.append(backend.name)
                    self._skip_for_references(backend, progress)
                    continue
                images = await self._run(backend, asked, progress, deadline_at)
            except ReferenceUnsupported as exc:
                # The backend found out itself (e.g. its workflow has no image input): not a failure.
                log.info("backend %s cannot take the reference images: %s", backend.name, exc.detail)
                without_references.append(backend.name)
                self._skip_for_references(backend, progress)
                continue
            except ContentRejectedError as exc:
                log.info("backend %s refused the content: %s", backend.name, exc.detail)
                raise
            except _DeadlineReached as reached:
                self._record_failure(backend, reached.error)
                raise self._final_error([*errors, reached.error], unknown_paid) from None
            except BackendError as exc:
                # The last backend's failure is what the caller reports (CLI line, job log): say it once.
                log.log(logging.INFO if backend is self.backends[-1] else logging.WARNING,
                        "backend %s failed: %s", backend.name, exc)
                self._record_failure(backend, exc)
                self._pause_shared_quota(backend, exc)
                errors.append(exc)
                if exc.outcome_unknown and backend.paid:
                    unknown_paid = exc
                    progress(ProgressEvent("log", backend=backend.name, message=OUTCOME_UNKNOWN))
                continue
            self._states[backend.name] = _BreakerState()
            return await self._the_rest(backend, asked, images, progress, deadline_at)
        if without_references and not errors and not paused and unknown_paid is None:
            raise ReferenceUnsupported(f"no backend takes reference images (skipped: {', '.join(without_references)})")
        raise self._final_error(errors, unknown_paid)

    # --- reference images ---------------------------------------------------------------------

    async def _with_references(self, backend: Backend, request: GenerationRequest,
                               deadline_at: float) -> Optional[GenerationRequest]:
        """The request to send this backend: as it is when the backend takes the references (or there
        are none); without them when they are only a hint; None when it must be skipped."""
        if not request.reference_images:
            return request
        remaining = deadline_at - self._clock()
        if remaining <= 0:
            raise _DeadlineReached(DeadlineReached("job deadline reached before the backend was tried",
                                                   backend=backend.name))
        try:
            takes = await asyncio.wait_for(self._call(backend, backend.takes_references()), remaining)
        except asyncio.TimeoutError:
            raise _DeadlineReached(DeadlineReached("job deadline reached while the backend was looked at",
                                                   backend=backend.name)) from None
        if takes:
            return request
        if request.references_required:
            return None
        log.info("backend %s cannot take reference images; it draws from the text alone", backend.name)
        return dataclasses.replace(request, reference_images=())

    def _skip_for_references(self, backend: Backend, progress: ProgressCallback) -> None:
        log.info("backend %s skipped: it cannot take reference images", backend.name)
        progress(ProgressEvent("log", backend=backend.name, message=backend_skipped_for_references(backend.name)))

    # --- several images -----------------------------------------------------------------------

    async def _the_rest(self, backend: Backend, request: GenerationRequest, images: list[GeneratedImage],
                        progress: ProgressCallback, deadline_at: float) -> list[GeneratedImage]:
        """`request.count` images: the first call's, then further calls to the same backend with new
        seeds (each a new request, whose outcome is known before the next is sent). A call that fails
        ends the job with what was delivered: the images already drawn (maybe paid for) are kept."""
        wanted = max(1, request.count)
        delivered = list(images[:wanted])
        while len(delivered) < wanted:
            progress(ProgressEvent("log", backend=backend.name, message=images_so_far(len(delivered), wanted)))
            follow = dataclasses.replace(request, count=wanted - len(delivered),
                                         seed=next_seed(request.seed, len(delivered)))
            try:
                more = await self._run(backend, follow, progress, deadline_at)
            except _DeadlineReached as reached:
                self._partial(backend, delivered, wanted, reached.error, progress)
                break
            except BackendError as exc:
                if not isinstance(exc, (ContentRejectedError, ReferenceUnsupported)):
                    self._record_failure(backend, exc)
                    self._pause_shared_quota(backend, exc)
                self._partial(backend, delivered, wanted, exc, progress)
                break
            delivered.extend(more[:wanted - len(delivered)])
        return delivered

    def _partial(self, backend: Backend, delivered: list[GeneratedImage], wanted: int, error: BackendError,
                 progress: ProgressCallback) -> None:
        log.warning("backend %s: image %d of %d failed (%s); the job ends with the %d delivered",
                    backend.name, len(delivered) + 1, wanted, error, len(delivered))
        progress(ProgressEvent("log", backend=backend.name,
                               message=images_partial(len(delivered), wanted)))

    async def _run(self, backend: Backend, request: GenerationRequest, progress: ProgressCallback,
                   deadline_at: float) -> list[GeneratedImage]:
        """One backend's turn: retries of transient failures within max_attempts and the deadline."""
        settings = self.settings
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline_at - self._clock()
            if remaining <= 0:
                raise _DeadlineReached(DeadlineReached("job deadline reached before the backend was tried",
                                                       backend=backend.name))
            progress(ProgressEvent("backend", backend=backend.name,
                                   message=f"{backend.name} 正在画图" + (f"（第 {attempt} 次尝试）" if attempt > 1 else "")))
            try:
                return await asyncio.wait_for(self._generate(backend, request, progress), remaining)
            except asyncio.TimeoutError:
                raise _DeadlineReached(DeadlineReached(
                    f"job deadline reached while the backend was working (attempt {attempt})", backend=backend.name,
                    outcome_unknown=True, user_message=OUTCOME_UNKNOWN if backend.paid else None,
                )) from None
            except TransientError as exc:
                if exc.outcome_unknown and backend.paid:
                    raise
                if attempt >= settings.max_attempts or not exc.retry_here:
                    raise
                if exc.retry_after is not None and exc.retry_after > settings.max_retry_after:
                    raise
                pause = self._pause(attempt, exc.retry_after)
                if self._clock() + pause >= deadline_at:
                    raise
                log.info("backend %s: %s; retry %d in %.1fs", backend.name, exc, attempt + 1, pause)
                progress(ProgressEvent("retry", backend=backend.name, eta=pause,
                                       message=f"{backend.name} 暂时不可用，{pause:.0f} 秒后重试"))
                await self._sleep(pause)

    async def _generate(self, backend: Backend, request: GenerationRequest,
                        progress: ProgressCallback) -> list[GeneratedImage]:
        images = await self._call(backend, backend.generate(request, progress))
        if not images:
            raise ProtocolError("the backend returned no image", backend=backend.name)
        return images

    async def _call(self, backend: Backend, work: Awaitable[T]) -> T:
        """A backend's coroutine; an exception outside the taxonomy (a bug, or an answer its edge did
        not map) is that backend's failure, logged with its traceback, never the whole job's."""
        try:
            return await work
        except BackendError:
            raise
        except asyncio.TimeoutError as exc:
            # Not the job's deadline (that cancels this coroutine, and wait_for raises outside it):
            # a wait inside the backend that its edge did not map. Its failure, never the whole job's.
            log.warning("backend %s let a timeout escape (treated as its failure):\n%s", backend.name,
                        redacted_traceback(exc))
            raise TransientError("the backend timed out internally (unmapped TimeoutError)", backend=backend.name,
                                 outcome_unknown=True) from None
        except Exception as exc:  # noqa: BLE001 - one backend's crash must not stop the chain
            log.error("backend %s crashed (treated as its failure):\n%s", backend.name, redacted_traceback(exc))
            raise ProtocolError(f"unexpected {type(exc).__name__}: {str(exc)[:300]}", backend=backend.name,
                                outcome_unknown=backend.paid) from None

    def _pause(self, attempt: int, retry_after: Optional[float]) -> float:
        if retry_after is not None:
            return retry_after
        base = min(self.settings.backoff_max, self.settings.backoff_initial * 2 ** (attempt - 1))
        return min(self.settings.backoff_max, base * (0.75 + 0.5 * self._jitter()))

    # --- breaker ------------------------------------------------------------------------------

    def _record_failure(self, backend: Backend, exc: BackendError) -> None:
        settings = self.settings
        state = self._states[backend.name]
        state.consecutive_failures += 1
        state.last_error = str(exc)
        now = self._clock()
        cooldown, reason = 0.0, ""
        if isinstance(exc, QuotaError):
            cooldown = exc.retry_after if exc.retry_after else settings.quota_cooldown
            reason = "quota exhausted" + (" (server gave retry-after)" if exc.retry_after else "")
        elif isinstance(exc, TransientError) and exc.retry_after and exc.retry_after > settings.max_retry_after:
            cooldown, reason = exc.retry_after, "rate limited: server asked to wait"
        if state.consecutive_failures >= settings.breaker_failures and settings.breaker_cooldown > cooldown:
            cooldown = settings.breaker_cooldown
            reason = f"{state.consecutive_failures} consecutive failures (last: {exc.kind})"
        if cooldown > 0:
            state.open_until = max(state.open_until, now + min(cooldown, MAX_COOLDOWN))
            state.open_reason = reason
            log.warning("backend %s paused for %.0fs: %s", backend.name, min(cooldown, MAX_COOLDOWN), reason)

    def _pause_shared_quota(self, backend: Backend, exc: BackendError) -> None:
        wait = self.shared_quotas.record(backend, exc, self._clock(), self.settings.quota_cooldown)
        if wait is not None:
            others = [b.name for b in self.backends if b is not backend and b.quota_group == backend.quota_group]
            log.warning("shared quota exhausted (reported by %s): %s paused for %.0fs", backend.name,
                        ", ".join([backend.name, *others]), wait)

    def _final_error(self, errors: list[BackendError], unknown_paid: Optional[BackendError]) -> BackendError:
        """The error that explains the failed job best (its user_message goes to the chat)."""
        if unknown_paid is not None:
            return TransientError(unknown_paid.detail, backend=unknown_paid.backend, outcome_unknown=True,
                                  user_message=_own_message(unknown_paid) or OUTCOME_UNKNOWN)
        if errors:
            quota = [error for error in errors if isinstance(error, QuotaError)]
            if len(quota) == len(errors):
                waits = [error.retry_after for error in quota if error.retry_after]
                return QuotaError(quota[-1].detail, backend=quota[-1].backend,
                                  retry_after=min(waits) if waits else None)
            return errors[-1]
        waits = [status.cooldown_remaining for status in self.status() if not status.available]
        wait = min(waits) if waits else 0.0
        return TransientError(f"every backend is paused by its circuit breaker (next in {wait:.0f}s)",
                              retry_after=wait, user_message=all_paused(wait))


def _own_message(error: BackendError) -> Optional[str]:
    """The error's message if the backend wrote a specific one, else None."""
    return error.user_message if error.user_message != type(error).default_user_message else None


def next_seed(seed: Optional[int], delivered: int) -> int:
    """The seed of a further request after `delivered` images: the given seed plus that many (a
    reproducible series that does not repeat a batch's seed + 1, + 2, …), else a fresh random one
    (None would let some apps repeat their fixed default)."""
    if seed is not None and seed >= 0:
        return (seed + delivered) % (MAX_CHAIN_SEED + 1)
    return random.randint(0, MAX_CHAIN_SEED)
