"""[llm]: the prompt LLM. Classic keys (model_name, system_prompt, the history window) keep their
names; the OpenAI-compatible endpoint keys are for standalone use (the CLI)."""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from .backends import check_http_url


class LLMSection(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)
    __ui_label__: ClassVar[str] = "提示词 LLM"

    model_name: str = Field(
        default="replyer", description="MaiBot 内使用的模型任务名，如 replyer / utils / planner (MaiBot model task)"
    )
    system_prompt: str = Field(
        default="",
        description="自定义系统提示词，留空用内置默认；可用 {persona} {nickname} {personality} {appearance} {aspects}"
        "，其他花括号原样保留 (custom system prompt; empty: built-in)",
    )
    context_message_limit: int = Field(
        default=20, ge=1, le=100, description="最多读取的聊天记录条数 (max recent messages)"
    )
    context_time_minutes: int = Field(
        default=30, ge=1, le=1440, description="读取最近多少分钟的聊天记录 (history window, minutes)"
    )
    context_max_chars: int = Field(
        default=4000, ge=200, le=50000, description="聊天记录总字数上限 (history size cap, characters)"
    )
    max_prompt_chars: int = Field(
        default=1000, ge=50, le=8000, description="最终提示词长度上限，字符 (prompt length cap, characters)"
    )
    on_refusal: Literal["refuse", "fallback"] = Field(
        default="refuse", description="LLM 拒绝时：refuse 不画 / fallback 直接画原话 (when the LLM refuses)"
    )
    persona_nickname: str = Field(
        default="麦麦", description="独立使用时机器人的名字；在 MaiBot 中读取 bot.nickname (bot name, standalone)"
    )
    persona_personality: str = Field(
        default="", description="独立使用时的人格设定；在 MaiBot 中读取 personality.personality (persona, standalone)"
    )
    base_url: str = Field(
        default="", description="独立使用（命令行）时的 OpenAI 兼容地址，含 /v1；留空则不用 LLM (chat API base URL)"
    )
    api_key: SecretStr = Field(default=SecretStr(""), description="API key，也可用 api_key_env (API key)")
    api_key_env: str = Field(
        default="LLM2PIC_LLM_API_KEY", description="从该环境变量读取 key (env variable for the key)"
    )
    model: str = Field(default="", description="独立使用时的模型名，如 deepseek-chat (chat model)")
    timeout: float = Field(default=30.0, gt=0, le=600, description="LLM 请求超时，秒 (LLM timeout, s)")
    temperature: Optional[float] = Field(default=None, ge=0, le=2, description="温度，留空用默认 (temperature)")
    max_tokens: int = Field(
        default=0, ge=0, le=65536, description="回答 token 上限，0 = 不发送；推理模型请给足 (max tokens; 0: not sent)"
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_http_url(value, "base_url")

    def secret_values(self) -> list[str]:
        return [self.api_key.get_secret_value()]
