"""The command line: draw against a real local Gradio app, exit codes, doctor, migrate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llm2pic.frontends.cli.main import main
from llm2pic.config.load import load_config

pytestmark = pytest.mark.gradio_server


def write_config(tmp_path, lab, settings='preset = "flux-schnell"'):
    path = tmp_path / "config.toml"
    path.write_text(f"""
[plugin]
config_version = "1.0.0"

[[backends]]
type = "gradio"
name = "broken"
base_url = "http://127.0.0.1:1"
startup_wait = 0

[[backends]]
type = "gradio"
name = "lab"
base_url = "{lab.url}"
{settings}
""", encoding="utf-8")
    return path


def test_draw_falls_back_to_the_working_backend_and_writes_the_image(tmp_path, lab_servers, capsys):
    config = write_config(tmp_path, lab_servers["6"])
    out = tmp_path / "fox.jpg"
    assert main(["draw", "a red fox", "--no-llm", "--config", str(config), "--out", str(out), "--seed", "3"]) == 0
    # The Space answers WebP; what a chat gets (and so the file) is JPEG, fitted by the imaging step.
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert "lab: image/jpeg 64x64" in captured.err and "seed 3" in captured.err
    assert "broken: retrying" in captured.err


def test_draw_exits_3_with_the_reason_said_once_on_the_last_line(tmp_path, lab_servers, capsys):
    path = write_config(tmp_path, lab_servers["6"], 'preset = "none"\napi_name = "/quota"')
    assert main(["draw", "a fox", "--no-llm", "--config", str(path)]) == 3
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("llm2pic: every backend failed; last: lab: app reports quota exhausted")
    assert sum("quota" in line for line in lines) == 1, lines
    assert all(line.startswith(("lab: ", "broken: ")) for line in lines[:-1]), lines  # the rest is progress


def test_draw_exits_2_on_a_bad_config(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[generation]\naspect = "wide"\n')
    assert main(["draw", "x", "--no-llm", "--config", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "llm2pic: config error: generation.aspect = 'wide': not an aspect ratio: 'wide' (expected e.g. '16:9')")


def test_draw_exits_2_on_an_unknown_backend_name(tmp_path, lab_servers, capsys):
    config = write_config(tmp_path, lab_servers["6"])
    assert main(["draw", "x", "--no-llm", "--config", str(config), "--backend", "nope"]) == 2
    assert "--backend 'nope' is not configured; backends: broken, lab" in capsys.readouterr().err


def test_doctor_lists_endpoints_and_fails_on_a_broken_enabled_backend(tmp_path, lab_servers, capsys):
    config = write_config(tmp_path, lab_servers["4"], 'preset = "flux-schnell"\nhf_token = "hf_doctorcanary12345"')
    assert main(["doctor", "--config", str(config)]) == 3
    out = capsys.readouterr().out
    assert "broken (gradio, enabled): FAIL" in out
    assert "lab (gradio, enabled): OK ok: gradio 4.44.1, endpoint /infer" in out
    assert "    prompt (Textbox) required" in out
    assert "hf_doctorcanary12345" not in out and "token: set" in out


def test_migrate_prints_a_config_that_loads(tmp_path):
    old = tmp_path / "old.toml"
    old.write_text('[api]\napi_type = "gradio"\nbase_url = ""\n[generation]\ngradio_steps = 9\n'
                   'crop_enabled = true\n[llm]\nmodel_name = "replyer"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "llm2pic", "migrate", str(old)], capture_output=True,
                            text=True, check=True)
    new = tmp_path / "new.toml"
    new.write_text(result.stdout, encoding="utf-8")
    loaded = load_config(new)
    assert not loaded.migrated_from_legacy
    assert loaded.config.backends[0].inputs == {"steps": 9}
    assert result.stdout.startswith("# Migrated from a classic MaiBot_LLM2pic config")


def test_migrate_refuses_a_config_that_is_not_classic(tmp_path, capsys):
    example = Path(__file__).resolve().parent.parent / "config.example.toml"  # whatever the cwd
    assert main(["migrate", str(example)]) == 2
    assert "is not a classic MaiBot_LLM2pic config" in capsys.readouterr().err
