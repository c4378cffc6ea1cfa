"""LLM2Pic for NoneBot2: `nonebot.load_plugin("nonebot_plugin_llm2pic")` (or `plugins = [...]` in the
bot's pyproject.toml). This package only declares the plugin and wires NoneBot's matchers to the
front end in `llm2pic.frontends.nonebot`.

Why the first block: NoneBot's `PluginFinder` (nonebot/plugin/manager.py) claims a plugin module only
when `importlib.machinery.PathFinder` finds it on `sys.path`; only then does its `PluginLoader` run the
module and set `__plugin__`. `pip install -e .` of this project installs it through setuptools' import
hook instead (the project maps the package `llm2pic` onto the repository root, so setuptools cannot add
a path entry), and NoneBot would reject the module as "not loaded as a plugin". So when NoneBot asked
for this module and it arrived through such a hook, the folder holding it (it holds nothing else) is
put on `sys.path` and the import is done again, this time through NoneBot's loader; the import system
returns whatever module is in `sys.modules` when this file finishes. A plain `pip install .` puts the
package in site-packages, where NoneBot finds it at once and the block does nothing.
"""

import importlib
import importlib.machinery
import sys
from pathlib import Path


def _needs_import_through_sys_path(name: str) -> bool:
    if "__plugin__" in globals() or importlib.machinery.PathFinder.find_spec(name) is not None:
        return False
    from nonebot.plugin import get_available_plugin_names

    return name in get_available_plugin_names()


if _needs_import_through_sys_path(__name__):
    sys.path.append(str(Path(__file__).resolve().parent.parent))
    del sys.modules[__name__]
    importlib.import_module(__name__)  # replaces this module in sys.modules
else:
    from nonebot.plugin import PluginMetadata

    from llm2pic.frontends.nonebot.settings import PluginConfig

    __plugin_meta__ = PluginMetadata(
        name="LLM2Pic",
        description="聊天里说一句就画图：LLM 写提示词，免费 Hugging Face Space 等多个画图后端依次兜底",
        usage="/draw <描述>：按描述画一张\n/selfie [场景]：来张自拍\n/pic help|status|again：帮助、状态、再画一张",
        type="application",
        homepage="https://github.com/llm2pic/llm2pic",
        config=PluginConfig,
        supported_adapters={"~onebot.v11"},
    )

    from . import matchers  # noqa: E402,F401  (registers the commands under this plugin)
