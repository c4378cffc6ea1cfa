"""A careless config author: odd shapes give one-line errors (exit 2, never a traceback), secrets
in rejected values are masked, classic files are named by their own keys, and adoption on plugin
load never changes what a file means."""

from __future__ import annotations

import tomllib

import pytest

from llm2pic.frontends.cli.main import main
from llm2pic.config.load import ConfigError, load_config, load_config_data
from llm2pic.frontends.maibot.config_adoption import adopt_config_file
from maibot_fake_host import copy_plugin_folder, load_plugin_module

ODD_SHAPES = [
    "generation = 5", "[[generation]]\na = 1", "chain = [1, 2]", "backends = 5", "backends = [1]",
    "backends = [[1]]", "plugin = 3", "llm = 'x'", "limits = []", "[plugin]\nconfig_version = 5",
    "api = 5\n[generation]\ngradio_steps = 'x'", "anime = [1]\n[generation]\ncrop_enabled = 'x'",
    "[generation]\ngradio_timeout = 'abc'", "[api]\napi_type = 5\n[generation]\ngradio_timeout = []",
    "[api]\nbase_url = 7", "[[backends]]\ntype = 5", "[[backends]]\ntype = 'gradio'\ninputs = 3",
    "a = " + "[" * 800 + "]" * 800, "x = " + "{a = " * 400 + "1" + "}" * 400,
    "[[backends]]\ntype = 'gradio'\nbase_url = 'http://127.0.0.1:99999'",
    "[[backends]]\ntype = 'openai'\nbase_url = 'http://127.0.0.1:0/v1'",
    "[llm]\nbase_url = 'https://h:70000/v1'",
]


@pytest.mark.parametrize("text", ODD_SHAPES, ids=lambda t: t[:30])
def test_odd_config_shapes_exit_2_with_one_line(text, tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["draw", "x", "--no-llm", "--config", str(path), "--out", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if not line.startswith("llm2pic: warning:")]
    assert len(errors) == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("key", ["base_url"])
@pytest.mark.parametrize("section", ["[[backends]]\ntype = 'openai'", "[llm]"])
def test_an_invalid_port_is_a_config_error_naming_the_key(section, key):
    with pytest.raises(ConfigError, match=f"{key}.*port"):
        load_config_data(tomllib.loads(f"{section}\n{key} = 'https://example.org:99999/v1'"))


@pytest.mark.parametrize("text", [
    "[[backends]]\ntype = 'openai'\nbase_url = 'https://me:CANARYpass42@example.org:99999/v1'",
    "[[backends]]\ntype = 'openai'\nbase_url = 'ftp://me:CANARYpass42@example.org'",
    "[llm]\nbase_url = 'https://me:CANARYpass42@h:0'",
    "[llm]\napi_key_env = 5\n[generation]\nx = 'CANARYpass42'",
    "[[backends]]\ntype = 'openai'\napi_key_env = ['CANARYpass42']",
    "[[backends]]\ntype = 'gradio'\nspace = 'a/b'\nhf_token_env = 7\nhf_token = 'CANARYpass42'",
])
def test_validation_errors_never_echo_secrets(text):
    with pytest.raises(ConfigError) as caught:
        load_config_data(tomllib.loads(text))
    assert "CANARYpass42" not in str(caught.value)


def test_a_classic_error_names_the_users_key():
    with pytest.raises(ConfigError) as caught:
        load_config_data(tomllib.loads("[api]\nbase_url = 'https://x.hf.space'\n[generation]\ngradio_timeout = 'abc'"))
    assert "gradio_timeout" in str(caught.value) and "backends[0]" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"anime\.gradio_steps|anime\.gradio_timeout"):
        load_config_data(tomllib.loads("[anime]\ngradio_timeout = -3"))


def test_classic_gradio_settings_reach_the_default_space_when_no_backend_table_is_given():
    loaded = load_config_data(tomllib.loads("[generation]\ngradio_timeout = 90\ngradio_steps = 6"))
    [backend] = loaded.config.backends
    assert backend.timeout == 90 and backend.inputs["steps"] == 6


def test_a_classic_config_keeps_the_keys_the_current_format_has():
    text = """
[api]
base_url = "https://x.hf.space"
[generation]
gradio_steps = 9
[llm]
model_name = "utils"
base_url = "https://llm.example.org/v1"
api_key = "sk-llmkey0123456789"
model = "qwen-plus"
persona_nickname = "小画"
"""
    loaded = load_config_data(tomllib.loads(text))
    llm = loaded.config.llm
    assert llm.base_url == "https://llm.example.org/v1" and llm.model == "qwen-plus"
    assert llm.api_key.get_secret_value() == "sk-llmkey0123456789" and llm.persona_nickname == "小画"
    assert not any("llm.base_url" in w or "llm.model " in w or "llm.api_key" in w for w in loaded.warnings)


# --- adoption on plugin load -----------------------------------------------------------------------

UNVERSIONED = [
    'backends = [{type = "gradio", base_url = "http://127.0.0.1:7860", name = "mine"}]\n[generation]\naspect = "4:3"\n',
    'backends = [{type = "gradio", base_url = "http://127.0.0.1:7860"}]',  # no trailing newline
    '# only a comment\n[[backends]]\ntype = "gradio"\nspace = "a/b"\n',
    'plugin.enabled = false\n[generation]\naspect = "1:1"\n',
    '[generation]\naspect = "4:3"\n[plugin]\nenabled = true\n[chain]\ndeadline = 60\n',
    '"plugin" . "enabled" = true\n',
    'generation.aspect = "16:9"\n',
    '',
]


@pytest.mark.parametrize("text", UNVERSIONED, ids=range(len(UNVERSIONED)))
def test_adoption_adds_the_version_without_changing_what_the_file_means(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    before = tomllib.loads(text)
    adoption = adopt_config_file(path)
    after = tomllib.loads(path.read_text(encoding="utf-8"))
    assert after["plugin"].pop("config_version") == "1.0.0", adoption
    if not after["plugin"] and "plugin" not in before:
        del after["plugin"]
    assert after == before
    for line in text.splitlines():
        assert line in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("text", ['plugin = {enabled = true}\n', '[plugin]\nconfig_version = ""\n'])
def test_adoption_leaves_a_file_alone_when_it_cannot_add_the_version_safely(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    adoption = adopt_config_file(path)
    assert path.read_text(encoding="utf-8") == text
    assert adoption.action == "unversioned" and "config_version" in adoption.error and "left" in adoption.error


@pytest.mark.parametrize("content", [
    b"a = " + b"[" * 5000 + b"]" * 5000, b"\xff\xfe\x00garbage", b"generation = 5", b"[api]\nbase_url = 5",
    b"[api]\n[generation]\ngradio_timeout = 'abc'", b"plugin = {enabled = true}",
])
def test_create_plugin_never_fails_on_a_bad_file(tmp_path, content):
    folder = copy_plugin_folder(tmp_path / "llm2pic")
    (folder / "config.toml").write_bytes(content)
    plugin = load_plugin_module(folder).create_plugin()
    assert plugin._adoption.action in ("unreadable", "invalid", "unversioned", "migrated", "none", "versioned")
    assert plugin._adoption.action not in ("none", "versioned") or plugin._adoption.error


def test_a_deeply_nested_file_is_a_config_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested"):
        load_config(path)
