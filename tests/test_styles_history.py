"""Style presets in the config, the chat's style kept in the usage file across a restart, the history
store's bounds, and a preset's preferred backend tried first without bypassing the chain's rules."""

from __future__ import annotations

import json

import pytest

from llm2pic.backends.base import Backend, GeneratedImage, GenerationRequest, no_progress
from llm2pic.backends.chain import BackendChain
from llm2pic.config.chain import ChainSection
from llm2pic.config.load import ConfigError, load_config_data
from llm2pic.drawing.admission import Who
from llm2pic.drawing.history import PromptHistory
from llm2pic.drawing.service import DrawingService
from llm2pic.drawing.styles import style_for_request
from llm2pic.errors import QuotaError
from llm2pic.drawing.pipeline import request_from
from llm2pic.prompt.types import ImagePrompt

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)
STYLES = {"水彩": {"prefix": "watercolor painting, ", "aspect": "3:4", "aliases": ["watercolor"],
                   "description": "水彩画", "inputs": {"steps": 30}},
          "anime": {"prefix": "anime style, "}}


class Port:
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def send_text(self, chat_id: str, text: str) -> bool:
        self.texts.append(text)
        return True

    async def send_image(self, chat_id: str, image_base64: str) -> bool:
        return True


class Named(Backend):
    def __init__(self, name: str, *outcomes, paid: bool = False) -> None:
        self.name, self.paid, self.outcomes, self.calls = name, paid, list(outcomes), 0

    async def generate(self, request, progress=no_progress):
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, BaseException):
            raise outcome
        return [GeneratedImage(PNG, "image/png", self.name)]

    async def probe(self):
        raise NotImplementedError


def config(**extra):
    return load_config_data({"styles": STYLES, **extra}).config


def test_presets_load_and_bad_ones_name_the_key():
    loaded = config()
    assert loaded.styles["水彩"].inputs == {"steps": 30} and loaded.styles["水彩"].aspect == "3:4"
    for bad, words in [({"off": {}}, "switches the style off"), ({"a b": {}}, "without spaces"),
                       ({"x": {"aspect": "wide"}}, "aspect"), ({"x": {"colour": "red"}}, "colour"),
                       ({"a": {"aliases": ["B"]}, "b": {}}, "both called"),
                       ({"x": {"inputs": {"steps": [1]}}}, "inputs")]:
        with pytest.raises(ConfigError) as caught:
            load_config_data({"styles": bad})
        assert "styles" in str(caught.value) and words in str(caught.value)


def test_the_request_names_a_preset_before_the_chats_one():
    loaded = config()
    assert style_for_request(loaded, "用水彩风格画猫", "anime").name == "水彩"
    assert style_for_request(loaded, "in watercolor style", "").name == "水彩"  # an alias
    assert style_for_request(loaded, "画猫", "anime").prefix == "anime style, "
    assert style_for_request(loaded, "画猫", "removed-since") is None
    assert style_for_request(load_config_data({}).config, "用水彩风格画猫", "") is None


async def test_the_chats_style_survives_a_restart_and_old_usage_files_still_load(tmp_path):
    usage = tmp_path / "usage.json"
    usage.write_text(json.dumps({"version": 1, "day": "2000-01-01", "users": {}, "groups": {}}), encoding="utf-8")
    port = Port()
    service = DrawingService(config(), port, usage_file=usage)
    await service.start()  # a file from before styles existed
    who = Who("chat-1", group_id="g1", user_id="u1")
    await service.pic(who, "style")
    assert port.texts[-1].startswith("这里没有设置画风预设")
    await service.pic(who, "style 不存在")
    assert "没有叫“不存在”的画风" in port.texts[-1] and "水彩、anime" in port.texts[-1]
    await service.pic(who, "style　anime风格")  # an ideographic space, and the word 风格 after the name
    assert port.texts[-1].startswith("好的，这里之后画图都用“anime”画风")
    await service.pic(who, "style WATERCOLOR")
    assert port.texts[-1].startswith("好的，这里之后画图都用“水彩”画风")
    await service.pic(who, "styles")
    assert "- 水彩（也叫 watercolor）：水彩画 ← 当前" in port.texts[-1]
    await service.close()
    saved = json.loads(usage.read_text(encoding="utf-8"))
    assert saved["chat_styles"] == {"version": 1, "chats": {"chat-1": "水彩"}} and "users" in saved

    again = DrawingService(config(), Port(), usage_file=usage)
    await again.start()
    assert again.chat_style("chat-1") == "水彩"
    await again.pic(who, "风格 off")  # the Chinese spelling of the subcommand
    assert again.chat_style("chat-1") == "" and again.board.engine  # cleared
    await again.close()
    assert json.loads(usage.read_text(encoding="utf-8"))["chat_styles"]["chats"] == {}
    assert not (tmp_path / "usage.json.partial").exists()


async def test_a_style_removed_from_the_config_is_said_and_not_used(tmp_path):
    usage = tmp_path / "usage.json"
    usage.write_text(json.dumps({"chat_styles": {"version": 1, "chats": {"c": "旧风格", "d": 5}}}), encoding="utf-8")
    port = Port()
    service = DrawingService(config(), port, usage_file=usage)
    await service.start()
    assert service.chat_style("d") == ""  # junk is dropped
    await service.pic(Who("c", group_id="g"), "style")
    assert "“旧风格”已经不在配置里了" in port.texts[-1]
    await service.close()
    usage.write_text(json.dumps({"chat_styles": {"version": 99, "chats": {"c": "水彩"}}}), encoding="utf-8")
    future = DrawingService(config(), Port(), usage_file=usage)
    await future.start()
    assert future.chat_style("c") == ""  # another version's layout is not guessed at
    await future.close()


def test_history_is_bounded_per_chat_and_in_chats():
    clock = iter(range(1000)).__next__
    history = PromptHistory(per_chat=3, chats=2, clock=lambda: float(clock()))
    for number in range(5):
        history.record("a", ImagePrompt(f"p{number}"), "lab", number)
    assert [d.image_prompt.prompt for d in history.recent("a")] == ["p4", "p3", "p2"]
    assert history.get("a", 2).seed == 3 and history.get("a", 4) is None and history.get("a", 0) is None
    history.record("b", ImagePrompt("b"), "lab", None)
    history.record("a", ImagePrompt("p5"), "lab", 5)  # "a" is now the most recently used
    history.record("c", ImagePrompt("c"), "lab", None)
    assert history.recent("b") == [] and len(history) == 2 and history.get("a").image_prompt.prompt == "p5"


async def test_pic_again_and_prompt_with_numbers_answer_in_chinese():
    port = Port()
    service = DrawingService(config(), port)
    who = Who("c", group_id="g", user_id="u")
    await service.pic(who, "again 2")
    assert port.texts[-1].startswith("这里还没有画过图")
    service.board.history.record("c", ImagePrompt("a red fox", negative_prompt="blurry", aspect="16:9",
                                                  preset="水彩"), "lab", 42)
    service.board.history.record("c", ImagePrompt("a blue whale"), "other", None)
    await service.pic(who, "history")
    lines = port.texts[-1].splitlines()
    assert lines[1].endswith("a blue whale（other）") and lines[2].endswith("a red fox（lab，种子 42，画风 水彩）")
    await service.pic(who, "prompt 2")
    assert port.texts[-1] == "提示词：a red fox\n负面提示词：blurry\n比例 16:9，lab，种子 42，画风 水彩"
    await service.pic(who, "prompt")
    assert port.texts[-1].startswith("提示词：a blue whale")
    await service.pic(who, "again 3")
    assert port.texts[-1] == "没有第 3 张，这里最近画过 2 张，用 /pic history 看看序号。"
    await service.pic(who, "again two")
    assert port.texts[-1] == "序号要写数字，比如 /pic again 2"
    await service.close()


async def test_the_preferred_backend_goes_first_within_the_chains_rules():
    first, second, third = Named("a"), Named("b"), Named("c")
    chain = BackendChain([first, second, third], ChainSection())
    images = await chain.generate(GenerationRequest("x", prefer_backend="c"))
    assert images[0].backend == "c" and (first.calls, third.calls) == (0, 1)
    images = await chain.generate(GenerationRequest("x", prefer_backend="not-there"))
    assert images[0].backend == "a"
    # A paused preferred backend is skipped like any other; a failing one falls back in order.
    paused = Named("p", QuotaError("used up"))
    chain = BackendChain([Named("a"), paused], ChainSection())
    assert (await chain.generate(GenerationRequest("x", prefer_backend="p")))[0].backend == "a"
    assert (await chain.generate(GenerationRequest("x", prefer_backend="p")))[0].backend == "a"
    assert paused.calls == 1  # its quota pause holds for the preset too


async def test_sd_webui_takes_the_presets_inputs_over_its_own_and_a_words_size_rounded():
    # The loopback fake of the A1111 API (tests/fake_sd_webui.py, from upstream modules/api/api.py).
    from fake_sd_webui import FakeSDWebUI
    from loopback_server import serve
    from llm2pic.backends.registry import build_backend, make_client
    from llm2pic.config.backends_selfhosted import SDWebUIBackendConfig

    fake = FakeSDWebUI()
    with serve(fake.app()) as url:
        settings = SDWebUIBackendConfig(name="webui", base_url=url, steps=4, extra={"cfg_scale": 3, "enable_hr": False})
        backend = build_backend(settings, make_client(settings), {})
        try:
            request = request_from(ImagePrompt("a fox", aspect="16:9", width=1000, height=563,
                                               inputs={"steps": 30, "cfg_scale": 6.5}), width=512, height=512)
            await backend.generate(request)
        finally:
            await backend._client.aclose()
    body = fake.requests[-1][2]
    assert body["steps"] == 30 and body["cfg_scale"] == 6.5 and body["enable_hr"] is False
    assert (body["width"], body["height"]) == (1024, 576)  # the words' size, to the backend's multiple of 64
