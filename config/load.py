"""Reading config.toml: TOML parsing, legacy migration, validation with one-line errors,
and reporting of unknown keys (never silently ignored)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Union

from pydantic import BaseModel, ValidationError

from ..redaction import redact
from . import legacy
from .backend_forms import fold_forms
from .backend_types import BACKEND_TYPES
from .backends import default_backends
from .model import Config

import tomllib


class ConfigError(Exception):
    """The config cannot be used. The message is one line naming the key, the value and what is allowed."""


@dataclass
class LoadedConfig:
    config: Config
    warnings: list[str] = field(default_factory=list)
    migrated_from_legacy: bool = False


def load_config(path: Union[str, Path, None]) -> LoadedConfig:
    """Load a config file; None gives the defaults (the free Z-Image-Turbo Space)."""
    if path is None:
        return LoadedConfig(Config())
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    raw = parse_toml(text, str(path))
    return load_config_data(raw)


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """The TOML document, or ConfigError (a syntax error, or nesting too deep to read)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{name} is nested too deeply to read") from None


def load_config_data(raw: Mapping[str, Any]) -> LoadedConfig:
    """Validate a parsed config; every problem, whatever the file's shape, is one ConfigError."""
    try:
        return _load_config_data(raw)
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError("config error: the file is nested too deeply to read") from None
    except Exception as exc:  # noqa: BLE001 - an odd shape must give a clear error, never a traceback
        raise ConfigError(f"config error: the file's shape is not understood ({type(exc).__name__}); "
                          "compare it with config.example.toml") from None


def _load_config_data(raw: Mapping[str, Any]) -> LoadedConfig:
    warnings: list[str] = []
    migrated = legacy.is_legacy(raw)
    origins: dict[str, str] = {}
    if migrated:
        try:
            raw, notes, origins = legacy.migrate_with_origins(raw)
        except ValueError as exc:
            raise ConfigError(f"config error: {exc}") from None
        warnings.append("classic MaiBot_LLM2pic config detected and migrated in memory; "
                        "`python -m llm2pic migrate FILE` prints the new form")
        warnings.extend(notes)
    raw, form_origins = fold_forms(raw, default_backends)
    origins.update(form_origins)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, raw, origins)) from None
    warnings.extend(unknown_keys(raw, config))
    return LoadedConfig(config, warnings, migrated)


def describe_validation_error(exc: ValidationError, raw: Mapping[str, Any],
                              origins: Mapping[str, str] | None = None) -> str:
    """One line naming the key as the user wrote it (a classic file's own key, not the migrated
    one), the rejected value with any secret in it masked, and what is allowed."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    key = _dotted(first["loc"])
    key = (origins or {}).get(key, key)
    message = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    if isinstance(value, (dict, list)) or _is_secret_key(key):
        shown = ""
    else:
        shown = f" = {redact(repr(value)[:200])}"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"config error: {key or '(top level)'}{shown}: {message}{more}"


def _dotted(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in BACKEND_TYPES and parts and parts[-1].startswith("["):
            continue  # pydantic names the union branch; the user does not need it
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _is_secret_key(key: str) -> bool:
    last = key.rsplit(".", 1)[-1]
    # *_env names a variable, but a key pasted there by mistake must not be echoed either
    return last in ("hf_token", "api_key", "token", "password") or last.endswith("_env")


def unknown_keys(raw: Mapping[str, Any], config: BaseModel) -> list[str]:
    """A warning for each key in `raw` that the model does not know, with the closest known key."""
    found: list[str] = []
    _walk(raw, config, "", found)
    return found


def _walk(raw: Any, model: Any, prefix: str, found: list[str]) -> None:
    if isinstance(model, list) and isinstance(raw, list):
        for index, (raw_item, item) in enumerate(zip(raw, model)):
            _walk(raw_item, item, f"{prefix}[{index}]", found)
        return
    if not isinstance(model, BaseModel) or not isinstance(raw, Mapping):
        return
    known = type(model).model_fields
    for key, value in raw.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            found.append(f"unknown config key {dotted}{hint}: ignored")
            continue
        _walk(value, getattr(model, key), dotted, found)
