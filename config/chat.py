"""[components] (which chat entry points are on) and [jobs] (how a chat drawing job talks to the group)."""

from __future__ import annotations

from pydantic import field_validator

from .section import Section, setting
from .ui import section_i18n


class ComponentsSection(Section):
    __ui_label__ = "功能开关"
    __ui_icon__ = "toggle-left"
    __ui_order__ = 20
    __ui_i18n__ = section_i18n("Features")

    enable_image_generation: bool = setting(
        True, "自主画图", "Draw on its own",
        "让机器人在聊天中自己决定画图（工具 draw_picture）",
        "Let the bot decide to draw in chat (the draw_picture tool).",
    )
    enable_direct_pic_command: bool = setting(
        True, "画图命令", "Drawing commands",
        "启用 /draw、/selfie、/pic 命令",
        "Enable the /draw, /selfie and /pic commands.",
    )
    trigger_phrases: list[str] = setting(
        None, "自然语言触发词（NoneBot）", "Trigger phrases (NoneBot)",
        "NoneBot：消息里有这些词就画图（如 画一张、来张自拍），不用命令；空 = 关闭。MaiBot 由规划器自己决定，不看这一项",
        "NoneBot: a message containing one of these phrases starts a drawing without a command; empty = off. "
        "MaiBot's planner decides on its own and ignores this.",
        factory=list,
    )
    trigger_needs_mention: bool = setting(
        True, "触发词需要 @（NoneBot）", "Trigger needs a mention (NoneBot)",
        "NoneBot：群里的触发词要 @机器人 或以它的昵称开头才算；私聊不需要",
        "NoneBot: in a group, a trigger phrase counts only when the message @-mentions the bot or starts with "
        "its nickname; private chats need neither.",
    )

    @field_validator("trigger_phrases")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        return [phrase.strip() for phrase in value if phrase.strip()]


class JobsSection(Section):
    __ui_label__ = "画图任务"
    __ui_icon__ = "list-todo"
    __ui_order__ = 30
    __ui_i18n__ = section_i18n("Drawing jobs")

    ack_message: str = setting(
        "在画了，稍等~", "开始画图回复", "Drawing acknowledgement",
        "开始画图时先回的一句话",
        "Sent at once when a drawing starts.",
        min_length=1,
    )
    selfie_ack_message: str = setting(
        "好，等我拍一张~", "开始自拍回复", "Selfie acknowledgement",
        "开始自拍时先回的一句话",
        "Sent at once when a selfie starts.",
        min_length=1,
    )
    draw_command_uses_llm: bool = setting(
        False, "/draw 经过 LLM", "/draw uses the LLM",
        "/draw 的描述也交给 LLM 改写成英文提示词；关闭时原样使用",
        "Let the LLM rewrite the /draw text into an English prompt; off = used as it is.",
    )
    merge_window: float = setting(
        15.0, "重复请求合并窗口", "Merge window",
        "同一个人在同一个聊天里这么多秒内的重复请求合并成一张，秒",
        "Repeated requests of one person in one chat within this many seconds become one drawing.",
        ge=0, le=300,
    )
    queue_notice_rank: int = setting(
        2, "排队提示位置", "Queue notice from rank",
        "免费 Space 排队位置达到这个数时在群里说一声（只说一次）",
        "Tell the chat once when the free Space queue position reaches this.",
        ge=1, le=1000,
    )
    queue_notice_eta: float = setting(
        20.0, "排队提示等待", "Queue notice from wait",
        "或预计等待超过这么多秒时说一声，秒",
        "Or when the expected wait exceeds this many seconds.",
        ge=0, le=3600,
    )

    @field_validator("ack_message", "selfie_ack_message")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value
