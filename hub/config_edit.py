"""Adding or updating the deployed Space's `[[backends]]` entry in the user's config.toml, in place:
comments, order and every other key are kept (tomlkit round-trips them). The edited text is
validated with the real config loader before it replaces the file, atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..config.backends import default_backends
from ..config.legacy import is_legacy
from ..config.load import ConfigError, load_config_data

MARK = "added by `python -m llm2pic space deploy`"
# Optional keys this command writes; a later deploy removes them when they no longer apply.
MANAGED_KEYS = frozenset({"zero_gpu", "api_name", "hf_token_env"})


@dataclass(frozen=True)
class Placed:
    name: str
    index: int  # 0-based position in the chain
    total: int
    created: bool


def check_config_file(path: Path) -> None:
    """Fail before anything is deployed when the file could not be edited afterwards (ConfigError)."""
    if not path.exists():
        return
    doc = _parse(path)
    _validate(doc.as_string(), path, before=True)


def add_or_update_backend(path: Path, entry: dict[str, Any], *, position: Optional[str]) -> Placed:
    """Put `entry` (a gradio backend by Space id) into the file. An entry with the same Space is
    updated where it is (moved only when `position` is given); otherwise a new one goes first or last.
    A missing file is created holding the new entry and the default backends behind or before it."""
    import tomlkit
    from tomlkit.items import AoT

    doc = _parse(path) if path.exists() else tomlkit.document()
    backends = doc.get("backends")
    if backends is None:
        aot = tomlkit.aot()
        for default in default_backends():  # keep the chain the user had (the built-in defaults)
            aot.append(_table({"type": default.type, "name": default.name, "space": default.space}, comment=None))
        doc["backends"] = aot
        backends = doc["backends"]
    if not isinstance(backends, AoT):
        lines = "\n".join(f"{key} = {tomlkit.item(value).as_string()}" for key, value in entry.items())
        raise ConfigError(f"{path} writes backends as an inline array; it was left unchanged. Add the entry "
                          f"yourself:\n[[backends]]\n{lines}")

    space = entry["space"].lower()
    existing = next((i for i, item in enumerate(backends)
                     if isinstance(item, dict) and str(item.get("space", "")).lower() == space), None)
    if existing is not None:
        table = backends[existing]
        name = str(table.get("name") or entry["name"])
        for key, value in {**entry, "name": name}.items():
            if table.get(key) != value:  # an unchanged line keeps its comment
                table[key] = value
        for key in MANAGED_KEYS - set(entry):
            if key in table:  # e.g. zero_gpu = "no" after a move back to ZeroGPU
                del table[key]
        if position is None:
            index = existing
        else:
            backends.pop(existing)
            index = _place(backends, table, position)
    else:
        name = _unique(entry["name"], {str(item.get("name", "")) for item in backends if isinstance(item, dict)})
        index = _place(backends, _table({**entry, "name": name}, comment=MARK), position or "first")
    text = tomlkit.dumps(doc)
    _validate(text, path)
    _write_atomically(path, text)
    return Placed(name, index, len(backends), existing is None)


def _place(backends, table, position: str) -> int:
    if position == "last":
        _move_trailing_comments(backends[-1] if len(backends) else None, table)
        backends.append(table)
        return len(backends) - 1
    backends.insert(0, table)
    return 0


def _parse(path: Path):
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        doc = tomlkit.parse(text)
    except ParseError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    if is_legacy(doc.unwrap()):
        raise ConfigError(f"{path} is a classic MaiBot_LLM2pic config; run `python -m llm2pic migrate {path}` "
                          "and save its output as the config first")
    return doc


def _table(entry: dict[str, Any], *, comment: Optional[str]):
    import tomlkit

    table = tomlkit.table()
    if comment:
        table.add(tomlkit.comment(comment))
    for key, value in entry.items():
        table.add(key, value)
    table.add(tomlkit.nl())
    return table


def _move_trailing_comments(previous, table) -> None:
    """Comments after a blank line at the end of the last entry introduce the next section: they stay
    above that section, i.e. below the entry appended after them."""
    from tomlkit.items import Comment, Whitespace

    if previous is None:
        return
    body = previous.value.body
    start = len(body)
    while start > 0 and body[start - 1][0] is None and isinstance(body[start - 1][1], (Comment, Whitespace)):
        start -= 1
    while start < len(body) and not isinstance(body[start][1], Whitespace):
        start += 1  # comments right under the last key belong to that entry
    moved = body[start:]
    if not moved:
        return
    del body[start:]
    table.trivia.indent = "\n"
    if table.value.body and isinstance(table.value.body[-1][1], Whitespace):
        table.value.body.pop()  # the blank line now comes from the moved block
    table.value.body.extend(moved)


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name}-{number}" in taken:
        number += 1
    return f"{name}-{number}"


def _validate(text: str, path: Path, *, before: bool = False) -> None:
    """The real loader's verdict (tomllib is strict where tomlkit is lenient, e.g. `[[backends]`)."""
    import tomllib

    try:
        load_config_data(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except ConfigError as exc:
        if before:
            raise ConfigError(f"{path} does not load, fix it first: {exc}") from None
        raise ConfigError(f"{path} was left unchanged: the edited config would not load ({exc})") from None


def _write_atomically(path: Path, text: str) -> None:
    path = path.resolve()
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
