"""Numbers a server sent (Retry-After, queue ranks, ETAs, quota resets), made safe to use: finite,
clamped, never a crash on NaN, text or an integer too large for a float."""

from __future__ import annotations

import math
from typing import Any, Optional

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
