"""How long an OpenAI-compatible server or relay asks us to wait after a 429, from every place
relays put it. Pure functions, no I/O; every wait is finite and bounded.

Sources, in order (the first one given wins):
- `retry-after-ms` and `retry-after` (seconds or an HTTP date), as the OpenAI SDK reads them;
- `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (OpenAI's and many relays' headers,
  durations like "1s", "6m0s", "20ms", "1h2m3.5s", or plain seconds); the limit that is used up
  (`x-ratelimit-remaining-*` of 0) decides, else the longer of the two; then `x-ratelimit-reset`.
  A reset given as a Unix time or an ISO date is turned into the wait until then;
- the error text: "Please try again in 20s", "Try again in 5 seconds" (LiteLLM's router cooldown),
  "retry after 1.5 s", "please wait 10 seconds", "resets in 30s", "请 30 秒后重试".
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Mapping, Optional

# Longest wait a server can make us believe in; longer (or non-finite) values are clamped.
MAX_SERVER_WAIT = 24 * 3600.0

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_TEXT_WAIT = re.compile(
    r"(?i)(?:(?:try\s+again|retry|resets?)\s+(?:in|after)|wait(?:\s+for)?)\s+(?:about\s+|approximately\s+|at\s+least\s+)?"
    r"(?P<amount>\d+(?:\.\d+)?(?:(?:h|m|s|ms)\d+(?:\.\d+)?)*)\s*"
    r"(?P<unit>milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)?\b"
    r"|(?P<zh>\d+(?:\.\d+)?)\s*(?P<zhunit>秒|分钟|毫秒)\s*(?:后|之后)")
_TEXT_UNITS = {"ms": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3, "s": 1.0, "sec": 1.0, "secs": 1.0,
               "second": 1.0, "seconds": 1.0, "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0,
               "minutes": 60.0, "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
               "秒": 1.0, "分钟": 60.0, "毫秒": 1e-3}


def bounded(seconds: float) -> Optional[float]:
    """A finite wait in [0, MAX_SERVER_WAIT], or None for NaN and infinities (no information)."""
    if not math.isfinite(seconds):
        return None
    return min(MAX_SERVER_WAIT, max(0.0, seconds))


def parse_duration(text: str) -> Optional[float]:
    """Seconds in "1s", "6m0s", "20ms", "1h2m3.5s", "0.5" (plain seconds); None if not a duration."""
    text = text.strip().lower()
    if not text or len(text) > 40:
        return None
    if _NUMBER.fullmatch(text):
        return bounded(float(text))
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return bounded(sum(float(number) * _UNITS[unit] for number, unit in parts))


def header_wait(headers: Mapping[str, str]) -> Optional[float]:
    """The wait the headers ask for, or None."""
    millis = (headers.get("retry-after-ms") or "").strip()
    if _NUMBER.fullmatch(millis):
        return bounded(float(millis) / 1000)
    value = (headers.get("retry-after") or "").strip()
    if value:
        try:
            return bounded(float(value))
        except ValueError:
            when = _http_date(value)
            if when is not None:
                return when
    resets = {}
    for limit in ("requests", "tokens"):
        reset = _reset(headers.get(f"x-ratelimit-reset-{limit}") or "")
        if reset is not None:
            resets[limit] = reset
    used_up = [reset for limit, reset in resets.items()
               if (headers.get(f"x-ratelimit-remaining-{limit}") or "").strip() == "0"]
    if used_up:
        return max(used_up)
    if resets:
        return max(resets.values())
    return _reset(headers.get("x-ratelimit-reset") or "")


def _reset(value: str) -> Optional[float]:
    """A reset header: a duration ("6m0s", "20"), a Unix time in seconds or milliseconds (some relays
    send the moment, not the wait), or an ISO 8601 date."""
    value = value.strip()
    if _NUMBER.fullmatch(value) and float(value) > 1e9:
        moment = float(value) / (1000 if float(value) > 1e12 else 1)
        return bounded(moment - datetime.now(timezone.utc).timestamp())
    seconds = parse_duration(value)
    if seconds is not None or not value:
        return seconds
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return bounded((when - datetime.now(timezone.utc)).total_seconds())


def text_wait(message: str) -> Optional[float]:
    """The wait an error text names ("try again in 20s"), or None."""
    match = _TEXT_WAIT.search(message[:2000])
    if not match:
        return None
    if match.group("zh"):
        return bounded(float(match.group("zh")) * _TEXT_UNITS[match.group("zhunit")])
    amount, unit = match.group("amount"), (match.group("unit") or "").lower()
    if _NUMBER.fullmatch(amount):
        return bounded(float(amount) * _TEXT_UNITS.get(unit, 1.0))
    return parse_duration(amount + unit if unit in _UNITS else amount)


def server_wait(headers: Mapping[str, str], message: str) -> Optional[float]:
    """The wait a 429 (or 503) answer asks for, from its headers or its text; None if it names none."""
    wait = header_wait(headers)
    return wait if wait is not None else text_wait(message)


def _http_date(value: str) -> Optional[float]:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return bounded((when - datetime.now(timezone.utc)).total_seconds())
