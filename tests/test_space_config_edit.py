"""The deployed Space's entry written into config.toml in place (tomlkit), validated by the real loader."""

from __future__ import annotations

import tomllib

import pytest

from llm2pic.config.load import ConfigError, load_config_data
from llm2pic.hub.config_edit import add_or_update_backend, check_config_file

ENTRY = {"type": "gradio", "name": "pics", "space": "alice/pics"}


def names(path):
    return [b.name for b in load_config_data(tomllib.loads(path.read_text(encoding="utf-8"))).config.backends]


def test_a_missing_file_gets_the_entry_and_keeps_the_default_chain_behind_it(tmp_path):
    path = tmp_path / "config.toml"
    placed = add_or_update_backend(path, ENTRY, position=None)
    assert (placed.name, placed.index, placed.total, placed.created) == ("pics", 0, 2, True)
    assert names(path) == ["pics", "z-image-turbo"]


def test_a_file_without_backends_keeps_the_defaults_and_its_comments(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("# mine\n[chain]\ndeadline = 100  # s\n", encoding="utf-8")
    add_or_update_backend(path, ENTRY, position="last")
    text = path.read_text(encoding="utf-8")
    assert "# mine" in text and "deadline = 100  # s" in text
    assert names(path) == ["z-image-turbo", "pics"]


def test_a_taken_name_gets_a_suffix_and_an_update_can_move_the_entry(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[[backends]]\ntype = "gradio"\nname = "pics"\nspace = "bob/pics"\n', encoding="utf-8")
    assert add_or_update_backend(path, ENTRY, position="last").name == "pics-2"
    assert names(path) == ["pics", "pics-2"]
    placed = add_or_update_backend(path, {**ENTRY, "zero_gpu": "no"}, position="first")
    assert (placed.name, placed.index, placed.created) == ("pics-2", 0, False)
    assert names(path) == ["pics-2", "pics"]
    # Back on ZeroGPU: the key this command wrote goes away again.
    add_or_update_backend(path, ENTRY, position=None)
    config = load_config_data(tomllib.loads(path.read_text(encoding="utf-8"))).config
    assert config.backends[0].zero_gpu == "auto" and "zero_gpu" not in path.read_text(encoding="utf-8")


def test_files_that_cannot_be_edited_are_refused_before_the_deploy(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[chain]\ndeadline = -5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="does not load, fix it first"):
        check_config_file(bad)
    classic = tmp_path / "classic.toml"
    classic.write_text('[api]\nbase_url = "https://api.example.com/v1"\n[generation]\ndefault_model = "x"\n',
                       encoding="utf-8")
    with pytest.raises(ConfigError, match="classic MaiBot_LLM2pic config; run `python -m llm2pic migrate"):
        check_config_file(classic)


def test_an_inline_backends_array_is_left_alone_with_the_entry_to_paste(tmp_path):
    path = tmp_path / "config.toml"
    original = 'backends = [{ type = "gradio", name = "a", space = "o/a" }]\n'
    path.write_text(original, encoding="utf-8")
    with pytest.raises(ConfigError, match="inline array") as caught:
        add_or_update_backend(path, ENTRY, position=None)
    assert '[[backends]]\ntype = "gradio"\nname = "pics"\nspace = "alice/pics"' in str(caught.value)
    assert path.read_text(encoding="utf-8") == original
