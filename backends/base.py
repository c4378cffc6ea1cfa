"""The one backend interface: request and result types, progress events, and the error taxonomy.

Callers catch the errors defined here and nothing else; each backend translates its protocol's
failures into them at its edge. Every error carries a log detail (secrets redacted) and a short
Chinese sentence that is safe to show in a group chat.
"""

from __future__ import annotations

import abc
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional

from ..reasons import one_line
from ..redaction import redact

# --- request / result -------------------------------------------------------------------------

ASPECTS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "3:2": (3, 2),
    "2:3": (2, 3),
    "16:9": (16, 9),
    "9:16": (9, 16),
    "21:9": (21, 9),
    "9:21": (9, 21),
}
DEFAULT_PIXELS = 1024 * 1024


def parse_aspect(text: str) -> float:
    """'16:9' (or '16x9', '1.5') → width / height; ValueError on anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:[:x×/]\s*(\d+(?:\.\d+)?))?\s*", text or "")
    if not match:
        raise ValueError(f"not an aspect ratio: {text!r} (expected e.g. '16:9')")
    width = float(match.group(1))
    height = float(match.group(2) or 1)
    if width <= 0 or height <= 0:
        raise ValueError(f"not an aspect ratio: {text!r} (both sides must be positive)")
    return width / height


@dataclass(frozen=True)
class GenerationRequest:
    """What the user wants drawn; backends map it onto their own parameters."""

    prompt: str
    negative_prompt: str = ""
    aspect: Optional[str] = None  # "16:9"; ignored when width and height are both given
    width: Optional[int] = None
    height: Optional[int] = None
    seed: Optional[int] = None  # None: the backend picks one (and reports it)
    count: int = 1
    reference_images: tuple[bytes, ...] = ()

    def aspect_ratio(self) -> float:
        if self.width and self.height:
            return self.width / self.height
        if self.aspect:
            return parse_aspect(self.aspect)
        return 1.0

    def size(self, pixels: int = DEFAULT_PIXELS, multiple: int = 8) -> tuple[int, int]:
        """Width and height: as given, or derived from the aspect at about `pixels` pixels."""
        if self.width and self.height:
            return self.width, self.height
        ratio = self.aspect_ratio()
        width = math.sqrt(pixels * ratio)
        height = width / ratio
        return _round_to(width, multiple), _round_to(height, multiple)


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


@dataclass
class GeneratedImage:
    """One image as the backend produced it (not yet cropped or fitted for chat)."""

    data: bytes
    mime: str
    backend: str
    seed: Optional[int] = None
    metadata: dict[str, Any] = field(default_factory=dict)


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressEvent:
    """Something worth telling the user or the log while a job runs.

    kind: "backend" (a backend starts working), "queued" (rank/queue_size/eta),
    "started", "step" (step/total), "log" (message from the app, e.g. ZeroGPU), "retry".
    """

    kind: str
    backend: str = ""
    rank: Optional[int] = None
    queue_size: Optional[int] = None
    eta: Optional[float] = None
    step: Optional[int] = None
    total: Optional[int] = None
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    """The progress callback used when the caller passes none."""


# --- numbers a server sent ---------------------------------------------------------------------

# The longest wait any server may ask for (Retry-After, ETA, quota reset): a day.
MAX_SERVER_WAIT = 24 * 3600.0


def server_number(value: Any, *, low: float = 0.0, high: float = MAX_SERVER_WAIT) -> Optional[float]:
    """A number from an upstream answer, clamped to [low, high]; None for anything that is not a
    finite real number (booleans, NaN, text such as "²", nested values). Infinity becomes `high`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64 or not text.isascii():
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    if not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):  # an int too large for a float
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number):
        return None
    return min(high, max(low, number))


def server_count(value: Any, *, high: int = 10**9) -> Optional[int]:
    """A non-negative count (queue rank, step) from an upstream answer, or None."""
    number = server_number(value, low=0, high=high)
    return None if number is None else int(number)


# --- errors -----------------------------------------------------------------------------------
# One taxonomy for every backend. `detail` is for the log (redacted and made one line on construction);
# `user_message` is the Chinese sentence for the chat and never contains upstream text.


class BackendError(Exception):
    """Base class: a backend could not produce an image."""

    kind: ClassVar[str] = "error"
    default_user_message: ClassVar[str] = "画图服务出了点问题，稍后再试试吧。"
    # Set by a backend on a QuotaError that exhausted a quota other backends spend too (see
    # backends/quota_groups.py); None: the failure concerns this backend alone.
    quota_group: Optional[str] = None

    def __init__(
        self,
        detail: str,
        *,
        backend: str = "",
        retry_after: Optional[float] = None,
        outcome_unknown: bool = False,
        user_message: Optional[str] = None,
    ) -> None:
        # Redacted, then made one line and capped (reasons.REASON_LIMIT): any upstream message stays one log line.
        self.detail = one_line(redact(detail))
        self.backend = backend
        # Bounded here, so no server can make a wait (or the sentence that names it) unbounded.
        self.retry_after = server_number(retry_after) if retry_after is not None else None
        self.outcome_unknown = outcome_unknown
        self._user_message = user_message
        super().__init__(self.detail)

    @property
    def user_message(self) -> str:
        return self._user_message or self.default_user_message

    def __str__(self) -> str:
        prefix = f"[{self.backend}] " if self.backend else ""
        return f"{prefix}{self.kind}: {self.detail}"


# Worth retrying on the same backend after a pause.
class TransientError(BackendError):
    """Network trouble, a busy or starting Space, a full queue, a timeout, a 5xx."""

    kind = "transient"
    default_user_message = "画图服务暂时不可用，稍后再试试吧。"

    def __init__(self, detail: str, *, retry_here: bool = True, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        # False: retrying this backend soon is pointless (a rate limit that names no wait); the
        # chain moves on to the next backend at once.
        self.retry_here = retry_here


# Move on to the next backend; this one is out of quota until retry_after.
class QuotaError(BackendError):
    """Free or paid quota exhausted, or rate-limited for a long time."""

    kind = "quota"

    @property
    def user_message(self) -> str:
        if self._user_message:
            return self._user_message
        if self.retry_after and self.retry_after > 0:
            minutes = max(1, math.ceil(self.retry_after / 60))
            return f"免费额度用完了，约 {minutes} 分钟后再试。"
        return "免费额度用完了，晚点再试吧。"


# Stop the whole job: another backend must not be used to get around a refusal.
class ContentRejectedError(BackendError):
    """The backend refused the content (safety filter, NSFW placeholder, moderation)."""

    kind = "rejected"
    default_user_message = "这个画不了，换个内容试试吧。"


# This backend cannot work as configured; fix the config (or the Space changed).
class ConfigurationError(BackendError):
    """Bad URL, wrong endpoint, missing or rejected key, config that does not fit the endpoint."""

    kind = "configuration"
    default_user_message = "画图服务配置有误，请管理员检查一下。"


# The backend answered something we cannot understand.
class ProtocolError(BackendError):
    """Malformed answer: bad JSON, no image in the result, an unexpected stream."""

    kind = "protocol"
    default_user_message = "画图服务返回了看不懂的结果，稍后再试试吧。"


# --- the interface ----------------------------------------------------------------------------


@dataclass
class BackendReport:
    """What `doctor` prints for one backend."""

    name: str
    ok: bool
    summary: str
    lines: list[str] = field(default_factory=list)


class Backend(abc.ABC):
    """An image backend. It takes its httpx client from outside and owns no global state."""

    name: str
    paid: bool = False
    # The quota this backend spends together with others (a ZeroGPU caller: one token, or anonymous); None: its own.
    quota_group: Optional[str] = None
    # Languages the backend's model understands in prompts ("en", "zh").
    prompt_languages: frozenset[str] = frozenset({"en"})

    @abc.abstractmethod
    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback = no_progress
    ) -> list[GeneratedImage]:
        """Produce images or raise a BackendError. Cancellation stops the remote job best effort."""

    @abc.abstractmethod
    async def probe(self) -> BackendReport:
        """Check reachability and configuration without generating anything."""
