"""Aspect (and an explicit pixel size) from the words of a request: "横图", "手机壁纸", "16:9",
"16比9", "1920x1080", "landscape" … Standard library only; used where the prompt is made, so it works
with the LLM off.

Precedence inside a text: an explicit pixel size, then an explicit ratio, then the leftmost word.
False positives are avoided on purpose: "用我的头像画…" asks for a reference, not a square; "3只猫",
"3x3 九宫格" and "12:30" are not sizes; "不要横图" is not a request for one.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

# An explicit size is a wish, not a licence to run a backend out of memory: a larger one keeps its
# ratio at this many pixels (1920x1080 still fits). Backends then fit it to the sizes they allow.
MAX_WORD_PIXELS = 2048 * 1024
MIN_SIDE = 64
MAX_SIDE = 8192

# Ratios people write; anything else written as "a:b" is more likely a time or a score.
WRITTEN_RATIOS = frozenset({
    (1, 1), (4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (9, 16), (21, 9), (9, 21), (16, 10), (10, 16),
    (5, 4), (4, 5), (2, 1), (1, 2), (3, 1), (1, 3), (32, 9), (9, 32), (7, 5), (5, 7),
})

# Words → aspect. Longer words win over their parts ("手机壁纸" over "壁纸") because the search
# alternation lists longer words first.
WORDS: dict[str, str] = {
    # tall
    "手机壁纸": "9:16", "手机屏保": "9:16", "锁屏壁纸": "9:16", "锁屏": "9:16", "竖屏": "9:16",
    "竖图": "9:16", "竖版": "9:16", "竖向": "9:16", "竖构图": "9:16", "竖幅": "9:16",
    "phone wallpaper": "9:16", "mobile wallpaper": "9:16", "vertical": "9:16",
    "portrait orientation": "9:16", "portrait mode": "9:16", "portrait format": "9:16",
    "小说封面": "3:4", "书籍封面": "3:4", "书封": "3:4", "book cover": "3:4",
    # wide
    "电脑壁纸": "16:9", "桌面壁纸": "16:9", "壁纸": "16:9", "横屏": "16:9", "宽屏": "16:9",
    "横图": "16:9", "横版": "16:9", "横向": "16:9", "横构图": "16:9", "封面": "16:9",
    "desktop wallpaper": "16:9", "wallpaper": "16:9", "widescreen": "16:9", "horizontal": "16:9",
    "landscape orientation": "16:9", "landscape mode": "16:9", "landscape format": "16:9",
    "横幅": "21:9", "banner": "21:9", "全景": "21:9", "panorama": "21:9",
    # square
    "专辑封面": "1:1", "album cover": "1:1", "方图": "1:1", "正方形图": "1:1", "正方形构图": "1:1",
    "正方形比例": "1:1", "正方形画幅": "1:1", "正方形的图": "1:1", "方形构图": "1:1", "头像": "1:1",
    "square image": "1:1", "square format": "1:1", "square picture": "1:1", "avatar": "1:1",
    "profile picture": "1:1", "pfp": "1:1",
}

_NEGATION = re.compile(r"(?:不要|不用|别用|别|不是|非|不想要|no|not|without)\s*$", re.I)
# "用我的头像画" / "把他的头像改成" / "参考头像": the avatar is the reference, not the shape.
_OWNER = r"(?:我|你|他|她|它|ta|咱|群主|自己|对方|本人)们?的?\s*(?:qq|QQ|微信|群)?"
_AVATAR_AS_REFERENCE = re.compile(
    rf"(?:(?:用|把|拿|以|根据|按照|参考|照着|基于)\s*(?:{_OWNER})?|{_OWNER}|my|his|her|their|your|our)\s*$", re.I)
_AVATAR_AS_REFERENCE_AFTER = re.compile(r"^\s*(?:画|改|变|做参考|为参考|当参考|作参考|生成|重绘)")
_SIZE = re.compile(r"(?<![\d.])([1-9]\d{2,3})\s*(?:[x×X*＊✕]|乘以?|by)\s*([1-9]\d{2,3})(?![\d.])\s*(?:px|像素)?")
_RATIO = re.compile(r"(?<![\d.:：])(\d{1,2})\s*(?:[:：]|比|x|×|X)\s*(\d{1,2})(?![\d.:：])")
_WORD = re.compile("|".join(re.escape(word) for word in sorted(WORDS, key=len, reverse=True)), re.I)
_ASCII_WORD = re.compile(r"[a-z]", re.I)


@dataclass(frozen=True)
class WordAspect:
    """What the words asked for: an aspect ("16:9"), and a size when pixels were written."""

    aspect: str
    width: Optional[int] = None
    height: Optional[int] = None
    words: str = ""  # the words that said it, for the log


def aspect_from_words(text: str) -> Optional[WordAspect]:
    """The aspect (and size) the request's words ask for; None when they ask for none."""
    text = unicodedata.normalize("NFKC", text or "")  # full-width digits and colons ("１６：９") as ASCII
    return _size(text) or _ratio(text) or _word(text)


def _size(text: str) -> Optional[WordAspect]:
    for match in _SIZE.finditer(text):
        width, height = int(match.group(1)), int(match.group(2))
        if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE) or _negated(text, match.start()):
            continue
        if not 1 / 4 <= width / height <= 4:
            continue
        divisor = math.gcd(width, height)
        aspect = f"{width // divisor}:{height // divisor}"
        if width * height > MAX_WORD_PIXELS:
            scale = math.sqrt(MAX_WORD_PIXELS / (width * height))
            width, height = (max(MIN_SIDE, int(side * scale) // 8 * 8) for side in (width, height))
        return WordAspect(aspect, width, height, match.group(0).strip())
    return None


def _ratio(text: str) -> Optional[WordAspect]:
    for match in _RATIO.finditer(text):
        pair = (int(match.group(1)), int(match.group(2)))
        if pair not in WRITTEN_RATIOS or _negated(text, match.start()):
            continue
        return WordAspect(f"{pair[0]}:{pair[1]}", words=match.group(0).strip())
    return None


def _word(text: str) -> Optional[WordAspect]:
    for match in _WORD.finditer(text):
        word = match.group(0)
        start, end = match.span()
        if _ASCII_WORD.match(word) and not _whole_word(text, start, end):
            continue  # "pfp" inside another word, "vertical" inside "verticality"
        if _negated(text, start):
            continue
        if word in ("头像", "avatar") and _avatar_is_reference(text, start, end):
            continue
        return WordAspect(WORDS[word.lower()], words=word)
    return None


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATION.search(text[max(0, start - 6):start]))


def _whole_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def _avatar_is_reference(text: str, start: int, end: int) -> bool:
    return bool(_AVATAR_AS_REFERENCE.search(text[max(0, start - 8):start])
                or _AVATAR_AS_REFERENCE_AFTER.match(text[end:end + 6]))

