"""The one rule for an aspect ratio: how it is written, what it means, the nearest of a set of
choices, and the size it gives for a pixel budget. Standard library only.

An aspect is written "W:H" ("16:9"; also "16x9", "16×9", "16/9", a full-width colon, or a single
number such as "1.5"). `ASPECTS` are the named ones offered to the LLM and the chat's tool.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Iterable, Optional, TypeVar

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

_ASPECT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:[:：x×/]\s*(\d+(?:\.\d+)?))?\s*")
T = TypeVar("T")


def parse_aspect(text: str) -> float:
    """'16:9' (or '16x9', '1.5') → width / height; ValueError on anything else."""
    match = _ASPECT.fullmatch(text or "")
    if not match:
        raise ValueError(f"not an aspect ratio: {text!r} (expected e.g. '16:9')")
    width = float(match.group(1))
    height = float(match.group(2) or 1)
    if width <= 0 or height <= 0:
        raise ValueError(f"not an aspect ratio: {text!r} (both sides must be positive)")
    return width / height


def normalize_aspect(text: str) -> str:
    """An aspect as every layer passes it on: "16x9", "16：9", " 16 / 9 " → "16:9"; "1.5" → "1.5:1".
    ValueError (naming the text) when it is not one."""
    parse_aspect(text)
    match = _ASPECT.fullmatch(text)
    assert match is not None
    return f"{match.group(1)}:{match.group(2) or 1}"


def named_aspect(text: Optional[str]) -> Optional[str]:
    """The named aspect (one of ASPECTS) that `text` spells, e.g. "16：9" → "16:9"; None otherwise."""
    normalized = (text or "").strip().replace("：", ":")
    return normalized if normalized in ASPECTS else None


def require_named_aspect(text: str) -> str:
    """`named_aspect` for a config value: ValueError listing the names when it is not one."""
    named = named_aspect(text)
    if named is None:
        raise ValueError(f"aspect must be one of {', '.join(ASPECTS)}")
    return named


def nearest(ratio: float, choices: Iterable[T], ratio_of: Callable[[T], float]) -> T:
    """The choice whose ratio is closest to `ratio` (on a log scale, so 2:1 and 1:2 are as far from 1:1)."""
    return min(choices, key=lambda choice: abs(math.log(ratio_of(choice)) - math.log(ratio)))


def nearest_named(ratio: float, names: Iterable[str]) -> str:
    """The aspect name ("16:9") among `names` closest to `ratio`."""
    return nearest(ratio, names, parse_aspect)


def size_for(ratio: float, pixels: int = DEFAULT_PIXELS, multiple: int = 8) -> tuple[int, int]:
    """Width and height at about `pixels` pixels for `ratio`, each a multiple of `multiple`."""
    width = math.sqrt(pixels * ratio)
    height = width / ratio
    return _round_to(width, multiple), _round_to(height, multiple)


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)
