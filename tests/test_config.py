"""Config: defaults, one-line errors naming the key, unknown keys reported, classic migration."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm2pic.config.backends import GradioBackendConfig
from llm2pic.config.load import ConfigError, load_config, load_config_data

CLASSIC = """
[plugin]
enabled = true

[api]
api_type = "gradio"
base_url = "https://tongyi-mai-z-image-turbo.hf.space"
api_key = ""

[generation]
default_model = "gpt-image-1"
default_size = "1024x1024"
custom_prompt_add = ", best quality"
gradio_resolution = "1024x1024 ( 1:1 )"
gradio_steps = 9
gradio_shift = 3.5
gradio_timeout = 150

[components]
enable_image_generation = false
"""


def test_defaults_use_the_free_z_image_space_without_a_key():
    config = load_config(None).config
    assert config.plugin.config_version
    [backend] = config.backends
    assert backend.type == "gradio" and backend.space == "Tongyi-MAI/Z-Image-Turbo"
    assert backend.hf_token.get_secret_value() == ""


def test_the_example_config_loads_without_warnings():
    loaded = load_config(Path(__file__).resolve().parent.parent / "config.example.toml")  # whatever the cwd
    assert loaded.warnings == []
    assert [b.name for b in loaded.config.backends][:2] == ["z-image-turbo", "flux-schnell"]


@pytest.mark.parametrize("raw, expected", [
    ({"backends": [{"type": "gradio", "space": "a/b", "timeout": -5}]},
     "config error: backends[0].timeout = -5: Input should be greater than 0"),
    ({"generation": {"aspect": "wide"}},
     "config error: generation.aspect = 'wide': not an aspect ratio: 'wide' (expected e.g. '16:9')"),
    ({"backends": [{"type": "gradio"}]},
     "config error: backends[0]: set exactly one of space (owner/name) or base_url"),
    ({"backends": [{"type": "gradio", "base_url": "ftp://x"}]},
     "config error: backends[0].base_url = 'ftp://x': base_url must be an http(s) URL like https://host[:port][/path]"),
    ({"backends": [{"type": "dalle"}]},
     "config error: backends[0]: Input tag 'dalle' found using 'type' does not match any of the expected tags: "
     "'gradio', 'openai', 'hf_inference', 'sd_webui', 'comfyui'"),
    ({"backends": [{"type": "gradio", "space": "a/b", "inputs": {"p": "{promt}"}}]},
     "config error: backends[0].inputs = ... "),
])
def test_a_bad_value_fails_with_one_line_naming_key_and_value(raw, expected):
    with pytest.raises(ConfigError) as caught:
        load_config_data(raw)
    message = str(caught.value)
    assert "\n" not in message
    if expected.endswith("... "):
        assert message.startswith("config error: backends[0].inputs: inputs.p uses unknown template {promt}")
    else:
        assert message == expected


def test_a_secret_value_is_never_echoed_in_an_error():
    with pytest.raises(ConfigError) as caught:
        load_config_data({"backends": [{"type": "gradio", "space": "a/b", "hf_token": ["hf_secretvalue123"]}]})
    assert "hf_secretvalue123" not in str(caught.value)


def test_unknown_keys_are_reported_with_a_suggestion():
    loaded = load_config_data({"generation": {"aspectt": "1:1"}, "backends": [{"type": "gradio", "space": "a/b",
                                                                             "timout": 5}], "extra": 1})
    assert "unknown config key generation.aspectt (did you mean 'aspect'?): ignored" in loaded.warnings
    assert "unknown config key backends[0].timout (did you mean 'timeout'?): ignored" in loaded.warnings
    assert any(w.startswith("unknown config key extra") for w in loaded.warnings)


def test_backend_names_must_be_unique():
    with pytest.raises(ConfigError, match="two backends are named 'x'"):
        load_config_data({"backends": [{"type": "gradio", "space": "a/b", "name": "x"},
                                       {"type": "gradio", "space": "c/d", "name": "x"}]})


def test_secrets_do_not_show_in_repr():
    backend = GradioBackendConfig(space="a/b", hf_token="hf_reprcanary123456")
    assert "hf_reprcanary123456" not in repr(backend) and "hf_reprcanary123456" not in str(backend.model_dump())


def test_classic_config_is_migrated_and_keeps_the_users_settings(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CLASSIC, encoding="utf-8")
    loaded = load_config(path)
    assert loaded.migrated_from_legacy
    [backend] = loaded.config.backends
    assert backend.type == "gradio" and backend.base_url == "https://tongyi-mai-z-image-turbo.hf.space"
    assert backend.inputs == {"steps": 9, "shift": 3.5}
    assert backend.timeout == 150
    assert loaded.config.generation.custom_prompt_add == ", best quality"
    assert loaded.config.components.enable_image_generation is False  # carried over, not dropped
    assert not any("components" in w for w in loaded.warnings)


def test_classic_openai_config_becomes_an_images_through_chat_backend():
    raw = {"api": {"api_type": "openai", "base_url": "https://proxy.example/v1", "api_key": "sk-classic1234567"},
           "generation": {"default_model": "gemini-2.5-flash-image"}}
    loaded = load_config_data(raw)
    [backend] = loaded.config.backends
    assert (backend.type, backend.mode, backend.model) == ("openai", "chat", "gemini-2.5-flash-image")
    assert backend.api_key.get_secret_value() == "sk-classic1234567"


def test_classic_anime_and_real_sections_follow_default_style():
    raw = {"generation": {"default_style": "real"},
           "anime": {"api_type": "gradio", "base_url": "http://127.0.0.1:7860"},
           "real": {"api_type": "gradio", "base_url": "http://127.0.0.1:7861", "gradio_steps": 4},
           "api": {"api_type": "novelai"}}
    loaded = load_config_data(raw)
    assert [b.name for b in loaded.config.backends] == ["real-gradio", "anime-gradio"]
    assert loaded.config.backends[0].inputs == {"steps": 4}
    assert any("'novelai' is not supported yet" in w for w in loaded.warnings)


def test_a_non_default_classic_resolution_is_kept_exactly():
    loaded = load_config_data({"api": {"api_type": "gradio"}, "generation": {"gradio_resolution": "1280x720 ( 16:9 )"}})
    assert loaded.config.backends[0].inputs == {"resolution": "1280x720 ( 16:9 )"}
