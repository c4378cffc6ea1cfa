"""The AstrBot plugin's files, without AstrBot: the config page mapped onto our config model, the
metadata AstrBot's loader requires, requirements.txt against what main.py imports, and the stored
conversation read as chat history. The plugin in the real AstrBot: tests/test_astrbot_plugin.py."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

from llm2pic.config.backends import GradioBackendConfig, HFInferenceBackendConfig, OpenAIBackendConfig
from llm2pic.config.backends_selfhosted import ComfyUIBackendConfig, SDWebUIBackendConfig
from llm2pic.config.load import ConfigError
from llm2pic.config.model import Config
from llm2pic.frontends.astrbot.config_map import host_settings, load_page, raw_config
from llm2pic.frontends.astrbot.history import MAX_HISTORY_CHARS, messages_from_history

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "_conf_schema.json").read_text(encoding="utf-8"))
BACKEND_MODELS = {"gradio": GradioBackendConfig, "openai": OpenAIBackendConfig, "hf_inference": HFInferenceBackendConfig,
                  "sd_webui": SDWebUIBackendConfig, "comfyui": ComfyUIBackendConfig}
ADAPTER_ONLY = {("llm", "provider_id")}
SCHEMA_TYPES = {"string", "text", "int", "float", "bool", "object", "list", "dict", "template_list", "file"}


def page_defaults(items: dict) -> dict:
    """The config AstrBot writes for a fresh install: each item's default (AstrBotConfig._parse_schema)."""
    return {key: page_defaults(item["items"]) if item["type"] == "object" else item.get("default")
            for key, item in items.items()}


def test_the_fresh_page_is_our_default_config():
    loaded = load_page(page_defaults(SCHEMA))
    assert loaded.warnings == []
    defaults = Config()
    assert loaded.config.model_dump(mode="json") == defaults.model_dump(mode="json")


def test_every_page_field_is_a_config_key_with_our_default():
    defaults = Config()
    for section, item in SCHEMA.items():
        assert item["type"] in SCHEMA_TYPES, section
        if item["type"] != "object":
            continue
        for key, field in item["items"].items():
            assert field["type"] in SCHEMA_TYPES and field.get("description"), (section, key)
            if (section, key) in ADAPTER_ONLY or (section, key) == ("llm", "persona_nickname"):
                continue
            ours = getattr(getattr(defaults, section), key)  # AttributeError: not one of our keys
            assert field["default"] == (list(ours) if isinstance(ours, (list, tuple)) else ours), (section, key)


def test_every_backend_template_field_is_a_key_of_that_backend():
    templates = SCHEMA["backends"]["templates"]
    assert set(templates) == set(BACKEND_MODELS)
    for kind, template in templates.items():
        model = BACKEND_MODELS[kind]
        for key, field in template["items"].items():
            assert key in model.model_fields, (kind, key)
            default = model.model_fields[key].default
            default = default.get_secret_value() if hasattr(default, "get_secret_value") else default
            if key not in ("name", "space"):
                assert field["default"] == default, (kind, key)
        # a new entry made from the template alone is a valid backend
        entry = {"__template_key": kind, **{k: f["default"] for k, f in template["items"].items()}, "name": "x"}
        if kind in ("sd_webui", "comfyui"):
            entry["base_url"] = "http://127.0.0.1:7860"
        load_page({"backends": [entry]})


def test_a_bad_value_is_one_line_naming_the_key():
    with pytest.raises(ConfigError, match=r"^config error: limits\.user_cooldown = -1: .*greater than or equal to 0"):
        load_page({"limits": {"user_cooldown": -1}})
    with pytest.raises(ConfigError, match=r"^config error: backends\[0\]\.timeout = 'abc'"):
        load_page({"backends": [{"__template_key": "gradio", "name": "a", "timeout": "abc"}]})
    with pytest.raises(ConfigError, match=r"backends\[1\]: no backend type chosen"):
        load_page({"backends": [{"__template_key": "gradio", "name": "a"}, {"name": "b"}]})
    with pytest.raises(ConfigError, match="advanced_toml is not valid TOML"):
        load_page({"advanced_toml": "[output\nmax_edge = 1"})


def test_secrets_in_a_bad_value_are_not_echoed():
    with pytest.raises(ConfigError) as caught:
        load_page({"backends": [{"__template_key": "openai", "name": "a", "api_key": ["sk-secret-123"]}]})
    assert "sk-secret-123" not in str(caught.value)


def test_advanced_toml_fills_the_rest_and_the_page_wins():
    page = {"limits": {"user_daily_quota": 5},
            "backends": [{"__template_key": "gradio", "name": "page", "space": "a/b"}],
            "advanced_toml": '[limits]\nuser_daily_quota = 9\nnotice_window = 5\n[output]\nmax_edge = 1024\n'
                             '[[backends]]\ntype = "gradio"\nname = "toml"\nspace = "c/d"\n'}
    config = load_page(page).config
    assert config.limits.user_daily_quota == 5 and config.limits.notice_window == 5
    assert config.output.max_edge == 1024
    assert [b.name for b in config.backends] == ["page", "toml"]  # the page's list first


def test_unknown_keys_are_reported_not_dropped_silently():
    loaded = load_page({"limits": {"user_cooldwn": 5}})
    assert any("limits.user_cooldwn" in w and "user_cooldown" in w for w in loaded.warnings)


def test_id_lists_from_the_page_are_strings():
    config = load_page({"limits": {"admin_users": [12345, " 678 ", ""], "allowed_groups": [456]}}).config
    assert config.limits.admin_users == ["12345", "678"] and config.limits.allowed_groups == ["456"]


def test_adapter_settings_stay_out_of_our_config():
    page = {"llm": {"provider_id": "deepseek", "persona_nickname": "", "context_message_limit": 5}}
    assert "provider_id" not in raw_config(page)["llm"] and "persona_nickname" not in raw_config(page)["llm"]
    assert host_settings(page) == {"provider_id": "deepseek", "persona_nickname": ""}
    assert load_page(page).config.llm.context_message_limit == 5
    assert load_page({"llm": {"persona_nickname": "小星"}}).config.llm.persona_nickname == "小星"


def test_metadata_has_what_the_plugin_manager_requires():
    import yaml  # noqa: PLC0415 - a test dependency of AstrBot's format only

    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text(encoding="utf-8"))
    for key in ("name", "desc", "version", "author", "repo"):
        assert isinstance(metadata[key], str) and metadata[key].strip(), key
    assert metadata["name"].isidentifier()  # AstrBot installs the folder under this name and imports it
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert metadata["version"] == pyproject["project"]["version"]
    assert metadata["repo"].startswith("https://")
    assert re.fullmatch(r"[<>=!~,.\d\s]+", metadata["astrbot_version"])


def _imports_reached_from(entry: str) -> set[str]:
    """Top-level names of everything outside the package that `entry` imports, following relative imports."""
    def file_of(parts: tuple[str, ...]) -> Path | None:
        path = ROOT.joinpath(*parts)
        for candidate in (path / "__init__.py", path.with_suffix(".py")):
            if candidate.exists():
                return candidate
        return None

    seen: set[Path] = set()
    external: set[str] = set()
    todo = [(entry,)]
    while todo:
        module = todo.pop()
        source = file_of(module)
        if source is None or source in seen:
            continue
        seen.add(source)
        package = module if source.name == "__init__.py" else module[:-1]
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                external |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                external.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1]
                target = base + tuple(node.module.split(".")) if node.module else base
                todo += [target, *(target + (alias.name,) for alias in node.names)]
    assert len(seen) > 10, seen  # the walk really followed main.py into the package
    return external - set(sys.stdlib_module_names)


def test_requirements_cover_everything_main_py_imports():
    distribution = {"PIL": "pillow", "tomli_w": "tomli-w", "huggingface_hub": "huggingface-hub",
                    "pydantic_core": "pydantic"}  # pydantic_core comes with pydantic, at the version it needs
    listed = {re.split(r"[<>=!~ ;\[]", line.strip(), maxsplit=1)[0].lower()
              for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")}
    needed = {distribution.get(name, name).lower() for name in _imports_reached_from("main")} - {"astrbot"}
    assert needed <= listed, f"requirements.txt misses {sorted(needed - listed)}"


def test_history_turns_from_the_stored_conversation():
    history = json.dumps([
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": "今天天气不错<system_reminder>Current datetime: 2026-11-28</system_reminder>"},
        {"role": "user", "content": "<system_reminder>only a note</system_reminder>"},
        {"role": "assistant", "content": [{"type": "text", "text": "是呀"}, {"type": "image_url", "image_url": {}}]},
        {"role": "tool", "content": "x"},
        {"role": "user", "content": "画一张猫"},
    ], ensure_ascii=False)
    turns = messages_from_history(history, "小星", limit=3)
    assert [(t.speaker, t.text, t.is_bot) for t in turns] == [("用户", "今天天气不错", False), ("小星", "是呀", True),
                                                              ("用户", "画一张猫", False)]
    assert [t.text for t in messages_from_history(history, "小星", limit=1)] == ["画一张猫"]


@pytest.mark.parametrize("history", ["", "not json", "{}", "[1, 2]", "x" * (MAX_HISTORY_CHARS + 1), None])
def test_unreadable_history_is_no_history(history):
    assert messages_from_history(history, "bot", limit=5) == []


def test_references_come_from_the_request_and_the_replied_message():
    """The shapes of astrbot/core/message/components.py (4.29.3): Image(file, url), Reply(chain)."""
    from types import SimpleNamespace

    from llm2pic.frontends.astrbot.images import references_of

    class Image(SimpleNamespace):
        pass

    class Plain(SimpleNamespace):
        pass

    class Reply(SimpleNamespace):
        pass

    message = [Plain(text="/draw 变成水彩"), Image(file="abc.jpg", url="https://multimedia.example/a.jpg"),
               Image(file="file:///tmp/saved-by-the-adapter.jpg", url=""),  # a local path: left alone
               Reply(chain=[Plain(text="看"), Image(file="base64://AAAA", url=None)])]
    event = SimpleNamespace(message_obj=SimpleNamespace(message=message))
    assert references_of(event) == ("https://multimedia.example/a.jpg", "base64://AAAA")
    assert references_of(event, limit=1) == ("https://multimedia.example/a.jpg",)
    assert references_of(SimpleNamespace(message_obj=None)) == ()
