"""A classic MaiBot_LLM2pic config.toml dropped into the plugin folder must survive the real host:
create_plugin() migrates it in place (keeping a backup) before the host reads it, and the host's
own version check and merge then keep the user's settings."""

from __future__ import annotations

import tomllib

import pytest
from maibot_sdk.config import extract_plugin_config_version

from llm2pic.frontends.maibot.config_adoption import adopt_config_file
from maibot_fake_host import copy_plugin_folder, load_plugin_module

CLASSIC = """\
[plugin]
enabled = true

[api]
api_type = "gradio"
base_url = "https://tongyi-mai-z-image-turbo.hf.space"

[generation]
custom_prompt_add = ", best quality"
gradio_steps = 9
crop_enabled = true
crop_pixels = 40

[llm]
model_name = "utils"

[components]
enable_direct_pic_command = false
"""

CURRENT_WITHOUT_VERSION = """\
# my settings
[plugin]
enabled = true   # keep me

[generation]
aspect = "16:9"
"""


def test_classic_file_survives_the_hosts_loading_sequence(tmp_path):
    folder = copy_plugin_folder(tmp_path / "llm2pic")
    (folder / "config.toml").write_text(CLASSIC, encoding="utf-8")
    module = load_plugin_module(folder)

    plugin = module.create_plugin()  # the runner calls this first, then reads config.toml

    assert (folder / "config.toml.classic.bak").read_text(encoding="utf-8") == CLASSIC
    raw = tomllib.loads((folder / "config.toml").read_text(encoding="utf-8"))
    assert extract_plugin_config_version(raw) == "1.0.0"  # the host's check no longer fails
    normalized, _ = plugin.normalize_plugin_config(raw)
    plugin.set_plugin_config(normalized)
    config = plugin.config
    [backend] = config.backends
    assert backend.type == "gradio" and backend.base_url == "https://tongyi-mai-z-image-turbo.hf.space"
    assert backend.inputs["steps"] == 9
    assert config.generation.custom_prompt_add == ", best quality"
    assert config.output.crop_enabled is True and config.output.crop_pixels == 40
    assert config.llm.model_name == "utils"
    assert config.components.enable_direct_pic_command is False
    assert plugin._adoption.action == "migrated"


def test_a_migrated_file_is_left_alone_the_next_time(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CLASSIC, encoding="utf-8")
    assert adopt_config_file(path).action == "migrated"
    migrated = path.read_text(encoding="utf-8")
    again = adopt_config_file(path)
    assert again.action == "none" and again.error == ""
    assert path.read_text(encoding="utf-8") == migrated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "config.toml.classic.bak"]


def test_an_existing_backup_is_never_overwritten(tmp_path):
    path = tmp_path / "config.toml"
    (tmp_path / "config.toml.classic.bak").write_text("older backup", encoding="utf-8")
    path.write_text(CLASSIC, encoding="utf-8")
    adoption = adopt_config_file(path, now=0)
    assert adoption.backup.name.startswith("config.toml.classic-") and adoption.backup.read_text() == CLASSIC
    assert (tmp_path / "config.toml.classic.bak").read_text() == "older backup"


def test_a_current_file_without_version_gets_one_line_and_keeps_its_comments(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CURRENT_WITHOUT_VERSION, encoding="utf-8")
    assert adopt_config_file(path).action == "versioned"
    text = path.read_text(encoding="utf-8")
    assert "# my settings" in text and "# keep me" in text
    raw = tomllib.loads(text)
    assert raw["plugin"]["config_version"] == "1.0.0" and raw["generation"]["aspect"] == "16:9"


@pytest.mark.parametrize("text", ["[generation]\naspect = \"4:3\"\n", "plugin.enabled = true\n"])
def test_version_is_added_whatever_the_shape_of_the_plugin_table(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    adopt_config_file(path)
    assert tomllib.loads(path.read_text(encoding="utf-8"))["plugin"]["config_version"] == "1.0.0"


def test_bad_files_are_reported_and_never_touched(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[plugin\nbroken", encoding="utf-8")
    adoption = adopt_config_file(path)
    assert adoption.action == "unreadable" and "TOML" in adoption.error
    assert path.read_text(encoding="utf-8") == "[plugin\nbroken"
    path.write_text('[plugin]\nconfig_version = "1.0.0"\n[chain]\ndeadline = -1\n', encoding="utf-8")
    adoption = adopt_config_file(path)
    assert "chain.deadline" in adoption.error
    path.write_text('[plugin]\nconfig_version = "1.0.0"\n[generaton]\naspect = "1:1"\n', encoding="utf-8")
    assert any("generaton" in note for note in adopt_config_file(path).notes)


def test_no_file_means_the_host_writes_the_defaults(tmp_path):
    assert adopt_config_file(tmp_path / "config.toml").action == "missing"
    assert not (tmp_path / "config.toml").exists()
