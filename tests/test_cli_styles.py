"""The CLI with aspect words and style presets, against the real lab Gradio app: `python -m llm2pic
draw "横图 一只猫" --no-llm` draws a landscape picture; --style NAME and a preset named in TEXT."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llm2pic.frontends.cli.main import main

pytestmark = pytest.mark.gradio_server


def write_config(tmp_path, lab) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[[backends]]
type = "gradio"
name = "lab"
base_url = "{lab.url}"
preset = "z-image-turbo"

[styles."水彩"]
prefix = "watercolor painting, "
aspect = "3:4"
""", encoding="utf-8")
    return str(path)


def test_landscape_words_give_a_landscape_picture(tmp_path, lab_servers):
    config, out = write_config(tmp_path, lab_servers["6"]), tmp_path / "cat.jpg"
    result = subprocess.run([sys.executable, "-m", "llm2pic", "draw", "横图 一只猫", "--no-llm", "--json",
                             "--config", config, "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["aspect"] == "16:9" and shown["width"] > shown["height"] and shown["preset"] == ""
    assert any("aspect 16:9 from the words '横图'" in note for note in shown["notes"])


def test_style_option_and_a_style_named_in_the_text(tmp_path, lab_servers, capsys):
    config = write_config(tmp_path, lab_servers["6"])
    assert main(["draw", "一只猫", "--no-llm", "--json", "--style", "水彩", "--config", config,
                 "--out", str(tmp_path / "a.jpg")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["prompt"] == "watercolor painting, 一只猫" and shown["preset"] == "水彩"
    assert shown["aspect"] == "3:4" and shown["height"] > shown["width"]
    assert main(["draw", "用水彩风格画 1920x1080 的海", "--no-llm", "--json", "--config", config,
                 "--out", str(tmp_path / "b.jpg")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["preset"] == "水彩" and shown["aspect"] == "16:9" and shown["width"] > shown["height"]
    assert main(["draw", "一只猫", "--no-llm", "--style", "油画", "--config", config]) == 2
    assert "--style '油画' is not a [styles] preset; presets: 水彩" in capsys.readouterr().err
