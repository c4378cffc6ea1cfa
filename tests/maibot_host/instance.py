"""A fresh MaiBot instance for the end-to-end test: `maibot init`, then the config patched for offline use.

Runs under the host's own interpreter (it uses the host's tomlkit to keep the files' layout).
Every patched key must already exist in the generated file, so a host upgrade that renames one
fails here with the key's name instead of silently running with the feature on.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomlkit

# bot_config.toml: no WebUI, telemetry, MCP, browser, memory, learning, typing delays or debounce;
# the gateway's identity as the bot's account.
BOT_CONFIG = {
    "bot.platform": "qq",
    "bot.qq_account": "10001",
    "chat.reply_timing.message_debounce_mode": "off",
    "chat.reply_timing.talk_value": 1,  # 1 = the reply gate lets every message reach the planner
    "telemetry.enable": False,
    "webui.enabled": False,
    "mcp.enable": False,
    "maim_message.enabled": False,
    "plugin_runtime.render.enabled": False,
    "plugin_runtime.render.auto_download_chromium": False,
    "a_memorix.plugin.enabled": False,
    "a_memorix.image_memory.enabled": False,
    "a_memorix.integration.person_fact_writeback_enabled": False,
    "a_memorix.integration.chat_summary_writeback_enabled": False,
    "expression.expression_self_reflect": False,
    "expression.learning_list": [{"platform": "", "item_id": "", "type": "group", "use": False, "learn": False}],
    "jargon.learning_list": [{"platform": "", "item_id": "", "type": "group", "use": False, "learn": False}],
    "emoji.steal_emoji": False,
    "emoji.cache_cleanup.enabled": False,
    "visual.image_cache_cleanup.enabled": False,
    "response_post_process.enable_response_post_process": False,
    "chinese_typo.enable": False,
    "response_splitter.enable": False,
    "debug.enable_console_input": False,
    "debug.show_maisaka_thinking": False,
    "log.memory_diagnostics_enabled": False,
    "log.console_log_level": "INFO",
    "log.file_log_level": "DEBUG",
}


def model_config(llm_url: str) -> dict[str, Any]:
    """model_config.toml: the one provider points at the scripted LLM; fail fast, no retries."""
    return {
        "api_providers.0.base_url": llm_url,
        "api_providers.0.api_key": "scripted-llm-no-key",
        "api_providers.0.max_retry": 1,
        "api_providers.0.timeout": 30,
        "api_providers.0.retry_interval": 1,
    }


def _set(document: Any, dotted: str, value: Any, file: Path) -> None:
    *parents, leaf = dotted.split(".")
    node = document
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.get(part)
        if node is None:
            raise KeyError(f"{file.name}: no [{dotted.rsplit('.', 1)[0]}] in the file `maibot init` wrote")
    if leaf not in node:
        raise KeyError(f"{file.name}: no key {dotted} in the file `maibot init` wrote")
    node[leaf] = value


def patch_toml(path: Path, values: dict[str, Any]) -> None:
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    for dotted, value in values.items():
        _set(document, dotted, value, path)
    path.write_text(tomlkit.dumps(document), encoding="utf-8")


def make_instance(root: Path, llm_url: str) -> Path:
    """`maibot init` in `root` (created if needed), then the offline patches. Returns `root`."""
    maibot = Path(sys.executable).with_name("maibot")
    init = subprocess.run([str(maibot), "init", "--directory", str(root)], capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        raise RuntimeError(f"maibot init failed ({init.returncode}): {(init.stderr or init.stdout).strip()[-2000:]}")
    patch_toml(root / "config" / "bot_config.toml", BOT_CONFIG)
    patch_toml(root / "config" / "model_config.toml", model_config(llm_url))
    accept_agreements(root)
    return root


def accept_agreements(root: Path) -> None:
    """Record consent to the host's EULA and privacy terms, as its interactive prompt would.

    Without it the host waits for "同意" on stdin before it starts. The confirmation is the MD5 of
    the terms the installed host ships, so it follows the installed version.
    """
    from src.common.paths import resource_path  # the host's own lookup; the module imports nothing heavy

    for name, marker in (("EULA.md", "eula.confirmed"), ("PRIVACY.md", "privacy.confirmed")):
        terms = resource_path(name).read_text(encoding="utf-8")
        (root / marker).write_text(hashlib.md5(terms.encode("utf-8")).hexdigest(), encoding="utf-8")
