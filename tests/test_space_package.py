"""`space deploy` finds the Space app through the installed package, and stages it with the README
front matter the Hub needs."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

import llm2pic
from llm2pic.hub.app_folder import check_app_folder, installed_app_folder, stage_app

ROOT = Path(__file__).resolve().parent.parent


def test_the_installed_package_locates_space(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the current directory
    folder = installed_app_folder()
    assert folder == Path(llm2pic.__file__).resolve().parent / "space"
    if not folder.is_dir():
        pytest.skip("space/ (the Space app of issue #13) is not in this tree yet")
    check_app_folder(folder)


def test_pyproject_installs_space_files_as_package_data():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert setuptools["package-dir"]["llm2pic"] == "."
    assert {"space/*", "space/**/*"} <= set(setuptools["package-data"]["llm2pic"])
    assert "llm2pic.hub" in setuptools["packages"]


def test_staging_sets_the_front_matter_and_keeps_the_rest(tmp_path):
    app = tmp_path / "app"
    (app / "static").mkdir(parents=True)
    (app / "__pycache__").mkdir()
    (app / "app.py").write_text("print('hi')\n", encoding="utf-8")
    (app / "requirements.txt").write_text("gradio\n", encoding="utf-8")
    (app / "static" / "logo.txt").write_text("logo\n", encoding="utf-8")
    (app / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (app / "README.md").write_text("---\ntitle: Mine\nsdk: docker\nlicense: mit\n---\n\nHello\n", encoding="utf-8")
    staged = stage_app(app, tmp_path / "out", hardware="t4-small", model="owner/model")
    files = sorted(str(p.relative_to(staged)).replace(os.sep, "/") for p in staged.rglob("*") if p.is_file())
    assert files == ["README.md", "app.py", "requirements.txt", "static/logo.txt"]
    readme = (staged / "README.md").read_text(encoding="utf-8")
    for line in ("title: Mine", "sdk: gradio", "app_file: app.py", "license: mit", "suggested_hardware: t4-small",
                 "- owner/model", "Hello"):
        assert line in readme
    assert "sdk: docker" not in readme
    assert (app / "README.md").read_text(encoding="utf-8").count("docker") == 1  # the source is untouched


def test_an_incomplete_app_folder_is_named(tmp_path):
    (tmp_path / "app.py").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks requirements.txt, README.md"):
        check_app_folder(tmp_path)
    with pytest.raises(ValueError, match="missing"):
        check_app_folder(tmp_path / "nope")


def test_start_up_does_not_import_the_hub_client():
    import subprocess
    import sys

    code = ("import sys, llm2pic.frontends.maibot.plugin, llm2pic.frontends.cli.main, llm2pic.drawing.pipeline\n"
            "heavy = sorted(m for m in ('huggingface_hub', 'tomlkit', 'httpx2') if m in sys.modules)\n"
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
