"""The WebUI's backend sections (`[webui_gradio]` …, config/backend_forms.py) and "" as "not set", through
the real MaiBot host's config page code: its bundle and save routes, its TOML writer and the runner's
config inspection on our plugin (tests/maibot_host/webui_form.py, in the cached host env), with the
dashboard's form state edited field by field as its inputs do. What the host wrote is then read by
our own loader (what the CLI reads), so both front ends must agree on what the file means."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from llm2pic.config.backend_forms import fingerprint, fold_forms, form_key, forms_of, entry_values
from llm2pic.config.backend_types import BACKEND_TYPES
from llm2pic.config.load import ConfigError, load_config, load_config_data
from llm2pic.config.model import Config
from llm2pic.frontends.maibot.config_model import sdk_model

from maibot_sdk import PluginConfigBase  # noqa: E402
from maibot_sdk.config import generate_plugin_config_schema, validate_plugin_config  # noqa: E402

from test_maibot_host_e2e import HARNESS, REPO, host_python

import tomllib

SdkConfig = sdk_model(Config, PluginConfigBase)
HEAD = '[plugin]\nconfig_version = "1.0.0"\n\n'
TWO_GRADIO = HEAD + """# the user's own comment
[[backends]]
type = "gradio"
name = "mine"
base_url = "http://127.0.0.1:7860"
preset = "z-image-turbo"

[[backends]]
type = "sd_webui"
base_url = "http://127.0.0.1:7861"
steps = 30
password = "pw with space "

[[backends]]
type = "gradio"
space = "Tongyi-MAI/Z-Image-Turbo"

[llm]
temperature = 0.5
"""
CASES: dict[str, dict[str, Any]] = {
    "add_openai": {"config": HEAD + '[[backends]]\ntype = "gradio"\nspace = "Tongyi-MAI/Z-Image-Turbo"\n',
                   "rounds": [[["webui_openai", "enabled", True], ["webui_openai", "api_key", "sk-test"],
                               ["webui_openai", "model", "dall-e-3"]]]},
    "edit_first_of_two": {"config": TWO_GRADIO, "rounds": [[["webui_gradio", "base_url", "http://127.0.0.1:7870"],
                                                            ["webui_sd_webui", "cfg_scale", "6.5"]]]},
    "clear_numbers": {"config": TWO_GRADIO, "rounds": [[["webui_sd_webui", "steps", ""], ["llm", "temperature", ""]]]},
    "save_unchanged": {"config": TWO_GRADIO, "rounds": [[], []]},
    "hand_edit_after_save": {"config": TWO_GRADIO, "rounds": [
        [["webui_gradio", "enabled", False]],
        {"file_replace": ['base_url = "http://127.0.0.1:7860"', 'base_url = "http://127.0.0.1:7999"'], "edits": []},
    ]},
    "bad_value": {"config": TWO_GRADIO, "rounds": [[["webui_comfyui", "enabled", True],
                                                    ["webui_comfyui", "base_url", "ftp://nowhere"]]]},
    "no_file": {"config": None, "rounds": [[["webui_hf_inference", "enabled", True],
                                            ["webui_hf_inference", "num_inference_steps", "8"]]]},
}


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> dict[str, Any]:
    cases = tmp_path_factory.mktemp("webui") / "cases.json"
    cases.write_text(json.dumps(CASES), encoding="utf-8")
    result = subprocess.run([str(host_python()), str(HARNESS / "webui_form.py"), str(REPO), str(cases)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def read(text: str, tmp_path: Path, name: str = "config.toml") -> Config:
    """What our loader (the CLI's) makes of a file."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_config(path).config


def backends(config: Config) -> list[dict[str, Any]]:
    return [entry_values(backend.type, backend) for backend in config.backends]


def test_the_form_shows_a_section_per_backend_type_and_hides_the_list(host):
    bundle = host["add_openai"]["rounds"][0]["bundle"]
    sections = bundle["schema"]["sections"]
    assert sections["general"]["fields"]["backends"]["hidden"] is True  # no more "[object Object]" boxes
    for kind in BACKEND_TYPES:
        section = sections[form_key(kind)]
        assert section["title"].startswith("后端：") and section["i18n"]["en_US"]["title"].startswith("Backend: ")
        assert section["fields"]["type"]["hidden"] and section["fields"]["synced"]["hidden"]
        assert all(field["label"] for field in section["fields"].values())
    secret = sections["webui_openai"]["fields"]["api_key"]
    assert secret["ui_type"] == "password"
    config = bundle["config"]
    assert config["webui_gradio"]["space"] == "Tongyi-MAI/Z-Image-Turbo" and config["webui_gradio"]["enabled"]
    assert config["webui_openai"]["enabled"] is False and config["webui_openai"]["synced"] == "none"


def test_filling_in_a_missing_type_adds_a_backend_at_the_end(host, tmp_path):
    round_ = host["add_openai"]["rounds"][0]
    assert round_["error"] == "" and round_["saved"]["success"]
    config = read(round_["file"], tmp_path)
    assert [(b.type, b.enabled) for b in config.backends] == [("gradio", True), ("openai", True)]
    added = config.backends[1]
    assert added.api_key.get_secret_value() == "sk-test" and added.model == "dall-e-3"
    shown = host["add_openai"]["after"]["config"]["webui_openai"]
    assert shown["api_key"] == "sk-test" and shown["synced"] == fingerprint(entry_values("openai", added))


def test_a_form_edits_only_the_first_backend_of_its_type(host, tmp_path):
    before = read(TWO_GRADIO, tmp_path, "before.toml")
    round_ = host["edit_first_of_two"]["rounds"][0]
    assert round_["error"] == ""
    after = read(round_["file"], tmp_path)
    assert [b.name for b in after.backends] == [b.name for b in before.backends]
    assert after.backends[0].base_url == "http://127.0.0.1:7870"
    assert after.backends[1].cfg_scale == 6.5 and after.backends[1].steps == 30
    assert backends(after)[2] == backends(before)[2]  # the second gradio backend is kept as it was
    assert after.backends[1].password.get_secret_value() == "pw with space "
    assert "# the user's own comment" in round_["file"]


def test_clearing_an_optional_number_means_not_set(host, tmp_path):
    round_ = host["clear_numbers"]["rounds"][0]
    assert round_["error"] == ""
    after = read(round_["file"], tmp_path)
    assert after.backends[1].steps is None and after.llm.temperature is None
    # the host only adds and replaces keys, so "not set" must be written, not left out
    assert tomllib.loads(round_["file"])["llm"]["temperature"] == ""


def test_saving_without_edits_keeps_what_the_file_means(host, tmp_path):
    first, second = host["save_unchanged"]["rounds"]
    assert first["error"] == second["error"] == ""
    original = read(TWO_GRADIO, tmp_path, "original.toml")
    saved = read(first["file"], tmp_path)
    assert saved.model_dump() == original.model_dump()
    assert second["file"] == first["file"]  # a second save is a fixed point


def test_a_hand_edit_of_the_list_wins_over_the_sections_written_before(host, tmp_path):
    first, second = host["hand_edit_after_save"]["rounds"]
    assert first["error"] == "" and read(first["file"], tmp_path, "first.toml").backends[0].enabled is False
    edited = second["before"]  # the hand edit, with the stale [webui_gradio] still in the file
    assert 'base_url = "http://127.0.0.1:7860"' in edited.split("[webui_gradio]")[1]
    by_cli = read(edited, tmp_path, "edited.toml")
    assert by_cli.backends[0].base_url == "http://127.0.0.1:7999" and by_cli.backends[0].enabled is False
    assert second["bundle"]["config"]["webui_gradio"]["base_url"] == "http://127.0.0.1:7999"
    assert read(second["file"], tmp_path).model_dump() == by_cli.model_dump()


def test_a_bad_value_in_a_form_is_refused_and_the_file_stays(host):
    round_ = host["bad_value"]["rounds"][0]
    assert round_["saved"] is None and "base_url" in round_["error"]
    assert round_["file"] == TWO_GRADIO


def test_a_first_save_without_a_file_writes_one_that_means_the_form(host, tmp_path):
    round_ = host["no_file"]["rounds"][0]
    assert round_["error"] == ""
    config = read(round_["file"], tmp_path)
    assert [b.type for b in config.backends] == ["gradio", "hf_inference"]
    assert config.backends[1].num_inference_steps == 8


# ---- the same rules without the host: what the CLI reads --------------------------------------------

def test_the_loader_names_the_form_key_a_bad_value_came_from():
    form = {**forms_of([])["webui_sd_webui"], "enabled": True, "base_url": "ftp://x"}
    with pytest.raises(ConfigError, match=r"webui_sd_webui\.base_url"):
        load_config_data({"webui_sd_webui": form})


def test_a_stale_or_foreign_form_is_ignored():
    listed = [{"type": "openai", "api_key": "a"}]
    form = {**forms_of(Config.model_validate({"backends": listed}).backends)["webui_openai"], "api_key": "b"}
    assert Config.model_validate({"backends": listed, "webui_openai": form}).backends[0].api_key.get_secret_value() == "b"
    changed = [{"type": "openai", "api_key": "c"}]  # the list was edited after the form was written
    assert Config.model_validate({"backends": changed, "webui_openai": form}).backends[0].api_key.get_secret_value() == "c"
    unsynced = {key: value for key, value in form.items() if key != "synced"}
    assert Config.model_validate({"backends": changed, "webui_openai": unsynced}).backends[0].api_key \
        .get_secret_value() == "c"
    assert fold_forms({"backends": changed, "webui_openai": "not a table"})[0] == {"backends": changed}


def test_cli_and_maibot_read_a_file_with_sections_alike():
    raw = {"backends": [{"type": "gradio", "space": "a/b"}]}
    forms = forms_of(Config.model_validate(raw).backends)
    raw["webui_gradio"] = {**forms["webui_gradio"], "space": "c/d"}
    ours = load_config_data(raw).config
    theirs = validate_plugin_config(SdkConfig, raw)
    assert ours.backends[0].space == theirs.backends[0].space == "c/d"
    assert load_config_data(raw).warnings == []  # the sections are known keys, not typos


def test_an_empty_optional_number_is_not_set_everywhere():
    for section, key in (("llm", "temperature"),):
        assert getattr(getattr(Config.model_validate({section: {key: " "}}), section), key) is None
    entry = {"type": "comfyui", "base_url": "http://127.0.0.1:8188", "pixels": "", "steps": ""}
    backend = Config.model_validate({"backends": [entry]}).backends[0]
    assert backend.pixels is None and backend.steps is None
    with pytest.raises(ValueError):
        Config.model_validate({"llm": {"timeout": ""}})  # a number that must be set stays required


def test_schema_lists_the_form_sections_in_order_after_plugin():
    schema = generate_plugin_config_schema(SdkConfig)
    orders = sorted((section["order"], name) for name, section in schema["sections"].items())
    names = [name for _, name in orders]
    assert names[:6] == ["plugin", *[form_key(kind) for kind in BACKEND_TYPES]]
