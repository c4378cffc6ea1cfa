"""HTTP helpers shared by the backends: bounded reads, status classification."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..server_numbers import MAX_SERVER_WAIT, server_number
from ..errors import BackendError, ConfigurationError, ProtocolError, QuotaError, TransientError

if TYPE_CHECKING:  # only annotations here: importing this module must not pull in httpx
    import httpx


async def read_capped(response: httpx.Response, limit: int, *, backend: str = "") -> bytes:
    """The body of a streamed response, refusing (while streaming) anything over `limit` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ProtocolError(f"download of {declared} bytes refused (limit {limit})", backend=backend)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ProtocolError(f"download exceeded {limit} bytes and was stopped", backend=backend)
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_seconds(response: httpx.Response) -> Optional[float]:
    """Retry-After (seconds or HTTP date) and retry-after-ms, whichever is given; bounded to
    [0, MAX_SERVER_WAIT] (`Retry-After: 1e999` is a day, not infinity), None when unreadable."""
    millis = server_number(response.headers.get("retry-after-ms"), high=MAX_SERVER_WAIT * 1000)
    if millis is not None:
        return millis / 1000
    value = response.headers.get("retry-after")
    if not value:
        return None
    seconds = server_number(value)
    if seconds is not None:
        return seconds
    from email.utils import parsedate_to_datetime
    from datetime import datetime, timezone

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return server_number((when - datetime.now(timezone.utc)).total_seconds())


def is_html(response: httpx.Response) -> bool:
    return "text/html" in response.headers.get("content-type", "").lower()


def error_for_status(response: httpx.Response, what: str, *, backend: str = "") -> BackendError:
    """The taxonomy error for a failed HTTP answer (`what` names the request for the log)."""
    status = response.status_code
    where = f"{what} → HTTP {status}"
    if status in (401, 403):
        return ConfigurationError(f"{where}: access refused (token missing or rejected, or a private app)",
                                  backend=backend)
    if status == 404:
        return ConfigurationError(f"{where}: not found (wrong URL, Space id or endpoint)", backend=backend)
    if status == 402:
        return QuotaError(f"{where}: payment required (credits exhausted)", backend=backend)
    if status == 429:
        return TransientError(f"{where}: rate limited", backend=backend, retry_after=retry_after_seconds(response))
    if status in (408, 409) or status >= 500:
        return TransientError(f"{where}: server unavailable", backend=backend,
                              retry_after=retry_after_seconds(response))
    return ProtocolError(f"{where}: unexpected answer", backend=backend)
