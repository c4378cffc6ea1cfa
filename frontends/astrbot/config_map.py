"""AstrBot's plugin config (the page built from `_conf_schema.json`) → our config model.

The page uses our own key names, so a validation error from our loader ("config error:
limits.user_cooldown = -1: …") names the field the user sees. Three things are AstrBot's:
- `backends` is a `template_list`: each item carries its backend type as `__template_key`;
- `llm.provider_id` picks AstrBot's chat provider for writing prompts (empty: the session's current
  one); it is not part of our config;
- `advanced_toml` holds any other option in config.toml's format; the page's fields win over it,
  and its `[[backends]]` come after the page's list in the fallback order.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...config.load import ConfigError, LoadedConfig, load_config_data, parse_toml

TEMPLATE_KEY = "__template_key"
ADVANCED_KEY = "advanced_toml"
# Page fields that belong to the AstrBot adapter, not to our config model.
HOST_ONLY = {("llm", "provider_id")}
# Lists of chat/user ids: AstrBot's list editor may hand numbers back for QQ ids.
# Blank on the page: the adapter decides (the bot's name comes from AstrBot's persona then).
BLANK_MEANS_DEFAULT = {("llm", "persona_nickname")}
_UNSET = object()
ID_LISTS = {("limits", "admin_users"), ("limits", "allowed_groups"), ("limits", "denied_groups")}


def host_settings(page: Mapping[str, Any]) -> dict[str, str]:
    """The adapter's own settings from the page (today: which chat provider writes prompts)."""
    llm = page.get("llm") if isinstance(page.get("llm"), Mapping) else {}
    return {"provider_id": str(llm.get("provider_id") or "").strip(),
            "persona_nickname": str(llm.get("persona_nickname") or "").strip()}


def raw_config(page: Mapping[str, Any]) -> dict[str, Any]:
    """The page as a config.toml-shaped dict (not yet validated). Raises ConfigError for a broken
    `advanced_toml` or a backend entry without a type."""
    advanced = page.get(ADVANCED_KEY) or ""
    if not isinstance(advanced, str):
        raise ConfigError(f"config error: {ADVANCED_KEY}: expected TOML text")
    raw: dict[str, Any] = parse_toml(advanced, ADVANCED_KEY) if advanced.strip() else {}
    extra_backends = raw.pop("backends", [])
    if not isinstance(extra_backends, list):
        raise ConfigError(f"config error: {ADVANCED_KEY}: backends must be a [[backends]] list")
    for section, value in page.items():
        if section in (ADVANCED_KEY, "backends") or not isinstance(value, Mapping):
            continue
        fields = {key: _plain(section, key, item) for key, item in value.items() if (section, key) not in HOST_ONLY}
        fields = {key: item for key, item in fields.items() if item is not _UNSET}
        base = raw.get(section)
        raw[section] = {**base, **fields} if isinstance(base, Mapping) else fields
    page_backends = page.get("backends")
    if page_backends is None:
        page_backends = []
    if not isinstance(page_backends, list):
        raise ConfigError("config error: backends: expected a list of backends")
    backends = [_backend(index, item) for index, item in enumerate(page_backends)] + list(extra_backends)
    if backends or "backends" in page:
        raw["backends"] = backends
    return raw


def load_page(page: Mapping[str, Any]) -> LoadedConfig:
    """Validate the page with our loader: a ConfigError is one line naming the key."""
    return load_config_data(raw_config(page))


def _backend(index: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise ConfigError(f"config error: backends[{index}]: expected a backend entry")
    kind = item.get(TEMPLATE_KEY) or item.get("type")
    if not kind:
        raise ConfigError(f"config error: backends[{index}]: no backend type chosen")
    entry = {key: value for key, value in item.items() if key not in (TEMPLATE_KEY, "template")}
    entry["type"] = kind
    # An empty optional field on the page means "not set", as an absent key does in config.toml.
    return {key: value for key, value in entry.items() if value is not None}


def _plain(section: str, key: str, value: Any) -> Any:
    if (section, key) in BLANK_MEANS_DEFAULT and value in ("", None):
        return _UNSET
    if (section, key) in ID_LISTS and isinstance(value, list):
        return [str(entry).strip() for entry in value if str(entry).strip()]
    return value
