"""The `[limits]` section: who may draw where and how often, and how many jobs run at once."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .ui import section_i18n, ui


class LimitsSection(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True, defer_build=True)
    __ui_label__: ClassVar[str] = "频率与额度"
    __ui_icon__: ClassVar[str] = "gauge"
    __ui_order__: ClassVar[int] = 9
    __ui_i18n__: ClassVar[dict[str, dict[str, str]]] = section_i18n("Limits and quotas")

    user_cooldown: float = Field(
        default=60.0, ge=0, le=86400, description="同一个人两次画图的最短间隔，秒；0 = 不限 (per-user cooldown, s; 0: off)",
        json_schema_extra=ui(
            "个人冷却", "Per-user cooldown",
            "同一个人两次画图的最短间隔，秒；0 = 不限",
            "Shortest gap between two drawings of one person, seconds; 0 = off.",
        ),
    )
    user_daily_quota: int = Field(
        default=20, ge=0, le=100000, description="每人每天最多画几张；0 = 不限 (per-user daily quota; 0: unlimited)",
        json_schema_extra=ui(
            "个人每日额度", "Per-user daily quota",
            "每人每天最多画几张；0 = 不限",
            "Drawings per person per day; 0 = unlimited.",
        ),
    )
    group_daily_quota: int = Field(
        default=100, ge=0, le=1000000, description="每个群每天最多画几张；0 = 不限 (per-group daily quota; 0: unlimited)",
        json_schema_extra=ui(
            "群每日额度", "Per-group daily quota",
            "每个群每天最多画几张；0 = 不限",
            "Drawings per group per day; 0 = unlimited.",
        ),
    )
    admin_users: list[str] = Field(
        default_factory=list,
        description="管理员账号，不受休息时间、冷却和额度限制；可写 \"12345\" 或 \"qq:12345\" (admins; bypass limits)",
        json_schema_extra=ui(
            "管理员", "Admins",
            "管理员账号，不受休息时间、冷却和额度限制；可写 \"12345\" 或 \"qq:12345\"",
            "Accounts not bound by quiet hours, cooldowns and quotas; \"12345\" or \"qq:12345\".",
        ),
    )
    allowed_groups: list[str] = Field(
        default_factory=list, description="只在这些群画图；空 = 所有群 (groups allowed to draw; empty: all)",
        json_schema_extra=ui(
            "允许的群", "Allowed groups",
            "只在这些群画图；空 = 所有群",
            "Draw only in these groups; empty = all groups.",
        ),
    )
    denied_groups: list[str] = Field(
        default_factory=list, description="不在这些群画图，优先于 allowed_groups (groups never allowed; wins over allowed)",
        json_schema_extra=ui(
            "禁止的群", "Denied groups",
            "不在这些群画图，优先于 allowed_groups",
            "Never draw in these groups; wins over the allowed groups.",
        ),
    )
    allow_private: bool = Field(
        default=True, description="是否允许私聊画图 (allow drawing in private chats)",
        json_schema_extra=ui("允许私聊", "Allow private chats", "是否允许私聊画图", "Allow drawing in private chats."),
    )
    quiet_hours: str = Field(
        default="", description="休息时间，如 \"23:00-07:00\"，可跨午夜；空 = 不休息 (quiet hours; empty: none)",
        json_schema_extra=ui(
            "休息时间", "Quiet hours",
            "休息时间，如 \"23:00-07:00\"，可跨午夜；空 = 不休息",
            "e.g. \"23:00-07:00\", may cross midnight; empty = none.",
            placeholder_zh="23:00-07:00", placeholder_en="23:00-07:00",
        ),
    )
    notice_window: float = Field(
        default=60.0, ge=0, le=86400,
        description="被拒绝时同一个人在这段时间内只提示一次，秒 (one refusal notice per requester per window, s)",
        json_schema_extra=ui(
            "拒绝提示间隔", "Refusal notice window",
            "被拒绝时同一个人在这段时间内只提示一次，秒",
            "A refused person is told at most once per this many seconds.",
        ),
    )
    max_concurrent_jobs: int = Field(
        default=2, ge=1, le=16, description="所有聊天合计同时画几张 (jobs drawing at once across all chats)",
        json_schema_extra=ui("同时画图数", "Concurrent jobs", "所有聊天合计同时画几张", "Jobs drawing at once across all chats."),
    )
    max_pending_per_chat: int = Field(
        default=3, ge=0, le=20,
        description="每个聊天最多几个任务排队等待，再多就拒绝；0 = 不排队 (jobs waiting per chat; 0: no queue)",
        json_schema_extra=ui(
            "每个聊天排队数", "Queue per chat",
            "每个聊天最多几个任务排队等待，再多就拒绝；0 = 不排队",
            "Jobs waiting per chat before new ones are refused; 0 = no queue.",
        ),
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
        from ..drawing.admission import format_quiet_hours, parse_quiet_hours  # here: the CLI never loads the limiter

        span = parse_quiet_hours(value)
        return format_quiet_hours(span) if span else ""
