"""The `[chain]` section: retries, backoff and the circuit breaker of the backend fallback chain."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .ui import section_i18n, ui


class ChainSection(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True, defer_build=True)
    __ui_label__: ClassVar[str] = "后端切换"
    __ui_icon__: ClassVar[str] = "git-branch"
    __ui_order__: ClassVar[int] = 4
    __ui_i18n__: ClassVar[dict[str, dict[str, str]]] = section_i18n("Backend fallback")

    max_attempts: int = Field(
        default=3, ge=1, le=10, description="暂时性失败时同一后端最多尝试几次 (attempts per backend on transient errors)",
        json_schema_extra=ui(
            "单后端尝试次数", "Attempts per backend",
            "暂时性失败时同一后端最多尝试几次",
            "Attempts on the same backend after transient errors.",
        ),
    )
    backoff_initial: float = Field(
        default=1.0, ge=0, le=60, description="首次重试前等待秒数，之后翻倍 (first backoff, s)",
        json_schema_extra=ui(
            "首次重试等待", "First backoff",
            "首次重试前等待秒数，之后翻倍",
            "Seconds before the first retry; doubled after each.",
        ),
    )
    backoff_max: float = Field(
        default=8.0, ge=0, le=300, description="重试等待上限，秒 (backoff cap, s)",
        json_schema_extra=ui("重试等待上限", "Backoff cap", "重试等待上限，秒", "Longest wait between retries, seconds."),
    )
    max_retry_after: float = Field(
        default=120.0, ge=0, le=3600,
        description="服务端要求等待 (Retry-After) 超过此秒数就换下一个后端 (longer Retry-After: next backend)",
        json_schema_extra=ui(
            "最长服从等待", "Max Retry-After",
            "服务端要求等待 (Retry-After) 超过此秒数就换下一个后端",
            "When the server asks to wait (Retry-After) longer than this, move on to the next backend, seconds.",
        ),
    )
    breaker_failures: int = Field(
        default=3, ge=1, le=100, description="连续失败多少次后暂停该后端 (consecutive failures that open the breaker)",
        json_schema_extra=ui(
            "熔断失败次数", "Breaker failures",
            "连续失败多少次后暂停该后端",
            "Consecutive failures after which a backend is paused.",
        ),
    )
    breaker_cooldown: float = Field(
        default=300.0, ge=0, le=86400, description="后端被暂停的秒数 (how long a failing backend is skipped, s)",
        json_schema_extra=ui(
            "熔断暂停时长", "Breaker cooldown",
            "后端被暂停的秒数",
            "How long a failing backend is skipped, seconds.",
        ),
    )
    quota_cooldown: float = Field(
        default=3600.0, ge=0, le=86400,
        description="额度用完但服务端没说何时恢复时暂停的秒数 (skip after a quota error without Retry-After, s)",
        json_schema_extra=ui(
            "额度用尽暂停时长", "Quota cooldown",
            "额度用完但服务端没说何时恢复时暂停的秒数",
            "How long a backend is skipped after a quota error that gives no Retry-After, seconds.",
        ),
    )
    deadline: float = Field(
        default=240.0, gt=0, le=3600,
        description="一次画图任务的总时限（写提示词、所有后端和重试、图片处理），秒 (whole-job deadline, s)",
        json_schema_extra=ui(
            "任务总时限", "Job deadline",
            "一次画图任务的总时限（写提示词、所有后端和重试、图片处理），秒",
            "Deadline of one drawing job (prompt, all backends and retries, imaging), seconds.",
        ),
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> "ChainSection":
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must be at least backoff_initial")
        return self
