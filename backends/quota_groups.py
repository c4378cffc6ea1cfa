"""Quotas that several backends spend together, and the pauses they impose on all of them.

ZeroGPU bills the caller, not the Space: every ZeroGPU Space called with one token spends that
token's daily GPU time, and every Space called without a token spends the anonymous (per-IP) time.
When one of them reports the quota exhausted ("… Try again in H:MM:SS"), the others on the same
quota would fail the same way, so they are paused together until the reset; backends on other
quotas (another token, the user's own GPU, paid APIs, self-hosted servers) are untouched.

The chain consults one `SharedQuotas` per chain; a backend declares its group (`Backend.quota_group`)
and marks the errors that exhausted it (`BackendError.quota_group`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

from .base import Backend
from ..errors import BackendError, QuotaError

ZERO_GPU_PREFIX = "zerogpu:"
ANONYMOUS = "anonymous"


def zero_gpu_group(token: str) -> str:
    """The group of ZeroGPU calls made with `token` ("" = anonymous). Only a short one-way fingerprint
    of the token is kept, so the group name can appear in logs."""
    if not token:
        return ZERO_GPU_PREFIX + ANONYMOUS
    return ZERO_GPU_PREFIX + "token-" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:10]


def describe_group(group: str) -> str:
    """English words for a group, for the log and doctor."""
    if group == ZERO_GPU_PREFIX + ANONYMOUS:
        return "the anonymous ZeroGPU quota"
    if group.startswith(ZERO_GPU_PREFIX):
        return f"the ZeroGPU quota of token {group[len(ZERO_GPU_PREFIX):]}"
    return f"quota {group}"


@dataclass
class _Pause:
    until: float
    reason: str


class SharedQuotas:
    """Which shared quotas are exhausted, and until when (times on the chain's clock)."""

    def __init__(self) -> None:
        self._pauses: dict[str, _Pause] = {}

    def record(self, backend: Backend, error: BackendError, now: float, fallback_wait: float) -> Optional[float]:
        """Pause the error's group when it exhausted a shared quota; returns the pause in seconds, else None."""
        group = error.quota_group
        if not isinstance(error, QuotaError) or not group or group != backend.quota_group:
            return None
        wait = error.retry_after if error.retry_after and error.retry_after > 0 else fallback_wait
        until = now + wait
        current = self._pauses.get(group)
        if current is None or current.until < until:
            self._pauses[group] = _Pause(until, f"quota exhausted: {describe_group(group)} (reported by {backend.name})")
        return wait

    def paused(self, backend: Backend, now: float) -> tuple[float, str]:
        """Seconds the backend must still wait because of its group, and why (0 and "" when free)."""
        group = backend.quota_group
        pause = self._pauses.get(group) if group else None
        if pause is None:
            return 0.0, ""
        if pause.until <= now:
            del self._pauses[group]
            return 0.0, ""
        return pause.until - now, pause.reason
