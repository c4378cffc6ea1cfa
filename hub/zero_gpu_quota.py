"""The caller's ZeroGPU quota (`GET {HF_ENDPOINT}/api/spaces/zero-gpu/quota`, the request
huggingface_hub's `get_zero_gpu_quota` makes) for doctor and `/pic status`.

Read here with the project's async httpx, bounded in time and size, so the plugin neither imports
huggingface_hub nor blocks the event loop. `python -m llm2pic space quota` uses huggingface_hub itself.
Answer fields (huggingface_hub `_space_api.ZeroGpuQuota`): `base` and `current` (remaining) GPU-seconds,
`resetsAt` (ISO time, null before the first use).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

import httpx

from ..phrases import zero_gpu_quota
from ..redaction import redact

DEFAULT_ENDPOINT = "https://huggingface.co"
_MAX_BYTES = 64 * 1024
# ZeroGPU quotas are daily and count minutes: a larger figure is not believed.
_MAX_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True)
class ZeroGpuQuota:
    remaining: float
    base: float
    resets_at: Optional[datetime]

    def seconds_to_reset(self, now: Optional[datetime] = None) -> Optional[float]:
        if self.resets_at is None:
            return None
        return max(0.0, (self.resets_at - (now or datetime.now(timezone.utc))).total_seconds())

    def describe(self, now: Optional[datetime] = None) -> str:
        """English, for doctor and the CLI."""
        text = f"ZeroGPU: {self.remaining:.0f} s of {self.base:.0f} s left today"
        wait = self.seconds_to_reset(now)
        if wait is None:
            return text + " (not used yet; the day starts at the first use)"
        return text + f", resets at {self.resets_at:%Y-%m-%d %H:%M} UTC (in {_duration_en(wait)})"

    def user_line(self, now: Optional[datetime] = None, whose: str = "") -> str:
        """Chinese, for `/pic status`."""
        return zero_gpu_quota(self.remaining, self.base, self.seconds_to_reset(now), whose)


class QuotaUnavailable(Exception):
    """Why the quota cannot be shown (one English line, redacted)."""


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def parse_quota(data: object) -> ZeroGpuQuota:
    if not isinstance(data, dict):
        raise QuotaUnavailable("the Hub's quota answer is not an object")
    remaining, base = bounded_seconds(data.get("current")), bounded_seconds(data.get("base"))
    if remaining is None or base is None:
        raise QuotaUnavailable("the Hub's quota answer lacks base/current seconds")
    resets_at = None
    reset_text = data.get("resetsAt")
    if reset_text:
        try:
            if not isinstance(reset_text, str) or len(reset_text) > 64:
                raise ValueError(reset_text)
            resets_at = datetime.fromisoformat(reset_text.replace("Z", "+00:00"))
            if resets_at.tzinfo is None:
                resets_at = resets_at.replace(tzinfo=timezone.utc)
            resets_at - datetime.now(timezone.utc)  # an offset at the calendar's ends cannot be compared
        except (ValueError, OverflowError):
            raise QuotaUnavailable("the Hub's quota answer has an unreadable resetsAt") from None
    return ZeroGpuQuota(remaining, base, resets_at)


def bounded_seconds(value: object) -> Optional[float]:
    """A finite count of seconds in [0, _MAX_SECONDS], or None (text, booleans, NaN, huge integers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    if not math.isfinite(number) or number > _MAX_SECONDS:
        return None
    return max(0.0, number)


async def fetch_zero_gpu_quota(token: str, *, endpoint: Optional[str] = None, timeout: float = 10.0) -> ZeroGpuQuota:
    """The quota of `token`; QuotaUnavailable with the reason otherwise (never the token)."""
    if not token:
        raise QuotaUnavailable("no Hugging Face token: the anonymous (per-IP) quota is not reported by the Hub")
    url = f"{endpoint or hub_endpoint()}/api/spaces/zero-gpu/quota"

    async def exchange() -> tuple[int, bytes]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
            async with client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > _MAX_BYTES:
                        raise QuotaUnavailable("the Hub's quota answer is too large")
                return response.status_code, bytes(body)

    try:
        # httpx's timeout is per read: a server dripping bytes would hold doctor or /pic status for hours.
        status, body = await asyncio.wait_for(exchange(), timeout)
    except asyncio.TimeoutError:
        raise QuotaUnavailable(f"the Hub did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise QuotaUnavailable(redact(f"cannot reach the Hub: {type(exc).__name__}", [token])) from None
    except Exception as exc:  # noqa: BLE001 - an invalid HF_ENDPOINT and alike: one line, never a crash
        if isinstance(exc, QuotaUnavailable):
            raise
        raise QuotaUnavailable(redact(f"cannot ask the Hub: {type(exc).__name__}", [token])) from None
    if status == 401:
        raise QuotaUnavailable("the Hub refused the token (401): it is invalid, or a fine-grained token without "
                               "\"Read billing usage\"")
    if status != 200:
        raise QuotaUnavailable(f"the Hub answered {status}")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise QuotaUnavailable("the Hub's quota answer is not JSON") from None
    return parse_quota(data)


def _duration_en(seconds: float) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
