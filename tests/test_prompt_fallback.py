"""The LLM fails or is slow: the request text itself becomes the prompt, and the log says so."""

from __future__ import annotations

import asyncio
import logging

import pytest

from llm2pic.prompt.engine import make_image_prompt
from llm2pic.prompt.fallback import request_to_prompt
from llm2pic.prompt.types import PromptInput, PromptOptions
from llm2pic.errors import PromptRefused


@pytest.mark.parametrize("text,expected", [
    ("帮我画一张猫咪的图片", "猫咪"),
    ("画一张猫咪的图片", "猫咪"),
    ("请画一只在雨中奔跑的柴犬吧！", "在雨中奔跑的柴犬"),
    ("给我来张夕阳下的海边照片", "夕阳下的海边"),
    ("生成一幅山水画", "山水画"),
    ("能不能画个 赛博朋克城市 呀", "赛博朋克城市"),
    ("@麦麦 画一张星空", "星空"),
    ("/draw a red fox", "a red fox"),
    ("Draw me a picture of a castle", "a castle"),
    ("画", "画"),
])
def test_trigger_words_are_stripped(text, expected):
    assert request_to_prompt(text, 1000) == expected


async def test_llm_raises(caplog):
    async def broken(messages):
        raise ConnectionError("connection refused by sk-abcdefghijklmnop")

    with caplog.at_level(logging.WARNING, logger="llm2pic.prompt"):
        result = await make_image_prompt(PromptInput("帮我画一张猫咪的图片"), PromptOptions(), broken)
    assert (result.prompt, result.source) == ("猫咪", "fallback")
    assert "prompt LLM failed (ConnectionError" in caplog.text
    assert "sk-abcdefghijklmnop" not in caplog.text
    assert any("fallback" in note for note in result.notes)


async def test_llm_times_out(caplog):
    async def slow(messages):
        await asyncio.sleep(10)
        return '{"prompt": "never"}'

    with caplog.at_level(logging.WARNING, logger="llm2pic.prompt"):
        result = await make_image_prompt(PromptInput("画一张雪山日出"), PromptOptions(llm_timeout=0.05), slow)
    assert (result.prompt, result.source) == ("雪山日出", "fallback")
    assert "timed out" in caplog.text


async def test_fallback_chinese_prompt_is_not_translated_or_deleted():
    async def broken(messages):
        raise RuntimeError("down")

    result = await make_image_prompt(PromptInput("画一只橘猫"), PromptOptions(prompt_languages=frozenset({"en"})), broken)
    assert result.prompt == "橘猫"  # better a Chinese prompt than an empty one


async def test_no_llm_is_direct_and_unchanged():
    result = await make_image_prompt(PromptInput("  画一张   猫咪的图片 "), PromptOptions(custom_prompt_add=", 4k"), None)
    assert (result.prompt, result.source) == ("画一张 猫咪的图片, 4k", "direct")


async def test_cancellation_is_not_swallowed():
    async def slow(messages):
        await asyncio.sleep(10)

    task = asyncio.ensure_future(make_image_prompt(PromptInput("猫"), PromptOptions(), slow))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("llm_answer", [None, ""])
async def test_nothing_to_draw_is_refused_politely(llm_answer):
    async def empty(messages):
        return llm_answer

    with pytest.raises(PromptRefused) as caught:
        await make_image_prompt(PromptInput("   "), PromptOptions(custom_prompt_add="4k"),
                                empty if llm_answer is not None else None)
    assert caught.value.user_message == "想画点什么呢？说具体一点吧～"
