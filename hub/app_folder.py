"""The Space app that `space deploy` uploads: the `space/` folder installed with the llm2pic package,
staged in a temporary folder with its README front matter set for this deploy."""

from __future__ import annotations

import shutil
from pathlib import Path

REQUIRED_FILES = ("app.py", "requirements.txt", "README.md")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store", ".git", ".venv")


def installed_app_folder() -> Path:
    """`space/` next to the installed package's own modules (repo root for `pip install -e .`,
    site-packages/llm2pic for `pip install .`), never the current directory."""
    return Path(__file__).resolve().parent.parent / "space"


def check_app_folder(folder: Path) -> None:
    """ValueError naming what is missing when the folder cannot be deployed."""
    if not folder.is_dir():
        raise ValueError(f"the Space app folder {folder} is missing (reinstall llm2pic: it ships space/)")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"the Space app folder {folder} lacks {', '.join(missing)}")


def stage_app(folder: Path, target: Path, *, hardware: str, model: str) -> Path:
    """A copy of the app in `target` whose README front matter says sdk gradio, app.py, the hardware
    and the model (the rest of the README, front matter keys included, is kept)."""
    from huggingface_hub import SpaceCard  # the Hub's own card format, not a hand-written YAML editor

    check_app_folder(folder)
    staged = target / "space"
    shutil.copytree(folder, staged, ignore=SKIPPED)
    readme = staged / "README.md"
    card = SpaceCard(readme.read_text(encoding="utf-8"), ignore_metadata_errors=True)
    card.data.sdk = "gradio"
    card.data.app_file = "app.py"
    card.data.suggested_hardware = hardware
    card.data.models = [model]
    readme.write_text(str(card), encoding="utf-8")
    return staged
