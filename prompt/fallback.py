"""The prompt when no LLM answer is usable: the request text itself, minus the words that only
say "draw something" (画一张, 帮我画, 的图片 …), so a drawing still happens."""

from __future__ import annotations

import re

from ..lazy_regex import lazy_compile
from .parse import cap_length, collapse_whitespace

_COMMAND_PREFIX = lazy_compile(r"^\s*[/／!！]\s*(?:draw|pic|selfie|画图|画)\b\s*", re.I)
_MENTION = lazy_compile(r"@\S+\s*")
_LEADING = lazy_compile(
    r"^(?:(?:请|麻烦|能不能|能否|可以|可不可以|你|您|帮我|给我|替我|为我|帮忙|来|再)\s*)*"
    r"(?:画|生成|做|来|整|发|拍)\s*(?:一|1|两|几)?\s*(?:张|幅|个|副|只|条|头|位|下)?\s*",
)
_ENGLISH_LEADING = lazy_compile(r"^(?:please\s+)?(?:draw|generate|make|create|paint)\s+(?:me\s+)?(?:an?\s+)?(?:(?:picture|image|photo|drawing)\s+of\s+)?", re.I)
_TRAILING = lazy_compile(r"(?:的(?:图片|图画|图像|照片|图|画)|图片|照片|图像)?\s*(?:吧|吗|呗|呀|啊|哦|喔|嘛|好不好|可以吗|谢谢)?[\s。！!？?~～.，,]*$")


def request_to_prompt(text: str, max_chars: int) -> str:
    """'帮我画一张猫咪的图片' → '猫咪'. Falls back to the whole text when stripping leaves nothing."""
    original = collapse_whitespace(text)
    stripped = _MENTION.sub("", original)
    stripped = _COMMAND_PREFIX.sub("", stripped)
    stripped = _LEADING.sub("", stripped, count=1)
    stripped = _ENGLISH_LEADING.sub("", stripped, count=1)
    stripped = _TRAILING.sub("", stripped, count=1).strip(" ,，:：")
    return cap_length(stripped or original, max_chars)
