"""The value an optional input gets when it has no default: what an untouched widget would send."""

from __future__ import annotations

from typing import Any

from .discovery import Parameter

NO_VALUE = object()  # an input whose type we do not know how to leave empty

_NONE = frozenset({"image", "imageeditor", "sketchpad", "paint", "file", "files", "uploadbutton", "video", "audio",
                   "model3d", "gallery", "imageslider", "annotatedimage", "webcam", "dataframe", "json", "plot",
                   "label", "highlightedtext", "chatbot", "html", "markdown", "downloadbutton", "simpleimage"})
_TEXT = frozenset({"textbox", "textarea", "code"})


def neutral_value(parameter: Parameter) -> Any:
    """None for media, "" for text, False for a checkbox, a valid choice for a choice, the minimum for a
    number; NO_VALUE for a component type we cannot leave empty safely."""
    kind = parameter.kind or parameter.component.lower()
    if parameter.choices:
        if kind == "checkboxgroup" or parameter.multiselect or isinstance(parameter.default, list):
            return []
        return parameter.default if parameter.default in parameter.choices else parameter.choices[0]
    if kind in _NONE:
        return None
    if kind in _TEXT:
        return ""
    if kind == "checkbox":
        return False
    if kind == "checkboxgroup":
        return []
    if kind in ("number", "slider"):
        return parameter.minimum if parameter.minimum is not None else 0
    if kind == "multimodaltextbox":
        return {"text": "", "files": []}
    if kind in ("dropdown", "radio", "state", "colorpicker", "datetime"):
        return None
    return NO_VALUE


def filled_default(parameter: Parameter) -> Any:
    """What a slot the config does not name gets: the endpoint's default, else a neutral value; a choice
    default that is not among the choices is replaced by a valid one."""
    if parameter.choices and parameter.kind in ("dropdown", "radio") and not parameter.multiselect \
            and not isinstance(parameter.default, list):
        if parameter.default not in parameter.choices:
            return neutral_value(parameter)
        return parameter.default
    if parameter.has_default or not parameter.in_api:
        return parameter.default
    value = neutral_value(parameter)
    return None if value is NO_VALUE else value
