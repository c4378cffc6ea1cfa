"""[selfie]: how the bot looks (MaiBot 1.x has no appearance field) and how selfies are drawn."""

from __future__ import annotations


from pydantic import field_validator

from ..aspects import ASPECTS
from .section import Section, setting
from .ui import section_i18n

DEFAULT_TRIGGER_WORDS: tuple[str, ...] = (
    "自拍", "拍张照片", "拍张照", "拍张图", "拍个照", "发张照片", "你的照片", "selfie",
)


class SelfieSection(Section):
    __ui_label__ = "自拍"
    __ui_icon__ = "camera"
    __ui_order__ = 70
    __ui_i18n__ = section_i18n("Selfie")

    appearance: str = setting(
        "", "机器人外貌", "Bot appearance",
        "机器人的外貌（发型、衣着、画风），建议用英文写",
        "The bot's look (hair, clothes, art style), best written in English.",
        textarea=4,
    )
    reference_image: str = setting(
        "", "参考图", "Reference image",
        "参考图路径，支持图生图的后端用它保持形象一致",
        "Local path of a reference image; image-to-image backends use it to keep the look consistent.",
    )
    aspect: str = setting(
        "3:4", "自拍画面比例", "Selfie aspect ratio",
        "自拍默认画面比例，竖图",
        "Default aspect ratio of selfies (portrait).",
    )
    trigger_words: list[str] = setting(
        label_zh="自拍触发词", label_en="Selfie trigger words",
        hint_zh="触发自拍模式的词",
        hint_en="Words that switch a request to selfie mode.",
        factory=lambda: list(DEFAULT_TRIGGER_WORDS),
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
