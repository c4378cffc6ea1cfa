"""Making a plugin folder's config.toml acceptable to the MaiBot host before the host reads it.

The host refuses a config.toml without `[plugin] config_version` (the plugin then loads with no
components) and, on a version change, rebuilds the file keeping only keys the model knows, which
would drop every classic MaiBot_LLM2pic key. `create_plugin()` runs before the host reads the file,
so it calls `adopt_config_file`: a classic file is migrated in place (the original is kept as a
backup), a current file that only lacks `config_version` gets it, anything else is left alone.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import tomli_w

from . import legacy
from .load import ConfigError, load_config_data
from .model import CONFIG_VERSION

import tomllib

_PLUGIN_HEADER = re.compile(r"^\[plugin\][ \t]*(#.*)?$", re.MULTILINE)


@dataclass
class Adoption:
    """What `adopt_config_file` did, for the plugin's log."""

    action: str = "none"  # none, migrated, versioned, missing, unreadable, invalid
    backup: Optional[Path] = None
    notes: list[str] = field(default_factory=list)  # migration notes and unknown-key warnings
    error: str = ""  # one line naming the key, when the file cannot be used


def render_migrated(raw: Mapping[str, Any], source: str) -> tuple[str, list[str]]:
    """A classic config as the TOML text of this plugin's config, and the migration notes.

    Raises ConfigError when the result would not be a valid config.
    """
    new, notes = legacy.migrate(raw)
    load_config_data(new)
    header = [f"# Migrated from a classic MaiBot_LLM2pic config by {source}.",
              "# See config.example.toml for every option."]
    header += [f"# note: {note}" for note in notes]
    return "\n".join(header) + "\n\n" + tomli_w.dumps(new), notes


def adopt_config_file(path: Path, *, now: float | None = None) -> Adoption:
    if not path.exists():
        return Adoption("missing")
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Adoption("unreadable", error=f"{path.name} cannot be read as TOML: {exc}")

    if legacy.is_legacy(raw):
        try:
            new_text, notes = render_migrated(raw, "the plugin on load")
        except ConfigError as exc:
            return Adoption("invalid", error=f"classic {path.name} could not be migrated: {exc}")
        backup = _backup_path(path, now)
        backup.write_text(text, encoding="utf-8")
        _replace(path, new_text)
        return Adoption("migrated", backup=backup, notes=notes)

    adoption = Adoption()
    plugin = raw.get("plugin")
    if not isinstance(plugin, Mapping) or not str(plugin.get("config_version") or "").strip():
        raw, text = _with_version(raw, text)
        _replace(path, text)
        adoption.action = "versioned"
    try:
        adoption.notes = load_config_data(raw).warnings
    except ConfigError as exc:
        adoption.error = str(exc)
    return adoption


def _with_version(raw: dict, text: str) -> tuple[dict, str]:
    """The config with `config_version` added: as one inserted line, so comments stay; if the
    file's shape defeats that (e.g. dotted `plugin.enabled` keys), as a rewritten file."""
    line = f'config_version = "{CONFIG_VERSION}"'
    match = _PLUGIN_HEADER.search(text)
    candidate = text[:match.end()] + "\n" + line + text[match.end():] if match else f"[plugin]\n{line}\n\n{text}"
    try:
        return tomllib.loads(candidate), candidate
    except tomllib.TOMLDecodeError:
        plugin = raw.get("plugin") if isinstance(raw.get("plugin"), dict) else {}
        raw = {**raw, "plugin": {**plugin, "config_version": CONFIG_VERSION}}
        return raw, tomli_w.dumps(raw)


def _backup_path(path: Path, now: float | None) -> Path:
    backup = path.with_name(path.name + ".classic.bak")
    if backup.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        backup = path.with_name(f"{path.name}.classic-{stamp}.bak")
    return backup


def _replace(path: Path, text: str) -> None:
    """Write the new file next to the old one, then swap, so a crash never leaves half a config."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
