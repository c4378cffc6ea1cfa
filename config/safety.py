"""[safety]: forbidden words checked on the request and on the final prompt."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from .section import Section, setting
from .ui import section_i18n

# Sensible defaults for a group chat that must not get the bot account banned; admins extend them.
DEFAULT_FORBIDDEN_WORDS: tuple[str, ...] = (
    "nsfw", "nude", "naked", "porn", "pornographic", "hentai", "sex", "sexual", "explicit",
    "genitals", "nipples", "loli", "shota", "gore", "child porn",
    "色情", "裸体", "裸照", "全裸", "黄图", "色图", "涩图", "做爱", "性交", "血腥", "虐杀", "儿童色情",
)


class SafetySection(Section):
    __ui_label__ = "内容安全"
    __ui_icon__ = "shield"
    __ui_order__ = 80
    __ui_i18n__ = section_i18n("Content safety")

    enabled: bool = setting(
        True, "启用违禁词检查", "Check forbidden words",
        "是否检查违禁词",
        "Check the request and the final prompt for forbidden words.",
    )
    forbidden_words: list[str] = setting(
        label_zh="违禁词", label_en="Forbidden words",
        hint_zh="违禁词，中英文均可，不区分大小写和全半角",
        hint_en="Chinese or English; case and full/half width are ignored.",
        factory=lambda: list(DEFAULT_FORBIDDEN_WORDS),
    )
    match_mode: Literal["word", "substring"] = setting(
        "word", "匹配方式", "Matching mode",
        "word = 英文按整词匹配（中文总是按包含匹配）/ substring = 一律按包含匹配",
        "word = English matched as whole words (Chinese always by substring); substring = everything by substring.",
    )
    refusal_message: str = setting(
        "这个内容不太合适，换个别的吧～", "拒绝回复", "Refusal reply",
        "拒绝时回复的话",
        "What the bot says when it refuses.",
        min_length=1,
    )

    @field_validator("forbidden_words")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        return [word.strip() for word in value if word.strip()]
