"""Quiet hours as text ("23:00-07:00", may cross midnight) and as minutes of the day. Standard library
only: `[limits]` validates with it and the admission code reads the span with it."""

from __future__ import annotations

import re
from typing import Optional

_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})$")
_DASHES = re.compile(r"\s*[-－~～—–]\s*")


def parse_quiet_hours(text: str) -> Optional[tuple[int, int]]:
    """"23:00-07:00" → (start, end) in minutes of the day; "" → None. Raises ValueError otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    parts = _DASHES.split(text)
    minutes = [_minute_of_day(part.strip()) for part in parts] if len(parts) == 2 else [None]
    if None in minutes:
        raise ValueError(f'quiet_hours must be "HH:MM-HH:MM" (e.g. "23:00-07:00") or "" for none, not {text!r}')
    start, end = minutes
    if start == end:
        raise ValueError(f"quiet_hours {text!r} starts and ends at the same time")
    return start, end


def format_quiet_hours(span: tuple[int, int]) -> str:
    return "-".join(f"{m // 60:02d}:{m % 60:02d}" for m in span)


def _minute_of_day(text: str) -> Optional[int]:
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    return hour * 60 + minute if hour < 24 and minute < 60 else None
