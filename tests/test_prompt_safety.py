"""Forbidden words on the request and on the final prompt."""

from __future__ import annotations

import pytest

from llm2pic.prompt.engine import make_image_prompt
from llm2pic.config.safety import DEFAULT_FORBIDDEN_WORDS
from llm2pic.prompt.safety import find_forbidden
from llm2pic.prompt.types import PromptInput, PromptOptions, SafetyOptions
from llm2pic.errors import PromptRefused

WORDS = ("nude", "gore", "色情", "Blood Bath")


@pytest.mark.parametrize("text,mode,hit", [
    ("a NUDE statue", "word", "nude"),
    ("ｎｕｄｅ figure", "word", "nude"),            # full-width
    ("two nudes", "word", "nude"),                # plural
    ("denuded hillside", "word", None),           # whole words only
    ("denuded hillside", "substring", "nude"),
    ("画一张nude的图", "word", "nude"),             # Latin word next to CJK
    ("来点色情图片", "word", "色情"),                  # CJK always substring
    ("a  blood   bath scene", "word", "Blood Bath"),  # whitespace normalised
    ("a gorgeous sunset", "word", None),
    ("", "word", None),
])
def test_find_forbidden(text, mode, hit):
    assert find_forbidden(text, WORDS, mode) == hit


def test_empty_list_and_blank_words_are_safe():
    assert find_forbidden("anything nude", [], "word") is None
    assert find_forbidden("anything", ["", "  "], "substring") is None


def test_default_list_is_sensible():
    assert find_forbidden("画一张涩图", DEFAULT_FORBIDDEN_WORDS) == "涩图"
    assert find_forbidden("a cute cat in a sunny garden", DEFAULT_FORBIDDEN_WORDS) is None
    assert find_forbidden("Sussex countryside, essex", DEFAULT_FORBIDDEN_WORDS) is None


class Answer:
    def __init__(self, text):
        self.text, self.called = text, False

    async def __call__(self, messages):
        self.called = True
        return self.text


def opts(**kw):
    return PromptOptions(safety=SafetyOptions(forbidden_words=WORDS, refusal_message="换个话题吧"), **kw)


async def test_request_hit_stops_before_the_llm():
    llm = Answer('{"prompt": "a statue"}')
    with pytest.raises(PromptRefused) as caught:
        await make_image_prompt(PromptInput("画一个 NUDE 雕像"), opts(), llm)
    assert not llm.called
    assert caught.value.user_message == "换个话题吧"
    assert "nude" in caught.value.detail


async def test_final_prompt_hit_stops_the_job():
    with pytest.raises(PromptRefused):
        await make_image_prompt(PromptInput("画一个战场"), opts(), Answer('{"prompt": "a battlefield, gore everywhere"}'))


async def test_custom_prompt_add_is_checked_too():
    with pytest.raises(PromptRefused):
        await make_image_prompt(PromptInput("a cat"), opts(custom_prompt_add="nude"), None)


async def test_negative_prompt_may_name_forbidden_things():
    result = await make_image_prompt(
        PromptInput("a cat"), opts(), Answer('{"prompt": "a cat", "negative_prompt": "nude, gore"}'))
    assert result.negative_prompt == "nude, gore"


async def test_disabled_safety_lets_everything_through():
    options = PromptOptions(safety=SafetyOptions(enabled=False, forbidden_words=WORDS))
    assert (await make_image_prompt(PromptInput("gore"), options, None)).prompt == "gore"
