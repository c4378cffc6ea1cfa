"""Turning an LLM's answer into a clean prompt: JSON (bare, fenced, inside prose) or plain text,
with reasoning blocks, labels, quotes and markdown removed, whitespace collapsed and length capped."""

from __future__ import annotations

import itertools
import math
import json
import re
from dataclasses import dataclass
from typing import Any, Optional

from ..lazy_regex import lazy_compile

_REASONING_TAGS = r"(?:think|thinking|reasoning|analysis)"
_REASONING_BLOCK = lazy_compile(rf"<({_REASONING_TAGS})>.*?</\1\s*>", re.S | re.I)
# Some servers drop the opening tag and send only "...reasoning</think>answer".
_REASONING_HEAD = lazy_compile(rf"\A.*?</{_REASONING_TAGS}\s*>", re.S | re.I)
# An opening tag that never closes: the answer was cut off while still reasoning.
_REASONING_TAIL = lazy_compile(rf"<{_REASONING_TAGS}>.*\Z", re.S | re.I)

_CJK_RANGES = (("\u3040", "\u30ff"), ("\u3400", "\u4dbf"), ("\u4e00", "\u9fff"), ("\uf900", "\ufaff"),
               ("\uac00", "\ud7af"), ("\uff66", "\uff9f"))
_CJK = lazy_compile("[" + "".join(f"{low}-{high}" for low, high in _CJK_RANGES) + "]")

PROMPT_KEYS = ("prompt", "positive_prompt", "positive", "english_prompt", "image_prompt", "description")
NEGATIVE_KEYS = ("negative_prompt", "negative")
ASPECT_KEYS = ("aspect", "aspect_ratio", "ratio")
REFUSE_KEYS = ("refuse", "refused", "refusal")
COUNT_KEYS = ("count", "n", "num_images", "images")
MAX_ANSWER_COUNT = 99  # the cap ([generation] max_images) is applied later; this only bounds the number

_FENCE = lazy_compile(r"```[A-Za-z0-9_-]*[ \t]*")
_LABEL = lazy_compile(
    r"^(?:\*\*|__)?\s*(?:final |english |positive |image |the )?(?:prompt|提示词|正面提示词|英文提示词|英文描述|描述)"
    r"\s*(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?",
    re.I,
)
# "Sure! Here is the prompt: …" on the answer's first line.
_INLINE_PREAMBLE = lazy_compile(
    r"^[^:：\n]{0,40}?(?:here|this is|below|sure|okay|ok\b|以下|这是|如下|好的|生成)[^:：\n]{0,40}?"
    r"(?:prompt|提示词|描述)\s*[:：]\s*",
    re.I,
)
_NEGATIVE_LABEL = lazy_compile(
    r"^(?:\*\*|__)?\s*(?:negative(?: prompt)?|负面提示词|负面|反向提示词)\s*(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?", re.I
)
_MARKDOWN_LINE_PREFIX = lazy_compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*•·]\s+|\d{1,2}[.)、]\s+)")
_MARKDOWN_LINK = lazy_compile(r"!?\[([^\]\n]{0,200})\]\([^)\n]{0,300}\)")  # bounded: linear on any input
_EMPHASIS = lazy_compile(r"(\*\*|__|\*|`)")
_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "「": "」", "『": "』", "`": "`", "«": "»"}
_REFUSAL_OPENINGS = (
    "i'm sorry", "i am sorry", "sorry, ", "sorry but", "i can't", "i cannot", "i can not", "i won't",
    "i will not", "i'm unable", "i am unable", "i'm not able", "as an ai", "unfortunately, i",
    "抱歉", "很抱歉", "对不起", "我无法", "我不能", "无法为你", "无法为您", "不好意思，我不能",
)


@dataclass(frozen=True)
class ParsedAnswer:
    """What the LLM answered; `prompt` is empty when it gave nothing usable."""

    prompt: str = ""
    negative_prompt: str = ""
    aspect: str = ""
    selfie: Optional[bool] = None
    style: str = ""
    refused: bool = False
    refusal_reason: str = ""
    count: Optional[int] = None  # how many images the LLM read from the request; None: it did not say


def has_cjk(text: str) -> bool:
    # Compiling _CJK walks every code point of its ranges (~5-15 ms): short texts (safety words, a
    # selfie description, a request) are checked without it, so a draw usually never compiles it.
    if not text or text.isascii():
        return False
    if len(text) > 256:
        return bool(_CJK.search(text))
    return any(low <= char <= high for char in text if char >= "\u3040" for low, high in _CJK_RANGES)


_REASONING_CLOSE = lazy_compile(rf"</{_REASONING_TAGS}\s*>", re.I)


def strip_reasoning(text: str) -> str:
    # Blocks are looked for only up to the last closing tag: an opening tag after it can never
    # close, and searching from each of many such tags to the end would take quadratic time.
    last_close = None
    for last_close in _REASONING_CLOSE.finditer(text):
        pass
    cut = last_close.end() if last_close else 0
    head, tail = text[:cut], text[cut:]
    head = _REASONING_BLOCK.sub(" ", head)
    head = _REASONING_HEAD.sub(" ", head)
    return _REASONING_TAIL.sub(" ", head + tail)


# Far more than any answer needs (reasoning blocks are removed first, from at most MAX_RAW_CHARS);
# what is beyond is not read, so parsing a hostile answer stays fast on the event loop.
MAX_RAW_CHARS = 256 * 1024
MAX_ANSWER_CHARS = 16 * 1024


def parse_answer(text: Optional[str], max_chars: int) -> ParsedAnswer:
    """Parse and clean one LLM answer. Never raises."""
    body = strip_reasoning(str(text or "")[:MAX_RAW_CHARS]).strip()[:MAX_ANSWER_CHARS]
    if not body:
        return ParsedAnswer()
    data = find_json_object(body)
    if data is not None:
        return _from_json(data, max_chars)
    whole = _whole_json(body)
    if isinstance(whole, list):  # a bare tag list
        return ParsedAnswer(prompt=clean_prompt(", ".join(str(t) for t in whole if t is not None), max_chars))
    if whole is not None:  # JSON without any prompt key: nothing usable
        return ParsedAnswer()
    partial = _unterminated_json_prompt(body)
    if partial is not None:
        return ParsedAnswer(prompt=clean_prompt(partial, max_chars))
    if is_refusal(body):
        return ParsedAnswer(refused=True, refusal_reason=collapse_whitespace(body)[:200])
    positive, negative = _split_negative(body)
    return ParsedAnswer(prompt=clean_prompt(positive, max_chars), negative_prompt=clean_prompt(negative, max_chars))


def find_json_object(text: str) -> Optional[dict[str, Any]]:
    """The first JSON object in the text that has a prompt (or a refusal) key."""
    decoder = json.JSONDecoder()
    for match in itertools.islice(re.finditer(r"\{", text), 200):  # an answer with a prompt has few
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict) and any(k in value for k in PROMPT_KEYS + REFUSE_KEYS):
            return value
    return None


def _whole_json(text: str) -> Any:
    fenced = _FENCE.sub("", text).strip()
    if not fenced.startswith(("{", "[")):
        return None
    try:
        return json.loads(fenced)
    except (ValueError, RecursionError):
        return None


def _from_json(data: dict[str, Any], max_chars: int) -> ParsedAnswer:
    refused = any(truthy(data.get(k)) for k in REFUSE_KEYS)
    reason = str(data.get("reason") or "")
    prompt = _first_text(data, PROMPT_KEYS)
    if refused and not prompt:
        return ParsedAnswer(refused=True, refusal_reason=collapse_whitespace(reason)[:200])
    selfie = data.get("selfie")
    return ParsedAnswer(
        prompt=clean_prompt(prompt, max_chars),
        negative_prompt=clean_prompt(_first_text(data, NEGATIVE_KEYS), max_chars),
        aspect=_first_text(data, ASPECT_KEYS).strip(),
        selfie=truthy(selfie) if selfie is not None else None,
        style=collapse_whitespace(str(data.get("style") or ""))[:40],
        count=_count(data),
    )


def _count(data: dict[str, Any]) -> Optional[int]:
    """A positive whole number of images under one of COUNT_KEYS ("3" and 3.0 too); None otherwise."""
    for key in COUNT_KEYS:
        value = data.get(key)
        if isinstance(value, bool) or value is None:
            continue
        text = str(value).strip() if isinstance(value, (int, float, str)) else ""
        try:
            number = float(text) if len(text) <= 20 else 0.0  # a 10**4000 int never becomes a float
        except ValueError:
            continue
        if math.isfinite(number) and number >= 1 and number == int(number):  # whole and positive
            return min(int(number), MAX_ANSWER_COUNT)
    return None


def _first_text(data: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value if item is not None)
        if value:
            return str(value)
    return ""


def truthy(value: Any) -> bool:
    """What an LLM means by a flag: tool arguments and JSON answers may say "true", "1", "yes", "是"."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "y", "on", "是", "对"}
    return bool(value)


def _unterminated_json_prompt(text: str) -> Optional[str]:
    """A prompt from JSON that was cut off (an over-long answer hitting max_tokens)."""
    match = re.search(r'\{\s*"(?:%s)"\s*:\s*"((?:[^"\\]|\\.)*)' % "|".join(PROMPT_KEYS), text)
    if not match:
        return None
    raw = match.group(1)
    try:
        return json.loads('"' + raw.rstrip("\\") + '"')
    except ValueError:
        return raw


def is_refusal(text: str) -> bool:
    if len(text) > 4000:
        return False
    head = _strip_markup(text).strip().lower()
    return len(head) < 600 and head.startswith(_REFUSAL_OPENINGS)


def _split_negative(text: str) -> tuple[str, str]:
    positive: list[str] = []
    negative: list[str] = []
    target = positive
    for line in _FENCE.sub("\n", text).splitlines():
        stripped = _MARKDOWN_LINE_PREFIX.sub("", line).strip()
        label = _NEGATIVE_LABEL.match(stripped)
        if label:
            target = negative
            stripped = stripped[label.end():]
        elif _LABEL.match(stripped):
            target = positive
        target.append(stripped)
    return "\n".join(positive), "\n".join(negative)


def clean_prompt(text: str, max_chars: int) -> str:
    """Labels, markdown, wrapping quotes and preambles off; whitespace collapsed; length capped."""
    lines: list[str] = []
    for line in _FENCE.sub("\n", text or "").splitlines():
        line = _strip_markup(line)
        line = _LABEL.sub("", line).strip()
        if not lines:
            line = _INLINE_PREAMBLE.sub("", line)
        line = _unquote(line)
        if not line or (line.endswith((":", "：")) and not lines):
            continue  # empty, or a preamble such as "Here is your prompt:"
        lines.append(line)
    joined = ""
    for line in lines:
        if joined and not joined.endswith((",", ".", ";", "，", "。")):
            joined += ","
        joined += " " + line
    joined = _unquote(collapse_whitespace(joined))
    joined = re.sub(r"\s*,(\s*,)+", ",", joined).strip(" ,;")
    return cap_length(joined, max_chars)


def _strip_markup(line: str) -> str:
    line = _MARKDOWN_LINE_PREFIX.sub("", line)
    line = _MARKDOWN_LINK.sub(r"\1", line)
    return _EMPHASIS.sub("", line).strip()


def _unquote(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1] and text[-1] not in text[1:-1]:
        text = text[1:-1].strip()
    return text


def clean_text(text: object) -> str:
    """Text that every encoder accepts: surrogate pairs (an emoji escaped as two JSON \\u escapes)
    are joined, lone surrogates (a CLI argument with an invalid byte, an answer cut off by
    max_tokens inside an escaped emoji) are dropped, and so are NUL characters."""
    value = text if isinstance(text, str) else str(text or "")
    if value.isascii():
        return value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").replace("\ufffd", "")
    return value.replace("\x00", "")


def collapse_whitespace(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def cap_length(text: str, max_chars: int) -> str:
    """At most max_chars, cut at the last comma (or space) so no tag is left half."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    for separator in (",", "，", ". ", " "):
        index = cut.rfind(separator)
        if index >= max_chars // 2:
            return cut[:index].rstrip(" ,.;，")
    return cut.rstrip(" ,.;，")


def normalize_join(*parts: str) -> str:
    """Comma-joined non-empty parts, each term kept once (case-insensitive), order preserved."""
    seen: set[str] = set()
    terms: list[str] = []
    for part in parts:
        for term in re.split(r"[,，]", part or ""):
            term = term.strip()
            if term and term.lower() not in seen:
                seen.add(term.lower())
                terms.append(term)
    return ", ".join(terms)
