"""How many images a request asks for: "画两张…", "来三张", "3 pictures of …", or a command flag
(`-n 3`, `-n3`, `--count 3`, `--count=3`). Host-neutral and pure; the cap (`[generation] max_images`)
is applied by the caller."""

from __future__ import annotations

import re
from typing import Optional

# Far above any sane cap: a count is bounded before anything is reserved or drawn.
MAX_WORD_COUNT = 99

_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "仨": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                   "八": 8, "九": 9, "十": 10}
_ENGLISH_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                    "ten": 10, "a couple of": 2, "several": 3}
_NUMERAL = r"(?P<n>[0-9０-９]{1,2}|十[一二三四五六七八九]?|[一二两俩三仨四五六七八九]十?[一二三四五六七八九]?)"
# "两张", "3 幅", "三个版本"; not "这两张" / "第二张" / "每张" / "前两张" (those name images, not a count).
_CHINESE = re.compile(r"(?<![这那每第前后上下])" + _NUMERAL + r"\s*(?:张|幅|份|个版本|版)")
_ENGLISH = re.compile(r"\b(?P<n>\d{1,2}|" + "|".join(_ENGLISH_NUMBERS) + r")\s+(?:different\s+|more\s+)?"
                      r"(?:images?|pictures?|pics?|drawings?|versions?|variations?|photos?|selfies?)\b", re.I)
# A flag anywhere in a command's text, as its own word: -n 3, -n3, -n=3, --count 3, --count=3.
_FLAG = re.compile(r"(?:(?<=\s)|^)(?:-n\s*=?\s*|--count(?:\s*=\s*|\s+))(?P<n>[0-9０-９]+)(?=\s|$)")


def count_from_words(text: str) -> Optional[int]:
    """The number of images the request's words ask for, or None when they name none."""
    text = text or ""
    match = _CHINESE.search(text)
    if match:
        return _bounded(_chinese_number(match.group("n")))
    match = _ENGLISH.search(text)
    if match:
        word = match.group("n").lower()
        return _bounded(int(word) if word.isdigit() else _ENGLISH_NUMBERS.get(word))
    return None


def split_count_flag(text: str) -> tuple[Optional[int], str]:
    """(the count a `-n`/`--count` flag gives, the text without the flag); (None, text) when none."""
    match = _FLAG.search(text or "")
    if not match:
        return None, text
    rest = (text[:match.start()].rstrip() + " " + text[match.end():].lstrip()).strip()
    return _bounded(int(_ascii_digits(match.group("n")))), rest


def _chinese_number(text: str) -> Optional[int]:
    digits = _ascii_digits(text)
    if digits.isdigit():
        return int(digits)
    if text.startswith("十"):  # 十, 十二
        return 10 + (_CHINESE_DIGITS.get(text[1:], 0) if len(text) > 1 else 0)
    if "十" in text:  # 二十, 二十三
        tens, _, ones = text.partition("十")
        return _CHINESE_DIGITS.get(tens, 0) * 10 + (_CHINESE_DIGITS.get(ones, 0) if ones else 0)
    return _CHINESE_DIGITS.get(text)


def _ascii_digits(text: str) -> str:
    return text.translate({0xFF10 + i: 0x30 + i for i in range(10)})


def _bounded(value: Optional[int]) -> Optional[int]:
    if value is None:
        return None
    return max(1, min(int(value), MAX_WORD_COUNT))
