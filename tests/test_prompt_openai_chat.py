"""The standalone OpenAI-compatible chat LLM, over respx (loopback only)."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import httpx
import pytest
import respx
from pydantic import SecretStr

from llm2pic.prompt.engine import make_image_prompt
from llm2pic.drawing.llm_endpoint import ChatLLMError, OpenAIChatLLM, chat_llm_from_config
from llm2pic.prompt.types import PromptInput, PromptOptions

BASE = "http://127.0.0.1:8081/v1"
KEY = "sk-local-secret-0123456789"
MESSAGES = [{"role": "user", "content": "hi"}]


def ok(content) -> httpx.Response:
    return httpx.Response(200, json={"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


@respx.mock
async def test_request_shape_and_answer(client):
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=ok("a cat"))
    llm = OpenAIChatLLM(client, base_url=BASE + "/", model="deepseek-chat", api_key=KEY, temperature=0.3, max_tokens=512)
    assert await llm(MESSAGES) == "a cat"
    request = route.calls[0].request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {"model": "deepseek-chat", "messages": MESSAGES, "stream": False,
                                           "temperature": 0.3, "max_tokens": 512}


@respx.mock
async def test_no_key_no_header_and_content_parts(client):
    route = respx.post(f"{BASE}/chat/completions").mock(
        return_value=ok([{"type": "text", "text": "a "}, {"type": "text", "text": "fox"}]))
    assert await OpenAIChatLLM(client, base_url=BASE, model="m")(MESSAGES) == "a fox"
    assert "authorization" not in route.calls[0].request.headers


@pytest.mark.parametrize("response,expected", [
    (httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {KEY}"}}), "HTTP 401"),
    (httpx.Response(500, text="upstream exploded"), "HTTP 500: upstream exploded"),
    (httpx.Response(200, text="<html>proxy login</html>"), "unexpected body"),
    (httpx.Response(200, json={"choices": []}), "unexpected body"),
    (httpx.ReadTimeout("slow"), "timed out"),
    (httpx.ConnectError("refused"), "failed: ConnectError"),
])
@respx.mock
async def test_failures_are_chat_errors_without_the_key(client, response, expected):
    route = respx.post(f"{BASE}/chat/completions")
    if isinstance(response, Exception):
        route.mock(side_effect=response)
    else:
        route.mock(return_value=response)
    llm = OpenAIChatLLM(client, base_url=BASE, model="m", api_key=KEY)
    with pytest.raises(ChatLLMError) as caught:
        await llm(MESSAGES)
    assert expected in str(caught.value)
    assert KEY not in str(caught.value) and KEY not in repr(llm)


@respx.mock
async def test_engine_falls_back_when_the_endpoint_fails(client, caplog):
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(503, text=f"overloaded, key={KEY}"))
    llm = OpenAIChatLLM(client, base_url=BASE, model="m", api_key=KEY)
    with caplog.at_level(logging.WARNING, logger="llm2pic.prompt"):
        result = await make_image_prompt(PromptInput("帮我画一张猫咪的图片"), PromptOptions(), llm)
    assert (result.prompt, result.source) == ("猫咪", "fallback")
    assert "HTTP 503" in caplog.text and KEY not in caplog.text


def section(**kw):
    values = dict(base_url=BASE, model="m", api_key=SecretStr(""), api_key_env="MY_KEY", timeout=5.0,
                  temperature=None, max_tokens=0)
    values.update(kw)
    return SimpleNamespace(**values)


@respx.mock
async def test_from_config_reads_the_env_key(client):
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=ok("x"))
    llm = chat_llm_from_config(section(), client, environ={"MY_KEY": KEY})
    await llm(MESSAGES)
    assert route.calls[0].request.headers["authorization"] == f"Bearer {KEY}"
    explicit = chat_llm_from_config(section(api_key=SecretStr("sk-explicit-000000")), client, environ={"MY_KEY": KEY})
    await explicit(MESSAGES)
    assert route.calls[1].request.headers["authorization"] == "Bearer sk-explicit-000000"


def test_from_config_without_endpoint_is_none():
    assert chat_llm_from_config(section(base_url=""), None) is None
    assert chat_llm_from_config(section(model=""), None) is None
