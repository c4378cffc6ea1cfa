"""Selfie mode: the bot's appearance and identity in the prompt, portrait aspect, reference image carried."""

from __future__ import annotations

import pytest

from llm2pic.drawing.pipeline import request_from
from llm2pic.prompt.engine import make_image_prompt
from llm2pic.prompt.selfie import apply_selfie, is_selfie_request, read_reference_image
from llm2pic.prompt.types import Persona, PromptInput, PromptOptions, SelfieOptions

LOOK = "short pink hair, round glasses, oversized white hoodie"
PERSONA = Persona("小樱", "一个喜欢猫和咖啡的大学生")


def opts(reference: str = "/data/sakura.png", **kw) -> PromptOptions:
    selfie = SelfieOptions(appearance=LOOK, reference_image=reference, aspect="3:4",
                           trigger_words=("自拍", "拍张照片", "拍张图"))
    return PromptOptions(selfie=selfie, **kw)


class Answer:
    def __init__(self, text: str):
        self.text, self.calls = text, []

    async def __call__(self, messages):
        self.calls.append(messages)
        return self.text


async def test_selfie_flag_puts_identity_and_appearance_first():
    llm = Answer('{"prompt": "sitting in a cozy cafe by the window, latte on the table", "aspect": "16:9"}')
    result = await make_image_prompt(PromptInput("你在干嘛", persona=PERSONA, selfie=True, now=0), opts(), llm)
    assert result.prompt == f"a selfie photo of 小樱, {LOOK}, sitting in a cozy cafe by the window, latte on the table"
    assert (result.selfie, result.aspect, result.reference_image) == (True, "3:4", "/data/sakura.png")
    system, user = llm.calls[0]
    assert LOOK in system["content"] and "小樱" in system["content"]
    assert "【模式】自拍" in user["content"]


@pytest.mark.parametrize("text", ["自拍", "拍张照片看看", "你现在在哪，拍张图看看", "来张ＳＥＬＦＩＥ"])
async def test_trigger_words_switch_selfie_on(text):
    options = PromptOptions(selfie=SelfieOptions(appearance=LOOK, trigger_words=("自拍", "拍张照片", "拍张图", "selfie")))
    result = await make_image_prompt(PromptInput(text, persona=PERSONA, now=0), options, None)
    assert result.selfie and result.aspect == "3:4"
    assert result.prompt.startswith(f"a selfie photo of 小樱, {LOOK}, ")


async def test_llm_may_recognise_a_selfie_request():
    llm = Answer('{"prompt": "a selfie photo of 小樱 on a rooftop at night", "selfie": true}')
    result = await make_image_prompt(PromptInput("给我看看你现在的样子", persona=PERSONA, now=0), opts(), llm)
    assert result.selfie
    assert result.prompt == f"{LOOK}, a selfie photo of 小樱 on a rooftop at night"  # framing not repeated


async def test_llm_failure_still_gives_a_selfie():
    async def broken(messages):
        raise RuntimeError("host LLM down")

    result = await make_image_prompt(PromptInput("自拍一张", persona=PERSONA, now=0), opts(), broken)
    assert result.source == "fallback"
    assert result.prompt == f"a selfie photo of 小樱, {LOOK}, 自拍一张"
    assert result.reference_image == "/data/sakura.png"


async def test_explicit_aspect_beats_portrait_default():
    result = await make_image_prompt(PromptInput("自拍", persona=PERSONA, selfie=True, aspect="1:1", now=0), opts(), None)
    assert result.aspect == "1:1"


async def test_not_a_selfie_has_no_reference_and_llm_aspect():
    result = await make_image_prompt(PromptInput("画一只狐狸", persona=PERSONA, now=0), opts(),
                                     Answer('{"prompt": "a fox", "aspect": "16:9"}'))
    assert (result.selfie, result.reference_image, result.aspect, result.prompt) == (False, "", "16:9", "a fox")


async def test_reference_image_travels_into_the_generation_request(tmp_path):
    image = tmp_path / "ref.png"
    image.write_bytes(b"\x89PNG fake")
    result = await make_image_prompt(PromptInput("自拍", persona=PERSONA, now=0), opts(str(image)), None)
    request = request_from(result, seed=7, reference_images=(await read_reference_image(result.reference_image),))
    assert request.reference_images == (b"\x89PNG fake",)
    assert (request.prompt, request.aspect, request.seed) == (result.prompt, "3:4", 7)


async def test_reference_image_too_big_is_refused(tmp_path):
    image = tmp_path / "big.png"
    image.write_bytes(b"x" * 100)
    with pytest.raises(ValueError):
        await read_reference_image(str(image), max_bytes=10)


def test_apply_selfie_without_appearance_or_name():
    assert apply_selfie("in a park", "", "") == "a selfie photo of the narrator, in a park"
    assert is_selfie_request("SELFIE please", ["selfie"]) and not is_selfie_request("画只猫", ["自拍"])
