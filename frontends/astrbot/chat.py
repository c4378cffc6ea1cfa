"""What the core needs from AstrBot: a ChatPort over `context.send_message` and a ChatLLM over
`context.llm_generate`. Needs AstrBot; imported only by the AstrBot entry point."""

from __future__ import annotations

from typing import Any, Callable, Awaitable

from astrbot.api.event import MessageChain
import astrbot.api.message_components as Comp

from ...prompt.types import ChatLLM
from ...redaction import redact


class AstrBotChat:
    """Sends to a chat by its unified_msg_origin, also after the handler has returned (a finished
    job). AstrBot documents that `qq_official` cannot send this way."""

    def __init__(self, context: Any) -> None:
        self._context = context

    async def send_text(self, chat_id: str, text: str) -> bool:
        return bool(await self._context.send_message(chat_id, MessageChain().message(text)))

    async def send_image(self, chat_id: str, image_base64: str) -> bool:
        return bool(await self._context.send_message(chat_id, MessageChain([Comp.Image.fromBase64(image_base64)])))

    async def send_images(self, chat_id: str, images_base64: list[str]) -> bool:
        """Several images as one message."""
        chain = MessageChain([Comp.Image.fromBase64(image) for image in images_base64])
        return bool(await self._context.send_message(chat_id, chain))


class AstrBotLLMError(Exception):
    """AstrBot's chat provider failed or gave no text."""


def astrbot_llm(context: Any, provider_id: Callable[[], Awaitable[str]]) -> ChatLLM:
    """Our prompt engine's messages through AstrBot's chat provider (`llm_generate`, no tools)."""

    async def call(messages: list[dict[str, str]]) -> str:
        system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system")
        turns = [{"role": m["role"], "content": m["content"]} for m in messages if m.get("role") != "system"]
        try:
            response = await context.llm_generate(chat_provider_id=await provider_id(), contexts=turns,
                                                  system_prompt=system or None)
        except Exception as exc:  # ProviderNotFoundError, the provider's own errors
            raise AstrBotLLMError(f"AstrBot chat provider failed: {type(exc).__name__}: {redact(str(exc))[:300]}") from None
        text = getattr(response, "completion_text", "") or ""
        if getattr(response, "role", "assistant") == "err" or not text.strip():
            raise AstrBotLLMError(f"AstrBot chat provider gave no text: {redact(text)[:300]}")
        return text

    return call
