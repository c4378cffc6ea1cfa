"""WebUI metadata for config fields and sections, in the shape MaiBot's plugin config page reads.

The SDK (`maibot_sdk.config.generate_plugin_config_schema`) copies a field's `json_schema_extra`
keys into the form schema; the dashboard (MaiBot `dashboard/src/routes/plugin-config.tsx`) shows a
field's `label`, `hint` and `placeholder` (never its `description`) and, for another UI language,
looks them up in `i18n[locale]` first. The SDK guide writes locales as `en_US`; the dashboard's
lookup tries `en`, `en_US` and `en-US`. Sections take `title` / `description` in `__ui_i18n__`.
"""

from __future__ import annotations

from typing import Any

EN = "en_US"

# Widgets the dashboard renders (its switch on `ui_type`); anything else falls back to a text input.
PASSWORD = {"x-widget": "password", "input_type": "password"}


def ui(
    label_zh: str,
    label_en: str,
    hint_zh: str = "",
    hint_en: str = "",
    *,
    placeholder_zh: str = "",
    placeholder_en: str = "",
    secret: bool = False,
    textarea: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """The `json_schema_extra` of one field: Chinese label/hint/placeholder, English under `i18n`.

    `secret` makes it a password input; `textarea=N` a multi-line input of N rows. Other keyword
    arguments (`step`, `example`, `order`, `depends_on`, `depends_value`, `x-widget` via a dict …)
    are passed through as they are.
    """
    if not label_zh or not label_en:
        raise ValueError("a field needs both a Chinese and an English label")
    data: dict[str, Any] = {"label": label_zh}
    english: dict[str, str] = {"label": label_en}
    if hint_zh:
        data["hint"] = hint_zh
    if hint_en:
        english["hint"] = hint_en
    if placeholder_zh:
        data["placeholder"] = placeholder_zh
    if placeholder_en:
        english["placeholder"] = placeholder_en
    if secret:
        data.update(PASSWORD)
    if textarea:
        data["x-widget"] = "textarea"
        data["rows"] = textarea
    data.update(extra)
    data["i18n"] = {EN: english}
    return data


def section_i18n(title_en: str, description_en: str = "") -> dict[str, dict[str, str]]:
    """The `__ui_i18n__` of a section: its English title (and description, shown under the title)."""
    entry = {"title": title_en}
    if description_en:
        entry["description"] = description_en
    return {EN: entry}
