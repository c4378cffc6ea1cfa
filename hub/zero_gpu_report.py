"""What doctor and `/pic status` say about ZeroGPU: the seconds left for each token the chain's
ZeroGPU Spaces are called with, and (doctor) a warning when the chain starts with a ZeroGPU Space
called anonymously."""

from __future__ import annotations

import asyncio
from typing import Optional, Sequence

from ..backends.base import Backend
from ..backends.quota_groups import ANONYMOUS, ZERO_GPU_PREFIX, describe_group
from ..phrases import zero_gpu_quota_unknown
from .zero_gpu_quota import QuotaUnavailable, ZeroGpuQuota, fetch_zero_gpu_quota

ANONYMOUS_GROUP = ZERO_GPU_PREFIX + ANONYMOUS


def _tokens_by_group(backends: Sequence[Backend]) -> dict[str, str]:
    """One token per ZeroGPU token group (the token is never returned to a caller that prints)."""
    found: dict[str, str] = {}
    for backend in backends:
        group = backend.quota_group
        token_of = getattr(backend, "hub_token", None)
        if group and group.startswith(ZERO_GPU_PREFIX) and group != ANONYMOUS_GROUP and callable(token_of):
            token = token_of()
            if token:
                found.setdefault(group, token)
    return found


async def _quotas(backends: Sequence[Backend], timeout: float) -> list[tuple[str, Optional[ZeroGpuQuota], str]]:
    groups = _tokens_by_group(backends)

    async def one(group: str, token: str) -> tuple[str, Optional[ZeroGpuQuota], str]:
        try:
            return group, await fetch_zero_gpu_quota(token, timeout=timeout), ""
        except QuotaUnavailable as exc:
            return group, None, str(exc)
        except Exception as exc:  # noqa: BLE001 - doctor and /pic status go on without the quota line
            return group, None, f"unexpected {type(exc).__name__} while reading the quota"

    return list(await asyncio.gather(*(one(group, token) for group, token in groups.items())))


async def doctor_lines(backends: Sequence[Backend], *, timeout: float = 10.0) -> list[str]:
    """English lines for `python -m llm2pic doctor` (enabled backends, in chain order)."""
    lines = []
    for group, quota, why in await _quotas(backends, timeout):
        users = ", ".join(b.name for b in backends if b.quota_group == group)
        what = quota.describe() if quota else f"ZeroGPU quota unknown: {why}"
        lines.append(f"{what} [{describe_group(group)}; used by {users}]")
    first = backends[0] if backends else None
    if first is not None and first.quota_group == ANONYMOUS_GROUP:
        lines.append(
            f"warning: the first backend, {first.name}, is a ZeroGPU Space called without a token. Anonymous callers "
            "share a small per-IP GPU quota (often 0 s left in 2026), so it may refuse most requests. A token "
            "(HF_TOKEN, read access is enough) gives about 5 GPU-minutes a day on a free account and 40 on PRO; "
            "`python -m llm2pic space deploy NAME` gives you your own Space, without a shared queue (it still spends "
            "your token's quota).")
    return lines


async def chat_lines(backends: Sequence[Backend], *, timeout: float = 5.0) -> list[str]:
    """Chinese lines for `/pic status`: only with a token, never any upstream text."""
    found = await _quotas(backends, timeout)
    lines = []
    for group, quota, _why in found:
        # several tokens: say whose quota each line is
        whose = "、".join(b.name for b in backends if b.quota_group == group) if len(found) > 1 else ""
        lines.append(quota.user_line(whose=whose) if quota else zero_gpu_quota_unknown(whose))
    return lines
