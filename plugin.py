"""MaiBot's entry point: MaiBot loads `plugin.py` at the plugin's root and calls `create_plugin()`.

The plugin itself lives in `frontends/maibot/`; this file only hands it over.
"""

from .frontends.maibot.plugin import LLM2PicPlugin, create_plugin

__all__ = ["LLM2PicPlugin", "create_plugin"]
