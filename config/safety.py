"""[safety]: forbidden words checked on the request and on the final prompt."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .ui import section_i18n, ui

# Sensible defaults for a group chat that must not get the bot account banned; admins extend them.
DEFAULT_FORBIDDEN_WORDS: tuple[str, ...] = (
    "nsfw", "nude", "naked", "porn", "pornographic", "hentai", "sex", "sexual", "explicit",
    "genitals", "nipples", "loli", "shota", "gore", "child porn",
    "色情", "裸体", "裸照", "全裸", "黄图", "色图", "涩图", "做爱", "性交", "血腥", "虐杀", "儿童色情",
)


class SafetySection(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True, defer_build=True)
    __ui_label__: ClassVar[str] = "内容安全"
    __ui_icon__: ClassVar[str] = "shield"
    __ui_order__: ClassVar[int] = 8
    __ui_i18n__: ClassVar[dict[str, dict[str, str]]] = section_i18n("Content safety")

    enabled: bool = Field(
        default=True, description="是否检查违禁词 (check forbidden words)",
        json_schema_extra=ui(
            "启用违禁词检查", "Check forbidden words",
            "是否检查违禁词",
            "Check the request and the final prompt for forbidden words.",
        ),
    )
    forbidden_words: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FORBIDDEN_WORDS),
        description="违禁词，中英文均可，不区分大小写和全半角 (forbidden words)",
        json_schema_extra=ui(
            "违禁词", "Forbidden words",
            "违禁词，中英文均可，不区分大小写和全半角",
            "Chinese or English; case and full/half width are ignored.",
        ),
    )
    match_mode: Literal["word", "substring"] = Field(
        default="word",
        description="word = 英文按整词匹配（中文总是按包含匹配）/ substring = 一律按包含匹配 (matching mode)",
        json_schema_extra=ui(
            "匹配方式", "Matching mode",
            "word = 英文按整词匹配（中文总是按包含匹配）/ substring = 一律按包含匹配",
            "word = English matched as whole words (Chinese always by substring); substring = everything by substring.",
        ),
    )
    refusal_message: str = Field(
        default="这个内容不太合适，换个别的吧～", min_length=1, description="拒绝时回复的话 (refusal reply)",
        json_schema_extra=ui("拒绝回复", "Refusal reply", "拒绝时回复的话", "What the bot says when it refuses."),
    )

    @field_validator("forbidden_words")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        return [word.strip() for word in value if word.strip()]
