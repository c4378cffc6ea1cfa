"""The backend list as a form: one fixed section per backend type (`[webui_gradio]`, `[webui_openai]`, …)
that shows and edits the FIRST `[[backends]]` entry of that type.

Why: a settings page built from the config model (MaiBot's WebUI) cannot edit a list of mixed types,
so `[[backends]]` stays the one source of truth and each section is its mirror:

- Written: a front end that writes config.toml from the model (MaiBot's WebUI) writes every section as
  the mirror of the list, with `synced` = a fingerprint of the entry it shows ("none" when the list
  has no backend of that type). `forms_of(backends)` gives those sections.
- Read: `fold_forms(raw)` takes the sections out of the file's data. A section whose `synced` still
  matches the list's current entry and whose values differ was edited in the form: its values become
  that entry (or, with no entry of that type yet, a new entry at the end of the list). A section whose
  `synced` does not match was written before the list changed (by hand, `space deploy`, …): the list
  wins and the section is ignored. So whatever edited the file last decides, and the CLI and MaiBot
  read the same file the same way.

Backends after the first of a type, and the order of the list, are edited in `[[backends]]` itself.
"""

from __future__ import annotations

import copy
import hashlib
import json
from functools import lru_cache
from typing import Any, Callable, Mapping, Optional, Sequence

from pydantic import BaseModel, SecretStr, ValidationError, create_model

from .backend_types import BACKEND_TYPES
from .section import Section, setting
from .ui import section_i18n

FORM_PREFIX = "webui_"
NO_ENTRY = "none"
FIRST_FORM_ORDER = 10  # right after [plugin]; the other sections count in tens from 20


def form_key(kind: str) -> str:
    return FORM_PREFIX + kind


@lru_cache(maxsize=None)
def form_class(kind: str) -> type[Section]:
    """A section with the keys of backend type `kind` (same defaults, limits and WebUI text) and none of
    its cross-key checks: the values are checked as a backend once they are folded into the list."""
    backend = BACKEND_TYPES[kind]
    fields: dict[str, Any] = {}
    for name, info in backend.config.model_fields.items():
        field = copy.copy(info)
        if name == "type":  # fixed per section
            field.json_schema_extra = {**(info.json_schema_extra or {}), "hidden": True}
        fields[name] = (info.annotation, field)
    fields["synced"] = (str, setting(
        "", "同步标记", "Sync mark",
        "表单对应的后端条目的指纹，由插件维护，勿改",
        "Fingerprint of the backend entry this form shows; kept by the plugin, do not edit.",
        hidden=True,
    ))
    cls = create_model(f"{backend.config.__name__}Form", __base__=Section, __module__=__name__, **fields)
    cls.__doc__ = (f"[[backends]] 中第一个 type = \"{kind}\" 的后端。没有时打开「启用」并填写即可添加（排在列表最后）；"
                   "同类型的更多后端和尝试顺序请在源码（TOML）模式中编辑 [[backends]]。")
    cls.__ui_label__ = f"后端：{backend.title_zh}"
    cls.__ui_icon__ = "image"
    cls.__ui_order__ = FIRST_FORM_ORDER + list(BACKEND_TYPES).index(kind)
    cls.__ui_i18n__ = section_i18n(
        f"Backend: {backend.title_en}",
        f"The first [[backends]] entry with type = \"{kind}\". With none yet, switch on Enabled and fill it in to "
        "add one (tried last); more backends of this type and the order are edited in [[backends]] in the "
        "source (TOML) view.",
    )
    return cls


def entry_values(kind: str, entry: Any, *, as_backend: bool = True) -> Optional[dict[str, Any]]:
    """The keys of one backend entry (a validated backend or a dict from a file) as the form of its type
    reads them, secrets as text; None when the entry's values do not fit the form at all. A dict is
    read as the backend it makes (`as_backend`: a derived name filled in, an api_name with its "/")
    when it is a valid one, so a file's entry and the validated entry give the same values."""
    cls = form_class(kind)
    names = [name for name in cls.model_fields if name != "synced"]
    if as_backend and isinstance(entry, Mapping):
        try:
            entry = BACKEND_TYPES[kind].config.model_validate({**entry, "type": kind})
        except ValidationError:
            pass
    if isinstance(entry, BaseModel):
        data = {name: getattr(entry, name) for name in names if hasattr(entry, name)}
    elif isinstance(entry, Mapping):
        data = {name: entry[name] for name in names if name in entry}
    else:
        return None
    data["type"] = kind
    try:
        form = cls.model_validate(data)
    except ValidationError:
        return None
    return {name: _plain(getattr(form, name)) for name in names}


def fingerprint(values: Optional[Mapping[str, Any]]) -> str:
    """A short digest of an entry's values (it only has to tell "changed" from "the same")."""
    if values is None:
        return NO_ENTRY
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def forms_of(backends: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Every form section as the mirror of `backends` (validated backend configs)."""
    forms: dict[str, dict[str, Any]] = {}
    for kind in BACKEND_TYPES:
        entry = next((b for b in backends if getattr(b, "type", None) == kind), None)
        values = entry_values(kind, entry) if entry is not None else None
        if values is None:
            shown = entry_values(kind, {}, as_backend=False) or {}
            shown["enabled"] = False  # adding one is a deliberate switch
            forms[form_key(kind)] = {**shown, "synced": NO_ENTRY}
        else:
            forms[form_key(kind)] = {**values, "synced": fingerprint(values)}
    return forms


def fold_forms(raw: Mapping[str, Any], default_entries: Callable[[], Sequence[Any]] = tuple
               ) -> tuple[dict[str, Any], dict[str, str]]:
    """`raw` without its form sections, their edits folded into `backends`, and where each folded key
    came from ("backends[1].api_key" → "webui_openai.api_key") so an error names the key the user set.
    `default_entries()` is the list a file without `backends` gets."""
    if not any(form_key(kind) in raw for kind in BACKEND_TYPES):
        return dict(raw), {}
    data = dict(raw)
    forms = {kind: data.pop(form_key(kind)) for kind in BACKEND_TYPES if form_key(kind) in data}
    listed = data["backends"] if "backends" in data else [_entry(b) for b in default_entries()]
    if not isinstance(listed, list):
        return data, {}  # validation names `backends`
    backends = list(listed)
    origins: dict[str, str] = {}
    for kind, form in forms.items():
        if not isinstance(form, Mapping):
            continue
        index = next((i for i, b in enumerate(backends) if isinstance(b, Mapping) and b.get("type") == kind), None)
        current = entry_values(kind, backends[index]) if index is not None else None
        if index is not None and current is None:
            continue  # the entry itself is malformed: validation reports it
        if str(form.get("synced", "")).strip() != fingerprint(current):
            continue  # the list changed after this form was written: the list wins
        edited = entry_values(kind, form, as_backend=False)
        if edited is None:
            edited = {key: value for key, value in form.items() if key != "synced"}  # validation names the key
        shown = current if current is not None else forms_of(())[form_key(kind)]
        if all(edited.get(key) == value for key, value in shown.items() if key != "synced"):
            continue
        entry = {**(backends[index] if index is not None else {}), **edited, "type": kind}
        if index is None:
            index = len(backends)
            backends.append(entry)
        else:
            backends[index] = entry
        origins.update({f"backends[{index}].{key}": f"{form_key(kind)}.{key}" for key in edited})
    data["backends"] = backends
    return data, origins


def _entry(backend: Any) -> Any:
    return backend.model_dump() if isinstance(backend, BaseModel) else backend


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
