"""The `[chain]` section: retries, backoff and the circuit breaker of the backend fallback chain."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ChainSection(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)
    __ui_label__: ClassVar[str] = "后端切换"

    max_attempts: int = Field(
        default=3, ge=1, le=10, description="暂时性失败时同一后端最多尝试几次 (attempts per backend on transient errors)"
    )
    backoff_initial: float = Field(default=1.0, ge=0, le=60, description="首次重试前等待秒数，之后翻倍 (first backoff, s)")
    backoff_max: float = Field(default=8.0, ge=0, le=300, description="重试等待上限，秒 (backoff cap, s)")
    max_retry_after: float = Field(
        default=120.0, ge=0, le=3600,
        description="服务端要求等待 (Retry-After) 超过此秒数就换下一个后端 (longer Retry-After: next backend)",
    )
    breaker_failures: int = Field(
        default=3, ge=1, le=100, description="连续失败多少次后暂停该后端 (consecutive failures that open the breaker)"
    )
    breaker_cooldown: float = Field(
        default=300.0, ge=0, le=86400, description="后端被暂停的秒数 (how long a failing backend is skipped, s)"
    )
    quota_cooldown: float = Field(
        default=3600.0, ge=0, le=86400,
        description="额度用完但服务端没说何时恢复时暂停的秒数 (skip after a quota error without Retry-After, s)",
    )
    deadline: float = Field(
        default=240.0, gt=0, le=3600,
        description="一次画图任务的总时限（写提示词、所有后端和重试、图片处理），秒 (whole-job deadline, s)",
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> "ChainSection":
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must be at least backoff_initial")
        return self
