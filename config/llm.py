"""[llm]: the prompt LLM. Classic keys (model_name, system_prompt, the history window) keep their
names; the OpenAI-compatible endpoint keys are for standalone use (the CLI)."""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from .backends import check_http_url
from .ui import section_i18n, ui


class LLMSection(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True, defer_build=True)
    __ui_label__: ClassVar[str] = "提示词 LLM"
    __ui_icon__: ClassVar[str] = "message-square"
    __ui_order__: ClassVar[int] = 6
    __ui_i18n__: ClassVar[dict[str, dict[str, str]]] = section_i18n("Prompt LLM")

    model_name: str = Field(
        default="replyer", description="MaiBot 内使用的模型任务名，如 replyer / utils / planner (MaiBot model task)",
        json_schema_extra=ui(
            "模型任务", "Model task",
            "MaiBot 内使用的模型任务名，如 replyer / utils / planner",
            "MaiBot model task used to write the prompt, e.g. replyer / utils / planner.",
        ),
    )
    system_prompt: str = Field(
        default="",
        description="自定义系统提示词，留空用内置默认；可用 {persona} {nickname} {personality} {appearance} {aspects}"
        "，其他花括号原样保留 (custom system prompt; empty: built-in)",
        json_schema_extra=ui(
            "系统提示词", "System prompt",
            "自定义系统提示词，留空用内置默认；可用 {persona} {nickname} {personality} {appearance} {aspects}，其他花括号原样保留",
            "Custom system prompt; empty = built-in. May use {persona} {nickname} {personality} {appearance} {aspects}; other braces are kept as they are.",
            textarea=8,
        ),
    )
    context_message_limit: int = Field(
        default=20, ge=1, le=100, description="最多读取的聊天记录条数 (max recent messages)",
        json_schema_extra=ui("聊天记录条数", "History messages", "最多读取的聊天记录条数", "Most recent chat messages read."),
    )
    context_time_minutes: int = Field(
        default=30, ge=1, le=1440, description="读取最近多少分钟的聊天记录 (history window, minutes)",
        json_schema_extra=ui(
            "聊天记录时间范围", "History window",
            "读取最近多少分钟的聊天记录",
            "Read the chat history of the last this many minutes.",
        ),
    )
    context_max_chars: int = Field(
        default=4000, ge=200, le=50000, description="聊天记录总字数上限 (history size cap, characters)",
        json_schema_extra=ui(
            "聊天记录字数上限", "History size cap",
            "聊天记录总字数上限",
            "Cap on the characters of chat history given to the LLM.",
        ),
    )
    max_prompt_chars: int = Field(
        default=1000, ge=50, le=8000, description="最终提示词长度上限，字符 (prompt length cap, characters)",
        json_schema_extra=ui(
            "提示词长度上限", "Prompt length cap",
            "最终提示词长度上限，字符",
            "Cap on the final prompt, in characters.",
        ),
    )
    on_refusal: Literal["refuse", "fallback"] = Field(
        default="refuse", description="LLM 拒绝时：refuse 不画 / fallback 直接画原话 (when the LLM refuses)",
        json_schema_extra=ui(
            "LLM 拒绝时", "When the LLM refuses",
            "LLM 拒绝时：refuse 不画 / fallback 直接画原话",
            "refuse = do not draw; fallback = draw the request text as it is.",
        ),
    )
    persona_nickname: str = Field(
        default="麦麦", description="独立使用时机器人的名字；在 MaiBot 中读取 bot.nickname (bot name, standalone)",
        json_schema_extra=ui(
            "机器人名字（独立使用）", "Bot name (standalone)",
            "独立使用时机器人的名字；在 MaiBot 中读取 bot.nickname",
            "The bot's name when used standalone; inside MaiBot bot.nickname is read.",
        ),
    )
    persona_personality: str = Field(
        default="", description="独立使用时的人格设定；在 MaiBot 中读取 personality.personality (persona, standalone)",
        json_schema_extra=ui(
            "人格设定（独立使用）", "Personality (standalone)",
            "独立使用时的人格设定；在 MaiBot 中读取 personality.personality",
            "The persona when used standalone; inside MaiBot personality.personality is read.",
            textarea=3,
        ),
    )
    base_url: str = Field(
        default="", description="独立使用（命令行）时的 OpenAI 兼容地址，含 /v1；留空则不用 LLM (chat API base URL)",
        json_schema_extra=ui(
            "LLM 地址（独立使用）", "LLM base URL (standalone)",
            "独立使用（命令行）时的 OpenAI 兼容地址，含 /v1；留空则不用 LLM",
            "OpenAI-compatible chat API including /v1, for the CLI; empty = no LLM.",
            placeholder_zh="https://api.deepseek.com/v1", placeholder_en="https://api.deepseek.com/v1",
        ),
    )
    api_key: SecretStr = Field(
        default=SecretStr(""), description="API key，也可用 api_key_env (API key)",
        json_schema_extra=ui(
            "LLM API Key", "LLM API key",
            "API key，也可用 api_key_env",
            "API key; may instead come from the environment variable below.",
            secret=True,
        ),
    )
    api_key_env: str = Field(
        default="LLM2PIC_LLM_API_KEY", description="从该环境变量读取 key (env variable for the key)",
        json_schema_extra=ui(
            "API Key 环境变量", "API key env variable",
            "从该环境变量读取 key",
            "Environment variable the key is read from.",
        ),
    )
    model: str = Field(
        default="", description="独立使用时的模型名，如 deepseek-chat (chat model)",
        json_schema_extra=ui(
            "LLM 模型（独立使用）", "LLM model (standalone)",
            "独立使用时的模型名，如 deepseek-chat",
            "Chat model used standalone, e.g. deepseek-chat.",
        ),
    )
    timeout: float = Field(
        default=30.0, gt=0, le=600, description="LLM 请求超时，秒 (LLM timeout, s)",
        json_schema_extra=ui("LLM 超时", "LLM timeout", "LLM 请求超时，秒", "LLM request timeout, seconds."),
    )
    temperature: Optional[float] = Field(
        default=None, ge=0, le=2, description="温度，留空用默认 (temperature)",
        json_schema_extra=ui("温度", "Temperature", "温度，留空用默认", "Sampling temperature; empty = the model default."),
    )
    max_tokens: int = Field(
        default=0, ge=0, le=65536, description="回答 token 上限，0 = 不发送；推理模型请给足 (max tokens; 0: not sent)",
        json_schema_extra=ui(
            "回答 token 上限", "Max tokens",
            "回答 token 上限，0 = 不发送；推理模型请给足",
            "Cap on answer tokens; 0 = not sent. Give reasoning models plenty.",
        ),
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_http_url(value, "base_url")

    def secret_values(self) -> list[str]:
        return [self.api_key.get_secret_value()]
