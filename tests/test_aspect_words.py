"""Aspect and size from the words of a request, the style a request names, and how the prompt engine
ranks them (explicit > words > style preset > selfie > LLM > config); the LLM may be off."""

from __future__ import annotations

import pytest

from llm2pic.aspects import parse_aspect
from llm2pic.prompt.aspect_words import MAX_WORD_PIXELS, aspect_from_words
from llm2pic.backends.base import GenerationRequest
from llm2pic.prompt.engine import make_image_prompt
from llm2pic.prompt.style_words import style_named_in
from llm2pic.drawing.pipeline import request_from
from llm2pic.prompt.types import PromptInput, PromptOptions, SelfieOptions, Style


@pytest.mark.parametrize("text, aspect", [
    ("横图 一只猫", "16:9"), ("画个竖图的猫", "9:16"), ("来张手机壁纸，星空", "9:16"), ("电脑壁纸 海边", "16:9"),
    ("壁纸：森林", "16:9"), ("横屏的赛博朋克城市", "16:9"), ("竖屏", "9:16"), ("方图 猫", "1:1"),
    ("正方形构图的花", "1:1"), ("画一个可爱的猫猫头像", "1:1"), ("做个头像", "1:1"), ("B站视频封面", "16:9"),
    ("小说封面，古风", "3:4"), ("专辑封面", "1:1"), ("群横幅", "21:9"), ("a banner with dragons", "21:9"),
    ("16:9 的海", "16:9"), ("16：9 的海", "16:9"), ("16比9的海", "16:9"), ("比例 3:2", "3:2"),
    ("画个16:10的山", "16:10"), ("a cat, landscape orientation", "16:9"), ("phone wallpaper of a fox", "9:16"),
    ("Wallpaper, mountains", "16:9"), ("square image of a dog", "1:1"), ("new pfp please", "1:1"),
    ("不要横图，要竖图", "9:16"), ("１６：９的海", "16:9"),
])
def test_words_give_an_aspect(text, aspect):
    found = aspect_from_words(text)
    assert found is not None and found.aspect == aspect and found.width is None
    parse_aspect(found.aspect)


@pytest.mark.parametrize("text, size, aspect", [
    ("1920x1080 的风景", (1920, 1080), "16:9"), ("1920*1080", (1920, 1080), "16:9"),
    ("1080×1920 竖的", (1080, 1920), "9:16"), ("分辨率 1024 x 768 px", (1024, 768), "4:3"),
    ("1000X700", (1000, 700), "10:7"), ("１９２０＊１０８０", (1920, 1080), "16:9"), ("横图 512x512", (512, 512), "1:1"),  # pixels beat words
])
def test_pixel_sizes_give_a_size_and_its_ratio(text, size, aspect):
    found = aspect_from_words(text)
    assert found is not None and (found.width, found.height) == size and found.aspect == aspect


def test_a_huge_size_keeps_its_ratio_within_the_pixel_bound():
    found = aspect_from_words("7680x4320 的壁纸")
    assert found.aspect == "16:9" and found.width * found.height <= MAX_WORD_PIXELS
    assert abs(found.width / found.height - 16 / 9) < 0.01 and found.width % 8 == 0 and found.height % 8 == 0


@pytest.mark.parametrize("text", [
    "用我的头像画一只猫", "把我的头像改成赛博朋克风", "参考头像画", "用他的QQ头像画个表情包", "my avatar as a knight",
    "3只猫", "画3x3的九宫格", "12:30的时钟", "下午3点", "1只猫和2只狗", "2024年的新年贺图", "画一个正方形的盒子",
    "a portrait of a girl", "a vertically-challenged dwarf", "不要横图", "画一幅风景", "100x100000 的条",
    "", "0x1234",
])
def test_false_positives_give_no_aspect(text):
    assert aspect_from_words(text) is None


@pytest.mark.parametrize("text, expected", [
    ("用水彩风格画一只猫", "水彩"), ("水彩风格的猫", "水彩"), ("画成水彩", "水彩"), ("风格：水彩，一只猫", "水彩"),
    ("a cat in watercolor style", "watercolor"), ("日系水彩风的海", "日系水彩"), ("赛博朋克风的城市", "赛博朋克"),
    ("画一盒水彩笔", None), ("不要水彩风格", None), ("一只猫", None), ("watercolors style", None),
])
def test_a_request_names_a_style(text, expected):
    assert style_named_in(text, ["水彩", "watercolor", "日系水彩", "赛博朋克"]) == expected


async def test_words_set_the_aspect_without_an_llm():
    drawn = await make_image_prompt(PromptInput("横图 一只猫"), PromptOptions())
    assert drawn.aspect == "16:9" and drawn.width is None and drawn.prompt == "横图 一只猫"
    sized = await make_image_prompt(PromptInput("1920x1080 一只猫"), PromptOptions())
    assert (sized.aspect, sized.width, sized.height) == ("16:9", 1920, 1080)
    request = request_from(sized, width=1024, height=1024)  # the config's fixed size loses to the words'
    assert (request.width, request.height) == (1920, 1080)


async def test_explicit_aspect_beats_the_words_and_drops_their_size():
    drawn = await make_image_prompt(PromptInput("1920x1080 一只猫", aspect="3:4"), PromptOptions())
    assert drawn.aspect == "3:4" and drawn.width is None and drawn.height is None


async def test_words_beat_the_selfie_default_and_the_llm():
    async def llm(messages):
        assert "用户指定 9:16" in messages[1]["content"]  # the LLM composes for what was asked
        return '{"prompt": "a girl", "aspect": "1:1"}'

    options = PromptOptions(selfie=SelfieOptions(aspect="3:4"))
    drawn = await make_image_prompt(PromptInput("竖屏 自拍", selfie=True), options, llm)
    assert drawn.aspect == "9:16"


async def test_the_style_wraps_the_prompt_and_sets_negative_aspect_backend_and_inputs():
    style = Style("水彩", prefix="watercolor painting, ", suffix=", soft colors", negative_prompt="photo",
                  aspect="3:4", backend="sd", inputs={"steps": 30}, description="水彩画")
    seen = []

    async def llm(messages):
        seen.append(messages[1]["content"])
        return '{"prompt": "a cat on a roof", "negative_prompt": "blurry", "aspect": "16:9"}'

    drawn = await make_image_prompt(PromptInput("画一只猫", style=style), PromptOptions(negative_prompt="lowres"), llm)
    assert drawn.prompt == "watercolor painting, a cat on a roof, soft colors"
    assert drawn.negative_prompt == "lowres, photo, blurry"
    assert drawn.aspect == "3:4" and drawn.preset == "水彩"
    assert "【画风】\"水彩\"" in seen[0] and "用户指定 3:4" in seen[0]
    request = request_from(drawn)
    assert request.prefer_backend == "sd" and request.inputs == {"steps": 30}
    words = await make_image_prompt(PromptInput("横图 猫", style=style), PromptOptions())
    assert words.aspect == "16:9" and words.prompt == "watercolor painting, 横图 猫, soft colors"


async def test_a_prefix_the_prompt_already_has_is_not_doubled():
    style = Style("水彩", prefix="Watercolor painting")
    drawn = await make_image_prompt(PromptInput("watercolor painting of a cat", style=style), PromptOptions())
    assert drawn.prompt == "watercolor painting of a cat"


def test_an_explicit_size_is_rounded_to_the_backends_multiple():
    request = GenerationRequest("x", width=1920, height=1080)
    assert request.size(multiple=64) == (1920, 1088) and request.size(multiple=8) == (1920, 1080)
