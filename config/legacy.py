"""Migration of classic MaiBot_LLM2pic config.toml files (v3.x: `[api]`, `gradio_*`, `crop_*`,
`[anime]`/`[real]`) to this plugin's shape. Nothing the user set is dropped silently: a key that
this version cannot carry over comes back as a note."""

from __future__ import annotations

import copy
import re
from typing import Any, Mapping

DEFAULT_RESOLUTION = "1024x1024 ( 1:1 )"
_GRADIO_CALL_SUFFIX = re.compile(r"/(gradio_api/)?(call|run|queue)/.*$")

# classic key → (new section, new key); the sections are owned by other modules and may be
# absent in this version, in which case the value is reported instead of emitted.
_MOVED = {
    ("generation", "custom_prompt_add"): ("generation", "custom_prompt_add"),
    ("generation", "crop_enabled"): ("output", "crop_enabled"),
    ("generation", "crop_position"): ("output", "crop_position"),
    ("generation", "crop_pixels"): ("output", "crop_pixels"),
    ("llm", "model_name"): ("llm", "model_name"),
    ("llm", "system_prompt"): ("llm", "system_prompt"),
    ("llm", "context_message_limit"): ("llm", "context_message_limit"),
    ("llm", "context_time_minutes"): ("llm", "context_time_minutes"),
    ("components", "enable_image_generation"): ("components", "enable_image_generation"),
    ("components", "enable_direct_pic_command"): ("components", "enable_direct_pic_command"),
}
# v4.x `[generation_guard]` keys that become `[limits]` (see _limits_from_guard)
_GUARD_KEYS = {"enabled", "explicit_request_min_interval_seconds"}
# classic keys that become part of a backend entry
_BACKEND_KEYS = {"default_model", "default_size", "gradio_resolution", "gradio_steps", "gradio_shift",
                 "gradio_timeout", "default_style"}


def is_legacy(raw: Mapping[str, Any]) -> bool:
    if "backends" in raw:
        return False
    generation = _table(raw.get("generation"))
    return (
        "api" in raw
        or "anime" in raw
        or "real" in raw
        or any(isinstance(key, str) and key.startswith(("gradio_", "crop_")) for key in generation)
    )


def _table(value: Any) -> Mapping[str, Any]:
    """A classic section, or an empty one when the file has something else there (the shape is
    checked by validation later, naming the key)."""
    return value if isinstance(value, Mapping) else {}


def migrate(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The new config as a plain dict, and notes about what could not be carried over."""
    new, notes, _ = migrate_with_origins(raw)
    return new, notes


def migrate_with_origins(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """`migrate`, plus where each new key came from ("backends[0].timeout" → "generation.gradio_timeout"),
    so that an error about a migrated value names the key in the user's file."""
    from .model import CONFIG_VERSION  # late: model imports this module's package

    old = copy.deepcopy(dict(raw))
    notes: list[str] = []
    origins: dict[str, str] = {}
    new: dict[str, Any] = {"plugin": {"enabled": _table(old.get("plugin")).get("enabled", True),
                                      "config_version": CONFIG_VERSION}}
    origins["plugin.enabled"] = "plugin.enabled"
    for section in ("api", "anime", "real"):
        if section in old and not isinstance(old[section], Mapping):
            raise ValueError(f"classic [{section}] must be a table of settings, not {type(old[section]).__name__}")
    generation = _table(old.get("generation"))
    new["backends"] = _backends(old, generation, notes, origins)

    for (section, key), (new_section, new_key) in _MOVED.items():
        if key in _table(old.get(section)):
            if _put(new, notes, new_section, new_key, old[section][key], f"{section}.{key}"):
                origins[f"{new_section}.{new_key}"] = f"{section}.{key}"
    _limits_from_guard(old, new, notes)
    _keep_current_keys(old, new, origins)
    size = _parse_size(generation.get("default_size"))
    if size and size != (1024, 1024):
        new.setdefault("generation", {}).update({"width": size[0], "height": size[1]})

    handled_sections = {"plugin", "api", "anime", "real"}
    for section, table in old.items():
        if not isinstance(table, Mapping) or section in handled_sections:
            continue
        for key in table:
            carried = ((section, key) in _MOVED or (section == "generation" and key in _BACKEND_KEYS)
                       or (section == "generation_guard" and key in _GUARD_KEYS)
                       or origins.get(f"{section}.{key}") == f"{section}.{key}")
            if not carried:
                notes.append(f"classic key {section}.{key} has no equivalent here and was not carried over")
    return new, notes, origins


def _keep_current_keys(old: dict, new: dict, origins: dict[str, str]) -> None:
    """A key the current format has under the same name (a classic file that already carries the
    new `[llm] base_url`, `api_key`, `model`, or `[generation] seed`) is kept as it is."""
    from .model import Config

    for section, table in old.items():
        field = Config.model_fields.get(section) if isinstance(section, str) else None
        known = getattr(getattr(field, "annotation", None), "model_fields", None)
        if not isinstance(table, Mapping) or not known or section in ("plugin", "backends"):
            continue
        for key, value in table.items():
            if key in known and key not in new.get(section, {}):
                new.setdefault(section, {})[key] = value
                origins[f"{section}.{key}"] = f"{section}.{key}"


def _limits_from_guard(old: dict, new: dict, notes: list[str]) -> None:
    """v4.x kept a minimum interval between explicit draw requests per chat; the nearest here is the
    per-user cooldown. A disabled guard meant no interval at all."""
    guard = old.get("generation_guard")
    if not isinstance(guard, Mapping) or not (_GUARD_KEYS & guard.keys()):
        return
    interval = guard.get("explicit_request_min_interval_seconds", 30) if guard.get("enabled", True) else 0
    _put(new, notes, "limits", "user_cooldown", interval, "generation_guard.explicit_request_min_interval_seconds")
    notes.append("classic generation_guard interval was per chat; it now applies per user as limits.user_cooldown")


def _backends(old: dict, generation: Mapping[str, Any], notes: list[str],
              origins: dict[str, str]) -> list[dict[str, Any]]:
    styles = [s for s in ("anime", "real") if isinstance(old.get(s), Mapping)]
    default_style = generation.get("default_style")
    if default_style in styles:
        styles.remove(default_style)
        styles.insert(0, default_style)
    tables = [(style, old[style]) for style in styles if old[style].get("enabled", True)]
    if isinstance(old.get("api"), Mapping):
        tables.append(("api", old["api"]))
    backends = []
    for name, table in tables:
        sources: dict[str, str] = {}
        backend = _backend(name, table, generation, notes, sources)
        if backend:
            origins.update({f"backends[{len(backends)}].{key}": source for key, source in sources.items()})
            backends.append(backend)
    if not backends:
        notes.append("no usable classic backend found; using the free Z-Image-Turbo Space")
        sources = {}
        fallback = _backend("api", {}, generation, notes, sources)  # with the classic gradio_* settings
        fallback["name"] = "z-image-turbo"
        origins.update({f"backends[0].{key}": source for key, source in sources.items()})
        backends.append(fallback)
    return backends


def _backend(name: str, table: Mapping[str, Any], generation: Mapping[str, Any], notes: list[str],
             sources: dict[str, str]):
    api_type = str(table.get("api_type", "gradio")).lower()
    base_url = str(table.get("base_url") or "").strip()
    api_key = str(table.get("api_key") or "").strip()
    sources.update({"base_url": f"{name}.base_url", "hf_token": f"{name}.api_key", "api_key": f"{name}.api_key",
                    "model": f"{name}.model_name" if table.get("model_name") else "generation.default_model"})

    def pick(key: str, default: Any = None) -> Any:
        return table.get(key, generation.get(key, default))

    def source(new_key: str, key: str) -> None:
        sources[new_key] = f"{name}.{key}" if key in table else f"generation.{key}"

    if api_type == "gradio":
        backend: dict[str, Any] = {"type": "gradio", "name": f"{name}-gradio" if name != "api" else "gradio"}
        if base_url:
            backend["base_url"] = _GRADIO_CALL_SUFFIX.sub("", base_url.rstrip("/"))
        else:
            backend["space"] = "Tongyi-MAI/Z-Image-Turbo"
        if api_key:
            backend["hf_token"] = api_key
        inputs: dict[str, Any] = {}
        resolution = pick("gradio_resolution")
        if resolution and resolution != DEFAULT_RESOLUTION:
            inputs["resolution"] = resolution
        for key, classic in (("resolution", "gradio_resolution"), ("steps", "gradio_steps"),
                             ("shift", "gradio_shift")):
            source(f"inputs.{key}", classic)
        if pick("gradio_steps") is not None:
            inputs["steps"] = pick("gradio_steps")
        if pick("gradio_shift") is not None:
            inputs["shift"] = pick("gradio_shift")
        if inputs:
            backend["inputs"] = inputs
        if pick("gradio_timeout") is not None:
            backend["timeout"] = pick("gradio_timeout")  # validation checks it, naming gradio_timeout
            source("timeout", "gradio_timeout")
        return backend
    if api_type == "openai":
        backend = {"type": "openai", "name": f"{name}-openai" if name != "api" else "openai", "mode": "chat"}
        if base_url:
            backend["base_url"] = base_url
        if api_key:
            backend["api_key"] = api_key
        model = table.get("model_name") or generation.get("default_model")
        if model:
            backend["model"] = model
        return backend
    notes.append(f"classic [{name}] api_type = {api_type!r} is not supported yet; that backend was skipped")
    return None


def _put(new: dict, notes: list[str], section: str, key: str, value: Any, source: str) -> bool:
    from .model import Config

    field = Config.model_fields.get(section)
    section_model = getattr(field, "annotation", None) if field else None
    if section_model is None or key not in getattr(section_model, "model_fields", {}):
        notes.append(f"classic key {source} is not supported by this version yet and was not carried over")
        return False
    new.setdefault(section, {})[key] = value
    return True


def _parse_size(value: Any):
    match = re.fullmatch(r"\s*(\d+)\s*[x×*]\s*(\d+)\s*", str(value or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None
