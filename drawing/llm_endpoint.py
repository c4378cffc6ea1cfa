"""The standalone prompt LLM: an OpenAI-compatible /chat/completions endpoint (OpenAI, DeepSeek,
SiliconFlow, Ollama, LM Studio …) over an httpx.AsyncClient the caller owns."""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Mapping, Optional

import httpx

from ..errors import ProtocolError
from ..backends.http import read_capped
from ..reasons import one_line
from ..redaction import redact
from ..config.secrets import secret_from

# A chat answer is a few KB; a server that sends more is not read past this.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class ChatLLMError(Exception):
    """The chat endpoint gave no answer; the message is redacted and never holds the key."""


class OpenAIChatLLM:
    """A ChatLLM callable: `await llm(messages) -> str`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 30.0,
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._api_key = api_key
        self._timeout = timeout
        self._temperature = temperature
        self._max_tokens = max_tokens

    def __repr__(self) -> str:
        return f"OpenAIChatLLM(url={self._safe(self._url)!r}, model={self._model!r})"

    @property
    def secrets(self) -> list[str]:
        """What `redact` must mask in anything this LLM says (it may echo its own key)."""
        return [self._api_key]

    def _safe(self, text: object) -> str:
        return one_line(redact(text, [self._api_key]))  # server text: one line, keys masked

    async def __call__(self, messages: list[dict[str, str]]) -> str:
        body: dict[str, Any] = {"model": self._model, "messages": messages, "stream": False}
        if self._temperature is not None:
            body["temperature"] = self._temperature
        if self._max_tokens:
            body["max_tokens"] = self._max_tokens
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            async with self._client.stream("POST", self._url, json=body, headers=headers,
                                           timeout=self._timeout) as response:
                raw = await read_capped(response, MAX_ANSWER_BYTES)
        except ProtocolError as exc:
            raise ChatLLMError(f"chat endpoint {self._safe(self._url)}: {exc.detail}") from None
        except httpx.TimeoutException:
            raise ChatLLMError(f"chat endpoint {self._safe(self._url)} timed out after {self._timeout:.0f} s") from None
        except httpx.HTTPError as exc:
            raise ChatLLMError(f"chat endpoint {self._safe(self._url)} failed: {type(exc).__name__}") from None
        text = raw[:300].decode("utf-8", "replace")
        if response.status_code >= 400:
            raise ChatLLMError(f"chat endpoint answered HTTP {response.status_code}: {self._safe(text)}")
        try:
            return _content(json.loads(raw))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
            raise ChatLLMError(f"chat endpoint sent an unexpected body: {self._safe(text)}") from None


def _content(data: Mapping[str, Any]) -> str:
    content = data["choices"][0]["message"].get("content") or ""
    if isinstance(content, list):  # content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return str(content)


@asynccontextmanager
async def endpoint_llm(llm_section: Any, environ: Optional[Mapping[str, str]] = None
                       ) -> AsyncIterator[Optional[OpenAIChatLLM]]:
    """The `[llm]` endpoint as a ChatLLM with a client of its own while the block runs; None when
    base_url or model is not configured (then the request text is drawn as typed)."""
    if not llm_section.base_url or not llm_section.model:
        yield None
        return
    from ..backends.tls import shared_tls_context

    async with httpx.AsyncClient(verify=shared_tls_context()) as client:
        yield chat_llm_from_config(llm_section, client, environ)


def chat_llm_from_config(
    llm_section: Any, client: httpx.AsyncClient, environ: Optional[Mapping[str, str]] = None
) -> Optional[OpenAIChatLLM]:
    """The standalone chat LLM from `[llm]`, or None when base_url or model is not configured."""
    if not llm_section.base_url or not llm_section.model:
        return None
    environ = os.environ if environ is None else environ
    api_key = secret_from(llm_section.api_key, llm_section.api_key_env or "", environ)
    return OpenAIChatLLM(
        client,
        base_url=llm_section.base_url,
        model=llm_section.model,
        api_key=api_key,
        timeout=llm_section.timeout,
        temperature=llm_section.temperature,
        max_tokens=llm_section.max_tokens or None,
    )
