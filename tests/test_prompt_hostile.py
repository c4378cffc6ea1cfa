"""Text that breaks encoders (lone surrogates) and an LLM that echoes its key: cleaned once where
the prompt is made, so every backend's request encoder and every log accept it."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from llm2pic.prompt.engine import make_image_prompt
from llm2pic.drawing.llm_endpoint import OpenAIChatLLM
from llm2pic.prompt.parse import clean_text
from llm2pic.prompt.types import ChatMessage, Persona, PromptInput, PromptOptions

BASE = "http://127.0.0.1:8081/v1"
KEY = "local-key-NOT-token-shaped-4242"

BROKEN = ["画一只猫 \udcff", "\ud83d a cat cut inside an emoji", "a cat \ud83d\ude00 ok \udc00\ud800", "nul\x00cat"]
# What an LLM sends when max_tokens cuts an escaped emoji in half: plain ASCII that decodes to a lone surrogate.
ESCAPED = ['{"prompt": "a cat \\ud83d', '{"prompt": "a cat \\ud83d", "negative_prompt": "\\udc00 blur", "style": "\\ud800"}',
           '```json\n{"prompt": "a cat \\ud83d\\ude00 \\udfff"}\n```']


def encodable(text: str) -> bool:
    httpx.Request("POST", "http://127.0.0.1/", json={"prompt": text})
    text.encode("utf-8")
    return "\x00" not in text


@pytest.mark.parametrize("text", BROKEN)
async def test_a_request_with_lone_surrogates_becomes_an_encodable_prompt(text):
    job = PromptInput(text, history=[ChatMessage("\udcff某人", text)], persona=Persona("小\udcff画"))
    result = await make_image_prompt(job, PromptOptions(), None)
    assert encodable(result.prompt) and ("cat" in result.prompt or "猫" in result.prompt)


@pytest.mark.parametrize("answer", BROKEN + ESCAPED)
async def test_an_llm_answer_cut_inside_an_escaped_emoji_becomes_an_encodable_prompt(answer):
    async def llm(messages):
        json.dumps(messages, ensure_ascii=False).encode("utf-8")  # what the host's encoder does
        return answer
    result = await make_image_prompt(PromptInput("画一只猫 \udcff"), PromptOptions(), llm)
    assert result.source == "llm" and encodable(result.prompt) and ("cat" in result.prompt or "猫" in result.prompt)
    assert encodable(result.negative_prompt) and encodable(result.style)


@pytest.mark.parametrize("answer", ['{"prompt": ' + "[" * 100_000 + "]" * 100_000 + "}", "[" * 100_000,
                                    '{"prompt": "a cat"} ' + "{" * 5000])
async def test_a_deeply_nested_llm_answer_falls_back_or_parses(answer):
    async def llm(messages):
        return answer
    result = await make_image_prompt(PromptInput("画一只猫"), PromptOptions(), llm)
    assert result.prompt


def test_clean_text_keeps_valid_pairs_and_drops_lone_halves():
    assert clean_text("a\ud83d\ude00b") == "a😀b"
    assert clean_text("a\ud83db\udc00") == "ab"


@respx.mock
async def test_an_llm_that_echoes_its_own_key_does_not_put_it_into_the_prompt():
    respx.post(f"{BASE}/chat/completions").respond(json={"choices": [{"message": {
        "content": f"a cat holding a sign that says {KEY}"}}]})
    async with httpx.AsyncClient() as client:
        llm = OpenAIChatLLM(client, base_url=BASE, model="m", api_key=KEY)
        result = await make_image_prompt(PromptInput("画一只猫"), PromptOptions(), llm)
    assert result.source == "llm" and "cat" in result.prompt
    assert KEY not in result.prompt


@respx.mock
async def test_ordinary_words_in_an_llm_prompt_survive_redaction():
    """Redaction of the LLM's answer masks its own key and token shapes, not pictures: "the bearer of
    light" or "a secret: hidden door" are what the user asked for (the key-echo rules are for server
    error texts)."""
    scene = "a knight, bearer of light, finds a secret: hidden door, a note that says password: swordfish"
    respx.post(f"{BASE}/chat/completions").respond(json={"choices": [{"message": {
        "content": f"{scene}, sk-abcdefgh12345678 {KEY}"}}]})
    async with httpx.AsyncClient() as client:
        llm = OpenAIChatLLM(client, base_url=BASE, model="m", api_key=KEY)
        result = await make_image_prompt(PromptInput("画一个骑士"), PromptOptions(), llm)
    assert result.source == "llm" and result.prompt.startswith(scene)
    assert KEY not in result.prompt and "sk-abcdefgh12345678" not in result.prompt


@pytest.mark.parametrize("answer", ["[" * 200_000, "![" * 100_000, "<think>" * 50_000 + "x", "{" * 200_000,
                                    "</think>" * 20_000 + "<think>" * 20_000, "a " * 500_000])
async def test_a_huge_hostile_llm_answer_is_parsed_quickly(answer):
    import time

    async def llm(messages):
        return answer
    started = time.perf_counter()
    await make_image_prompt(PromptInput("画一只猫"), PromptOptions(), llm)
    assert time.perf_counter() - started < 1.5


class Endless(httpx.AsyncByteStream):
    def __init__(self) -> None:
        self.pulled = 0

    async def __aiter__(self):
        while self.pulled < 10_000:
            self.pulled += 1
            yield b"x" * 65536


@pytest.mark.parametrize("body", ["endless", b'{"choices": [{"message": 5}]}', b"[" * 100_000])
async def test_a_hostile_chat_endpoint_is_a_chat_llm_error_and_bounded(body):
    from llm2pic.drawing.llm_endpoint import ChatLLMError

    stream = Endless() if body == "endless" else None
    response = (httpx.Response(200, stream=stream) if stream else httpx.Response(200, content=body))
    with respx.mock() as router:
        router.post(f"{BASE}/chat/completions").mock(return_value=response)
        async with httpx.AsyncClient() as client:
            with pytest.raises(ChatLLMError):
                await OpenAIChatLLM(client, base_url=BASE, model="m", api_key=KEY)([{"role": "user", "content": "x"}])
    if stream:
        assert stream.pulled * 65536 <= 5 * 1024 * 1024
