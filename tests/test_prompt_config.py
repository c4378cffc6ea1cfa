"""[llm], [selfie], [safety]: classic keys, defaults, one clear error naming the key, no secret in repr."""

from __future__ import annotations

import pytest

from llm2pic.config.load import ConfigError, load_config_data
from llm2pic.prompt.options import options_from_config


def test_classic_config_keeps_its_llm_keys():
    loaded = load_config_data({
        "api": {"api_type": "gradio"},
        "llm": {"model_name": "replyer", "system_prompt": "你是{persona}", "context_message_limit": 10},
    })
    assert loaded.migrated_from_legacy
    llm = loaded.config.llm
    assert (llm.model_name, llm.system_prompt, llm.context_message_limit, llm.context_time_minutes) == (
        "replyer", "你是{persona}", 10, 30)
    assert not [w for w in loaded.warnings if "llm." in w]  # nothing about [llm] was dropped


def test_defaults():
    config = load_config_data({}).config
    assert (config.llm.context_message_limit, config.llm.context_time_minutes) == (20, 30)
    assert config.llm.base_url == "" and config.selfie.aspect == "3:4"
    assert "自拍" in config.selfie.trigger_words and "nsfw" in config.safety.forbidden_words


@pytest.mark.parametrize("raw,message", [
    ({"llm": {"context_message_limit": 0}}, "llm.context_message_limit = 0"),
    ({"llm": {"context_time_minutes": 2000}}, "llm.context_time_minutes = 2000"),
    ({"llm": {"base_url": "ftp://x"}}, "llm.base_url"),
    ({"llm": {"on_refusal": "maybe"}}, "llm.on_refusal"),
    ({"selfie": {"aspect": "5:4"}}, "selfie.aspect = '5:4': aspect must be one of 1:1"),
    ({"selfie": {"reference_image": "https://x/y.png"}}, "selfie.reference_image"),
    ({"safety": {"match_mode": "regex"}}, "safety.match_mode"),
])
def test_bad_values_name_the_key(raw, message):
    with pytest.raises(ConfigError) as caught:
        load_config_data(raw)
    assert message in str(caught.value)


def test_api_key_never_shown():
    with pytest.raises(ConfigError) as caught:
        load_config_data({"llm": {"api_key": ["sk-should-not-appear"]}})
    assert "sk-should-not-appear" not in str(caught.value)
    config = load_config_data({"llm": {"api_key": "sk-should-not-appear-either"}}).config
    assert "sk-should-not-appear-either" not in repr(config) and "sk-should-not-appear-either" not in str(config.llm)


def test_unknown_key_is_reported():
    warnings = load_config_data({"llm": {"modle": "x"}}).warnings
    assert any("llm.modle" in w and "model" in w for w in warnings)


def test_options_from_config():
    config = load_config_data({
        "generation": {"custom_prompt_add": ", 4k", "aspect": "16:9", "negative_prompt": "lowres"},
        "llm": {"context_message_limit": 5, "max_prompt_chars": 300, "timeout": 12},
        "selfie": {"appearance": "red hair", "reference_image": "me.png", "trigger_words": ["自拍", " "]},
        "safety": {"forbidden_words": ["Foo"], "match_mode": "substring", "enabled": False},
    }).config
    options = options_from_config(config, ["en", "zh"])
    assert (options.custom_prompt_add, options.default_aspect, options.negative_prompt) == (", 4k", "16:9", "lowres")
    assert (options.history_limit, options.max_prompt_chars, options.llm_timeout) == (5, 300, 12.0)
    assert options.selfie.trigger_words == ("自拍",) and options.selfie.reference_image == "me.png"
    assert (options.safety.forbidden_words, options.safety.match_mode, options.safety.enabled) == (("Foo",), "substring", False)
    assert options.prompt_languages == frozenset({"en", "zh"})


def test_example_config_sections_load():
    import pathlib

    from llm2pic.config.load import tomllib

    raw = tomllib.loads((pathlib.Path(__file__).parent.parent / "config.example.toml").read_text(encoding="utf-8"))
    loaded = load_config_data(raw)
    assert not [w for w in loaded.warnings if w.startswith(("unknown config key llm", "unknown config key selfie",
                                                             "unknown config key safety"))]
    assert {"llm", "selfie", "safety"} <= set(raw)
    defaults = load_config_data({}).config  # the example documents the defaults, nothing else
    for section in ("llm", "selfie", "safety"):
        assert getattr(loaded.config, section) == getattr(defaults, section), section
