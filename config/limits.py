"""The `[limits]` section: who may draw where and how often, and how many jobs run at once."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from .quiet_hours import format_quiet_hours, parse_quiet_hours
from .section import Section, setting
from .ui import section_i18n


class LimitsSection(Section):
    __ui_label__ = "频率与额度"
    __ui_icon__ = "gauge"
    __ui_order__ = 90
    __ui_i18n__ = section_i18n("Limits and quotas")

    user_cooldown: float = setting(
        60.0, "个人冷却", "Per-user cooldown",
        "同一个人两次画图的最短间隔，秒；0 = 不限",
        "Shortest gap between two drawings of one person, seconds; 0 = off.",
        ge=0, le=86400,
    )
    user_daily_quota: int = setting(
        20, "个人每日额度", "Per-user daily quota",
        "每人每天最多画几张；0 = 不限",
        "Drawings per person per day; 0 = unlimited.",
        ge=0, le=100000,
    )
    group_daily_quota: int = setting(
        100, "群每日额度", "Per-group daily quota",
        "每个群每天最多画几张；0 = 不限",
        "Drawings per group per day; 0 = unlimited.",
        ge=0, le=1000000,
    )
    admin_users: list[str] = setting(
        label_zh="管理员", label_en="Admins",
        hint_zh="管理员账号，不受休息时间、冷却和额度限制；可写 \"12345\" 或 \"qq:12345\"",
        hint_en="Accounts not bound by quiet hours, cooldowns and quotas; \"12345\" or \"qq:12345\".",
        factory=list,
    )
    allowed_groups: list[str] = setting(
        label_zh="允许的群", label_en="Allowed groups",
        hint_zh="只在这些群画图；空 = 所有群",
        hint_en="Draw only in these groups; empty = all groups.",
        factory=list,
    )
    denied_groups: list[str] = setting(
        label_zh="禁止的群", label_en="Denied groups",
        hint_zh="不在这些群画图，优先于 allowed_groups",
        hint_en="Never draw in these groups; wins over the allowed groups.",
        factory=list,
    )
    allow_private: bool = setting(True, "允许私聊", "Allow private chats", "是否允许私聊画图", "Allow drawing in private chats.")
    quiet_hours: str = setting(
        "", "休息时间", "Quiet hours",
        "休息时间，如 \"23:00-07:00\"，可跨午夜；空 = 不休息",
        "e.g. \"23:00-07:00\", may cross midnight; empty = none.",
        placeholder_zh="23:00-07:00", placeholder_en="23:00-07:00",
    )
    notice_window: float = setting(
        60.0, "拒绝提示间隔", "Refusal notice window",
        "被拒绝时同一个人在这段时间内只提示一次，秒",
        "A refused person is told at most once per this many seconds.",
        ge=0, le=86400,
    )
    max_concurrent_jobs: int = setting(
        2, "同时画图数", "Concurrent jobs",
        "所有聊天合计同时画几张",
        "Jobs drawing at once across all chats.",
        ge=1, le=16,
    )
    max_pending_per_chat: int = setting(
        3, "每个聊天排队数", "Queue per chat",
        "每个聊天最多几个任务排队等待，再多就拒绝；0 = 不排队",
        "Jobs waiting per chat before new ones are refused; 0 = no queue.",
        ge=0, le=20,
    )

    @field_validator("admin_users", "allowed_groups", "denied_groups", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        # TOML users write QQ numbers bare (admin_users = [12345]); keep them as the strings MaiBot sends.
        if isinstance(value, (list, tuple)):
            return [str(item).strip() if isinstance(item, int) and not isinstance(item, bool) else item
                    for item in value]
        return value

    @field_validator("admin_users", "allowed_groups", "denied_groups")
    @classmethod
    def _strip(cls, value: list[str]) -> list[str]:
        return [item.strip() for item in value if item.strip()]

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        span = parse_quiet_hours(value)
        return format_quiet_hours(span) if span else ""
