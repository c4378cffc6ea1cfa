"""Which style preset a request names: "用水彩风格画…", "水彩风格的猫", "画成水彩", "风格：水彩",
"in watercolor style". Standard library only.

A name alone is not enough ("画一盒水彩笔" does not ask for the 水彩 preset): it must sit next to a
word that makes it a style. "不要水彩风格" names none.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

_AFTER = r"(?:风格|画风|风|style|版本|版)"
_BEFORE = r"(?:用|以|按照|按|换成|改成|画成|弄成|变成|做成|风格\s*[:：是为]?\s*|画风\s*[:：是为]?\s*|in)"
_NEGATION = re.compile(r"(?:不要|不用|别用|别|不是|非|no|not|without)\s*$", re.I)


def style_named_in(text: str, names: Iterable[str]) -> Optional[str]:
    """The first of `names` (longest first on a tie of position) the text asks for as a style; None if none."""
    ordered = sorted({name for name in names if name}, key=len, reverse=True)
    if not text or not ordered:
        return None
    alternatives = "|".join(re.escape(name) for name in ordered)
    pattern = re.compile(rf"{_BEFORE}\s*(?P<a>{alternatives})|(?P<b>{alternatives})\s*{_AFTER}", re.I)
    lowered = {name.lower(): name for name in ordered}
    for match in pattern.finditer(text):
        said = match.group("a") or match.group("b")
        if _NEGATION.search(text[max(0, match.start() - 6):match.start()]):
            continue
        if said.isascii() and not _whole_word(text, match.start("a" if match.group("a") else "b"), said):
            continue
        return lowered[said.lower()]
    return None


def _whole_word(text: str, start: int, word: str) -> bool:
    end = start + len(word)
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())
