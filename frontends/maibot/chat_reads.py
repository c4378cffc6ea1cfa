"""Glue for a chat host such as MaiBot, without importing its SDK: its LLM call as a ChatLLM and
its message dicts as ChatMessages. plugin.py passes `ctx.llm.generate` and `ctx.message.*` results."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable, Mapping, Optional

from ...redaction import redact
from ...prompt.types import ChatLLM, ChatMessage


class HostLLMError(Exception):
    """The host's LLM call reported failure."""


def host_llm(generate: Callable[..., Awaitable[Mapping[str, Any]]], model_name: str = "") -> ChatLLM:
    """A ChatLLM over MaiBot's `ctx.llm.generate(prompt, model=task)` → {"success", "response", "error"}."""

    async def call(messages: list[dict[str, str]]) -> str:
        result = await generate(messages, model=model_name)
        if not isinstance(result, Mapping) or not result.get("success"):
            error = result.get("error") if isinstance(result, Mapping) else result
            raise HostLLMError(f"host LLM failed: {redact(error)[:300]}")
        return str(result.get("response") or "")

    return call


def messages_from_host(records: Iterable[Mapping[str, Any]], bot_user_id: Optional[str] = None) -> list[ChatMessage]:
    """MaiBot message dicts (`processed_plain_text`, `timestamp` as str, `message_info.user_info`)."""
    messages = []
    for record in records:
        text = str(record.get("processed_plain_text") or "").strip()
        if not text:
            continue
        user = ((record.get("message_info") or {}).get("user_info")) or {}
        speaker = str(user.get("user_cardname") or user.get("user_nickname") or user.get("user_id") or "?")
        try:
            when: Optional[float] = float(record.get("timestamp"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            when = None
        is_bot = bot_user_id is not None and str(user.get("user_id")) == str(bot_user_id)
        messages.append(ChatMessage(speaker=speaker, text=text, time=when, is_bot=is_bot))
    messages.sort(key=lambda m: m.time if m.time is not None else float("-inf"))
    return messages
