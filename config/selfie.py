"""[selfie]: how the bot looks (MaiBot 1.x has no appearance field) and how selfies are drawn."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..aspects import ASPECTS
from ..prompt.selfie import DEFAULT_TRIGGER_WORDS
from .ui import section_i18n, ui


class SelfieSection(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True, defer_build=True)
    __ui_label__: ClassVar[str] = "自拍"
    __ui_icon__: ClassVar[str] = "camera"
    __ui_order__: ClassVar[int] = 7
    __ui_i18n__: ClassVar[dict[str, dict[str, str]]] = section_i18n("Selfie")

    appearance: str = Field(
        default="",
        description="机器人的外貌（发型、衣着、画风），建议用英文写 (the bot's look, preferably in English)",
        json_schema_extra=ui(
            "机器人外貌", "Bot appearance",
            "机器人的外貌（发型、衣着、画风），建议用英文写",
            "The bot's look (hair, clothes, art style), best written in English.",
            textarea=4,
        ),
    )
    reference_image: str = Field(
        default="", description="参考图路径，支持图生图的后端用它保持形象一致 (reference image path)",
        json_schema_extra=ui(
            "参考图", "Reference image",
            "参考图路径，支持图生图的后端用它保持形象一致",
            "Local path of a reference image; image-to-image backends use it to keep the look consistent.",
        ),
    )
    aspect: str = Field(
        default="3:4", description="自拍默认画面比例，竖图 (selfie aspect, portrait)",
        json_schema_extra=ui(
            "自拍画面比例", "Selfie aspect ratio",
            "自拍默认画面比例，竖图",
            "Default aspect ratio of selfies (portrait).",
        ),
    )
    trigger_words: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TRIGGER_WORDS), description="触发自拍模式的词 (selfie trigger words)",
        json_schema_extra=ui(
            "自拍触发词", "Selfie trigger words",
            "触发自拍模式的词",
            "Words that switch a request to selfie mode.",
        ),
    )

    @field_validator("aspect")
    @classmethod
    def _aspect(cls, value: str) -> str:
        value = value.strip()
        if value not in ASPECTS:
            raise ValueError(f"aspect must be one of {', '.join(ASPECTS)}")
        return value

    @field_validator("reference_image")
    @classmethod
    def _path(cls, value: str) -> str:
        value = value.strip()
        if "://" in value:
            raise ValueError("reference_image must be a local file path, not a URL")
        return value

    @field_validator("trigger_words")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        return [word.strip() for word in value if word.strip()]
