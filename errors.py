"""The one error taxonomy. Backends raise it at their edge; the prompt step and imaging raise it too,
so a caller catches these and nothing else.

Every error carries `detail` for the log (secrets redacted, one line) and `user_message`, a short
Chinese sentence safe to show in a group chat (from `phrases.py`, never upstream text). The family
decides what the fallback chain does next.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional

from .reasons import one_line
from .redaction import redact
from .server_numbers import server_number
from .phrases import (CONTENT_REJECTED, DEADLINE, ERROR, IMAGING_FAILED, MISCONFIGURED, NOT_UNDERSTOOD, UNAVAILABLE, UNSAFE_IMAGE_ADDRESS, quota_used_up)
from .phrases import NO_REFERENCE_BACKEND, REFERENCE_UNUSABLE

# One taxonomy for every backend. `detail` is for the log (redacted and made one line on construction);
# `user_message` is the Chinese sentence for the chat and never contains upstream text.


class BackendError(Exception):
    """Base class: a backend could not produce an image."""

    kind: ClassVar[str] = "error"
    default_user_message: ClassVar[str] = ERROR
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
    default_user_message = UNAVAILABLE

    def __init__(self, detail: str, *, retry_here: bool = True, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        # False: retrying this backend soon is pointless (a rate limit that names no wait); the
        # chain moves on to the next backend at once.
        self.retry_here = retry_here


class DeadlineReached(TransientError):
    """The job's one deadline (`[chain] deadline`) passed: the prompt, a backend or the imaging took too long."""

    kind = "deadline"
    default_user_message = DEADLINE


# Move on to the next backend; this one is out of quota until retry_after.
class QuotaError(BackendError):
    """Free or paid quota exhausted, or rate-limited for a long time."""

    kind = "quota"

    @property
    def user_message(self) -> str:
        return self._user_message or quota_used_up(self.retry_after)


# Stop the whole job: another backend must not be used to get around a refusal.
class ContentRejectedError(BackendError):
    """The backend refused the content (safety filter, NSFW placeholder, moderation)."""

    kind = "rejected"
    default_user_message = CONTENT_REJECTED


# This backend cannot work as configured; fix the config (or the Space changed).
class ConfigurationError(BackendError):
    """Bad URL, wrong endpoint, missing or rejected key, config that does not fit the endpoint."""

    kind = "configuration"
    default_user_message = MISCONFIGURED


# The backend answered something we cannot understand.
class ProtocolError(BackendError):
    """Malformed answer: bad JSON, no image in the result, an unexpected stream."""

    kind = "protocol"
    default_user_message = NOT_UNDERSTOOD


# --- raised outside the backends --------------------------------------------------------------


# The job stops before any backend runs.
class PromptRefused(ContentRejectedError):
    """A forbidden word, or the prompt LLM refused. `user_message` is the polite sentence for the chat."""

    def __init__(self, detail: str, *, user_message: str) -> None:
        super().__init__(detail, backend="prompt", user_message=user_message)


# A bad or unsafe image from a backend is that backend's failure: the chain moves on.
class ImagingError(ProtocolError):
    """The image cannot be made ready for chat: corrupt or truncated, too many pixels, cannot fit the budget."""

    default_user_message = IMAGING_FAILED


class UnsafeURLError(ProtocolError):
    """A download was refused: not http(s), or the host is loopback/private/link-local/metadata, or too many redirects."""

    default_user_message = UNSAFE_IMAGE_ADDRESS


# --- reference images -------------------------------------------------------------------------


class ReferenceImageError(ImagingError):
    """An image from the chat cannot be used as a reference: too big, too many pixels, not an image,
    from a refused address, or its download failed. The job stops before any backend runs.

    `reason` names the cause for callers and tests: "too_big", "too_many_pixels", "not_image",
    "unsafe_url", "download_failed", "too_many".
    """

    default_user_message = REFERENCE_UNUSABLE

    def __init__(self, detail: str, *, reason: str, **kwargs: Any) -> None:
        kwargs.setdefault("backend", "reference")
        super().__init__(detail, **kwargs)
        self.reason = reason


# Raised by the chain (never retried on another backend): drawing without the reference would
# ignore what the user asked for.
class ReferenceUnsupported(ConfigurationError):
    """The job has reference images and no enabled backend can take them (or the one asked cannot)."""

    kind = "no-reference-backend"
    default_user_message = NO_REFERENCE_BACKEND
