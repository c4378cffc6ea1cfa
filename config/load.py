"""Reading config.toml: TOML parsing, legacy migration, validation with one-line errors,
and reporting of unknown keys (never silently ignored)."""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Union

from pydantic import BaseModel, ValidationError

from . import legacy
from .model import Config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


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
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return load_config_data(raw)


def load_config_data(raw: Mapping[str, Any]) -> LoadedConfig:
    warnings: list[str] = []
    migrated = legacy.is_legacy(raw)
    if migrated:
        raw, notes = legacy.migrate(raw)
        warnings.append("classic MaiBot_LLM2pic config detected and migrated in memory; "
                        "`python -m llm2pic migrate FILE` prints the new form")
        warnings.extend(notes)
    try:
        config = Config.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, raw)) from None
    warnings.extend(unknown_keys(raw, config))
    return LoadedConfig(config, warnings, migrated)


def describe_validation_error(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    key = _dotted(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    if isinstance(value, (dict, list)) or _is_secret_key(key):
        shown = ""
    else:
        shown = f" = {value!r}"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"config error: {key or '(top level)'}{shown}: {message}{more}"


def _dotted(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("gradio", "openai", "hf_inference", "sd_webui", "comfyui") and parts and parts[-1].startswith("["):
            continue  # pydantic names the union branch; the user does not need it
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _is_secret_key(key: str) -> bool:
    last = key.rsplit(".", 1)[-1]
    return last in ("hf_token", "api_key", "token", "password")


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
