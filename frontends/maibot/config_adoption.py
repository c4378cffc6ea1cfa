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
from typing import Mapping, Optional

from ...redaction import redact
from ...config import legacy
from ...config.load import ConfigError, load_config_data, parse_toml
from ...config.migration import render_migrated
from ...config.model import CONFIG_VERSION

import tomllib

_PLUGIN_HEADER = re.compile(r"^\[plugin\][ \t]*(#.*)?$", re.MULTILINE)


@dataclass
class Adoption:
    """What `adopt_config_file` did, for the plugin's log."""

    action: str = "none"  # none, migrated, versioned, unversioned, missing, unreadable, invalid
    backup: Optional[Path] = None
    notes: list[str] = field(default_factory=list)  # migration notes and unknown-key warnings
    error: str = ""  # one line naming the key, when the file cannot be used


def adopt_config_file(path: Path, *, now: float | None = None) -> Adoption:
    """What was done to make the file acceptable to the host. Never raises: `create_plugin()`
    calls this, and a plugin that fails to be created shows the admin nothing useful."""
    try:
        return _adopt(path, now)
    except Exception as exc:  # noqa: BLE001 - whatever is in the file, the plugin must still load
        return Adoption("invalid", error=f"{path.name} could not be checked ({type(exc).__name__}: "
                                         f"{redact(str(exc))[:200]}); it was left as it is")


def _adopt(path: Path, now: float | None) -> Adoption:
    if not path.exists():
        return Adoption("missing")
    try:
        text = path.read_text(encoding="utf-8")
        raw = parse_toml(text, path.name)
    except (OSError, UnicodeDecodeError) as exc:
        return Adoption("unreadable", error=f"{path.name} cannot be read as TOML: {exc}")
    except ConfigError as exc:
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
        versioned = _with_version(raw, text)
        if versioned is None:
            adoption.action = "unversioned"
            adoption.error = (f"{path.name} has no [plugin] config_version and it cannot be added without "
                              f"changing what the file means; the file was left as it is. Add the line "
                              f'config_version = "{CONFIG_VERSION}" under [plugin] yourself')
        else:
            raw, text = versioned
            _replace(path, text)
            adoption.action = "versioned"
    try:
        adoption.notes = load_config_data(raw).warnings
    except ConfigError as exc:
        adoption.error = "; ".join(part for part in (adoption.error, str(exc)) if part)
    return adoption


def _with_version(raw: dict, text: str) -> Optional[tuple[dict, str]]:
    """The config with `config_version` added as one line, so comments and layout stay, or None
    when no such line keeps the rest of the file meaning exactly what it meant. Each candidate is
    parsed and compared with the original: a `[plugin]` header put in front of top-level keys
    would swallow them, so it never goes there."""
    line = f'config_version = "{CONFIG_VERSION}"'
    plugin = raw.get("plugin")
    expected = {**raw, "plugin": {**(plugin if isinstance(plugin, dict) else {}), "config_version": CONFIG_VERSION}}
    ending = "" if not text or text.endswith("\n") else "\n"
    candidates = []
    match = _PLUGIN_HEADER.search(text)
    if match:
        candidates.append(text[:match.end()] + "\n" + line + text[match.end():])
    candidates.append(f"{text}{ending}\n[plugin]\n{line}\n")  # a new table at the end swallows nothing
    candidates.append(f"plugin.{line}\n{text}")  # a top-level dotted key, for `plugin.enabled = …` files
    for candidate in candidates:
        try:
            parsed = tomllib.loads(candidate)
        except (tomllib.TOMLDecodeError, RecursionError):
            continue
        if parsed == expected:
            return parsed, candidate
    return None


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
