"""[safety]: forbidden words checked on the request and on the final prompt."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..prompt.safety import DEFAULT_FORBIDDEN_WORDS


class SafetySection(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)
    __ui_label__: ClassVar[str] = "内容安全"

    enabled: bool = Field(default=True, description="是否检查违禁词 (check forbidden words)")
    forbidden_words: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FORBIDDEN_WORDS),
        description="违禁词，中英文均可，不区分大小写和全半角 (forbidden words)",
    )
    match_mode: Literal["word", "substring"] = Field(
        default="word",
        description="word = 英文按整词匹配（中文总是按包含匹配）/ substring = 一律按包含匹配 (matching mode)",
    )
    refusal_message: str = Field(
        default="这个内容不太合适，换个别的吧～", min_length=1, description="拒绝时回复的话 (refusal reply)"
    )

    @field_validator("forbidden_words")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        return [word.strip() for word in value if word.strip()]
