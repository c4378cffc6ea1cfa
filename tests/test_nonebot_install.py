"""`nonebot.load_plugin("nonebot_plugin_llm2pic")` after a real `pip install -e .` and a real `pip install .`
of a copy of this repository, each into a throwaway virtual environment (about 30 s together).

The trap this guards: setuptools installs this project's editable packages through an import hook,
while NoneBot's plugin loader (nonebot/plugin/manager.py, PluginFinder) only claims modules that
`PathFinder` finds on sys.path; without care the plugin imports but NoneBot refuses it ("not loaded
as a plugin").

The throwaway environments get the test environment's installed packages (nonebot2, pydantic, httpx,
...) through a path entry instead of a download, so only LLM2Pic itself is installed into them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "tests", "bench")

CHECK = """
import json, nonebot
from nonebot.rule import CommandRule
nonebot.init(driver="~none")
from nonebot.adapters.onebot.v11 import Adapter
nonebot.get_driver().register_adapter(Adapter)
plugin = nonebot.load_plugin("nonebot_plugin_llm2pic")
meta = plugin and plugin.metadata
print(json.dumps({
    "loaded": plugin is not None,
    "file": plugin.module.__file__ if plugin else None,
    "type": meta and meta.type,
    "homepage": meta and meta.homepage,
    "adapters": sorted(meta.supported_adapters or []) if meta else None,
    "config": meta and meta.config and sorted(meta.config.model_fields),
    "commands": sorted({cmd[0] for matcher in (plugin.matcher if plugin else ()) for checker in matcher.rule.checkers
                        if isinstance(checker.call, CommandRule) for cmd in checker.call.cmds}),
}))
"""


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("install") / "llm2pic-src"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    return copy


def _venv_with_test_packages(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    # A plain path line (no import): the test environment's packages, after the throwaway's own.
    Path(site, "zz_test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


@pytest.mark.slow
@pytest.mark.parametrize("editable", [True, False], ids=["pip-install-e", "pip-install"])
def test_nonebot_loads_the_installed_plugin(editable, source_copy, tmp_path):
    python = _venv_with_test_packages(tmp_path / "venv")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
               *(["-e"] if editable else []), str(source_copy)]
    done = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    work = tmp_path / "bot"  # the bot's working directory: neither the repository nor its copy
    work.mkdir()
    ran = subprocess.run([str(python), "-c", CHECK], cwd=work, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["loaded"], ran.stderr[-3000:]
    plugin_file = Path(result["file"]).resolve()
    if editable:  # the source folder itself, so edits take effect
        assert plugin_file == source_copy / "frontends/nonebot/entry/nonebot_plugin_llm2pic/__init__.py"
    else:
        assert tmp_path / "venv" in plugin_file.parents
    assert result["type"] == "application" and result["homepage"].startswith("https://")
    assert result["adapters"] == ["~onebot.v11"]
    assert result["config"] == ["llm2pic_config"]
    assert {"draw", "selfie", "pic"} <= set(result["commands"]), result
