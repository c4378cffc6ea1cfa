"""What every part of config.toml is built from: `Section` (the one base of the `[section]` tables and
of the backend entries) and `setting` (one key: its type comes from the annotation; its default,
limits and zh/en WebUI text are written once, here).

A new key is one line in its section::

    max_images: int = setting(1, "每次张数", "Images per request", "一次画几张", "Images drawn per request.",
                              ge=1, le=4)

A new section is a `Section` subclass with its `__ui_*__` class variables (`__ui_order__` counts in tens
from 20; 10–14 are the WebUI's backend forms), one field in `model.Config` and its block in
config.example.toml, in that order (tests/test_config_webui.py checks all three).
"""

from __future__ import annotations

import types
from functools import lru_cache
from typing import Any, Callable, ClassVar, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticUndefined

from .ui import ui

# pydantic's own checks; every other keyword of `setting` is WebUI metadata for `ui()`.
_CONSTRAINTS = ("ge", "gt", "le", "lt", "min_length", "max_length")


class Section(BaseModel):
    """A table of config.toml. Unknown keys are reported by the loader (`load.unknown_keys`), not here."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True, defer_build=True)
    __ui_label__: ClassVar[str] = ""
    __ui_icon__: ClassVar[str] = ""
    __ui_order__: ClassVar[int] = 0
    __ui_i18n__: ClassVar[dict[str, dict[str, str]]] = {}

    @model_validator(mode="before")
    @classmethod
    def _empty_number_is_not_set(cls, data: Any) -> Any:
        """An optional number given as "" (or blanks) is not set: MaiBot's WebUI shows an optional
        number as a text box and sends "" when it is cleared, and TOML has no null to write instead."""
        if not isinstance(data, dict):
            return data
        blank = [key for key in optional_numbers(cls) if isinstance(data.get(key), str) and not data[key].strip()]
        return {**data, **dict.fromkeys(blank)} if blank else data


@lru_cache(maxsize=None)
def optional_numbers(cls: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `cls` typed Optional[int] or Optional[float]."""
    found = []
    for name, info in cls.model_fields.items():
        args = get_args(info.annotation)
        if get_origin(info.annotation) in (Union, types.UnionType) and type(None) in args \
                and {arg for arg in args if arg is not type(None)} <= {int, float}:
            found.append(name)
    return tuple(found)


def setting(
    default: Any = PydanticUndefined,
    label_zh: str = "",
    label_en: str = "",
    hint_zh: str = "",
    hint_en: str = "",
    *,
    factory: Optional[Callable[[], Any]] = None,
    **options: Any,
) -> Any:
    """A pydantic field with its default (or `factory`), its checks (`ge`, `le`, `min_length` …) and its
    WebUI text: Chinese label and hint, English under `i18n` (see `ui.ui` for `placeholder_zh`,
    `secret`, `textarea`, `hidden` …). The field's description is the Chinese hint (or label)."""
    constraints = {key: options.pop(key) for key in _CONSTRAINTS if key in options}
    extra = ui(label_zh, label_en, hint_zh, hint_en, **options)
    if factory is not None:
        return Field(default_factory=factory, description=hint_zh or label_zh, json_schema_extra=extra,
                     **constraints)
    return Field(default, description=hint_zh or label_zh, json_schema_extra=extra, **constraints)
