"""[llm]: the prompt LLM. Classic keys (model_name, system_prompt, the history window) keep their
names; the OpenAI-compatible endpoint keys are for standalone use (the CLI)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import SecretStr, field_validator

from .backends import check_http_url
from .section import Section, setting
from .ui import section_i18n


class LLMSection(Section):
    __ui_label__ = "提示词 LLM"
    __ui_icon__ = "message-square"
    __ui_order__ = 60
    __ui_i18n__ = section_i18n("Prompt LLM")

    model_name: str = setting(
        "replyer", "模型任务", "Model task",
        "MaiBot 内使用的模型任务名，如 replyer / utils / planner",
        "MaiBot model task used to write the prompt, e.g. replyer / utils / planner.",
    )
    system_prompt: str = setting(
        "", "系统提示词", "System prompt",
        "自定义系统提示词，留空用内置默认；可用 {persona} {nickname} {personality} {appearance} {aspects}，其他花括号原样保留",
        "Custom system prompt; empty = built-in. May use {persona} {nickname} {personality} {appearance} {aspects}; other braces are kept as they are.",
        textarea=8,
    )
    context_message_limit: int = setting(
        20, "聊天记录条数", "History messages",
        "最多读取的聊天记录条数",
        "Most recent chat messages read.",
        ge=1, le=100,
    )
    context_time_minutes: int = setting(
        30, "聊天记录时间范围", "History window",
        "读取最近多少分钟的聊天记录",
        "Read the chat history of the last this many minutes.",
        ge=1, le=1440,
    )
    context_max_chars: int = setting(
        4000, "聊天记录字数上限", "History size cap",
        "聊天记录总字数上限",
        "Cap on the characters of chat history given to the LLM.",
        ge=200, le=50000,
    )
    max_prompt_chars: int = setting(
        1000, "提示词长度上限", "Prompt length cap",
        "最终提示词长度上限，字符",
        "Cap on the final prompt, in characters.",
        ge=50, le=8000,
    )
    on_refusal: Literal["refuse", "fallback"] = setting(
        "refuse", "LLM 拒绝时", "When the LLM refuses",
        "LLM 拒绝时：refuse 不画 / fallback 直接画原话",
        "refuse = do not draw; fallback = draw the request text as it is.",
    )
    persona_nickname: str = setting(
        "麦麦", "机器人名字（独立使用）", "Bot name (standalone)",
        "独立使用时机器人的名字；在 MaiBot 中读取 bot.nickname",
        "The bot's name when used standalone; inside MaiBot bot.nickname is read.",
    )
    persona_personality: str = setting(
        "", "人格设定（独立使用）", "Personality (standalone)",
        "独立使用时的人格设定；在 MaiBot 中读取 personality.personality",
        "The persona when used standalone; inside MaiBot personality.personality is read.",
        textarea=3,
    )
    base_url: str = setting(
        "", "LLM 地址（独立使用）", "LLM base URL (standalone)",
        "独立使用（命令行）时的 OpenAI 兼容地址，含 /v1；留空则不用 LLM",
        "OpenAI-compatible chat API including /v1, for the CLI; empty = no LLM.",
        placeholder_zh="https://api.deepseek.com/v1", placeholder_en="https://api.deepseek.com/v1",
    )
    api_key: SecretStr = setting(
        SecretStr(""), "LLM API Key", "LLM API key",
        "API key，也可用 api_key_env",
        "API key; may instead come from the environment variable below.",
        secret=True,
    )
    api_key_env: str = setting(
        "LLM2PIC_LLM_API_KEY", "API Key 环境变量", "API key env variable",
        "从该环境变量读取 key",
        "Environment variable the key is read from.",
    )
    model: str = setting(
        "", "LLM 模型（独立使用）", "LLM model (standalone)",
        "独立使用时的模型名，如 deepseek-chat",
        "Chat model used standalone, e.g. deepseek-chat.",
    )
    timeout: float = setting(30.0, "LLM 超时", "LLM timeout", "LLM 请求超时，秒", "LLM request timeout, seconds.", gt=0, le=600)
    temperature: Optional[float] = setting(
        None, "温度", "Temperature",
        "温度，留空用默认",
        "Sampling temperature; empty = the model default.",
        ge=0, le=2,
    )
    max_tokens: int = setting(
        0, "回答 token 上限", "Max tokens",
        "回答 token 上限，0 = 不发送；推理模型请给足",
        "Cap on answer tokens; 0 = not sent. Give reasoning models plenty.",
        ge=0, le=65536,
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_http_url(value, "base_url")

    def secret_values(self) -> list[str]:
        return [self.api_key.get_secret_value()]
