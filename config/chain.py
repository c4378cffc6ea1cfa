"""The `[chain]` section: retries, backoff and the circuit breaker of the backend fallback chain."""

from __future__ import annotations


from pydantic import model_validator

from .section import Section, setting
from .ui import section_i18n


class ChainSection(Section):
    __ui_label__ = "后端切换"
    __ui_icon__ = "git-branch"
    __ui_order__ = 40
    __ui_i18n__ = section_i18n("Backend fallback")

    max_attempts: int = setting(
        3, "单后端尝试次数", "Attempts per backend",
        "暂时性失败时同一后端最多尝试几次",
        "Attempts on the same backend after transient errors.",
        ge=1, le=10,
    )
    backoff_initial: float = setting(
        1.0, "首次重试等待", "First backoff",
        "首次重试前等待秒数，之后翻倍",
        "Seconds before the first retry; doubled after each.",
        ge=0, le=60,
    )
    backoff_max: float = setting(
        8.0, "重试等待上限", "Backoff cap",
        "重试等待上限，秒",
        "Longest wait between retries, seconds.",
        ge=0, le=300,
    )
    max_retry_after: float = setting(
        120.0, "最长服从等待", "Max Retry-After",
        "服务端要求等待 (Retry-After) 超过此秒数就换下一个后端",
        "When the server asks to wait (Retry-After) longer than this, move on to the next backend, seconds.",
        ge=0, le=3600,
    )
    breaker_failures: int = setting(
        3, "熔断失败次数", "Breaker failures",
        "连续失败多少次后暂停该后端",
        "Consecutive failures after which a backend is paused.",
        ge=1, le=100,
    )
    breaker_cooldown: float = setting(
        300.0, "熔断暂停时长", "Breaker cooldown",
        "后端被暂停的秒数",
        "How long a failing backend is skipped, seconds.",
        ge=0, le=86400,
    )
    quota_cooldown: float = setting(
        3600.0, "额度用尽暂停时长", "Quota cooldown",
        "额度用完但服务端没说何时恢复时暂停的秒数",
        "How long a backend is skipped after a quota error that gives no Retry-After, seconds.",
        ge=0, le=86400,
    )
    deadline: float = setting(
        240.0, "任务总时限", "Job deadline",
        "一次画图任务的总时限（写提示词、所有后端和重试、图片处理），秒",
        "Deadline of one drawing job (prompt, all backends and retries, imaging), seconds.",
        gt=0, le=3600,
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> "ChainSection":
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must be at least backoff_initial")
        return self
