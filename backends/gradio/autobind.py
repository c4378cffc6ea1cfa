"""Binding a request to an endpoint the config says nothing about: which input gets the prompt, the
negative prompt, the seed, and the size or aspect (width/height numbers, a `W×H` choice or a ratio
choice). The result is an ordinary `inputs` table of templates, so what `doctor` prints can be pasted
into the config and means the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from .choose import is_negative, prompt_parameter
from .discovery import Endpoint, Parameter
from .upload import first_reference_input

_SIZE = re.compile(r"(\d{2,5})\s*[x×*X✕]\s*(\d{2,5})|\(\s*(\d{2,5})\s*,\s*(\d{2,5})\s*\)")
_RATIO = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d+)?)\s*[:：/]\s*(\d{1,2}(?:\.\d+)?)(?![\d.])"
                    r"|(?<=[a-z]_)(\d{1,2})_(\d{1,2})\b", re.I)  # "16:9", "16/9", "landscape_16_9"
_WIDTH = re.compile(r"width|^(img|image|target|output)?_?w$|宽度|图像宽|图片宽|^宽(?!高比)", re.I)
_HEIGHT = re.compile(r"height|^(img|image|target|output)?_?h$|高度|图像高|图片高|^高(?![级清])", re.I)
_WORDED = (
    (re.compile(r"square|正方|方形|1:1", re.I), 1.0),
    (re.compile(r"landscape|wide|horizontal|横", re.I), 16 / 9),
    (re.compile(r"portrait|tall|vertical|竖", re.I), 9 / 16),
)
_SHAPE_LABEL = re.compile(r"ratio|aspect|orient|比例|方向|画幅|尺寸|size|format|shape|layout", re.I)
_SIZE_LABEL = re.compile(r"resolution|ratio|aspect|size|dimension|分辨率|尺寸|比例|画幅|大小", re.I)
_SEED = re.compile(r"^seed$|^seed[ _]|种子", re.I)
_RANDOMIZE = re.compile(r"random|随机", re.I)
_COUNT = re.compile(r"num_?images|num_?outputs|num_?samples|number[ _]of[ _](images|outputs|samples|pictures)"
                    r"|batch[ _]?(size|count)|n_images|image[ _]count|images? per|图片数量|生成数量|出图数量|张数"
                    r"|^n$|^num$", re.I)
_NUMBERS = frozenset({"slider", "number"})
_CHOICES = frozenset({"dropdown", "radio"})
SIZE_TEMPLATES = ("{width}", "{height}", "{resolution}", "{aspect}")


@dataclass(frozen=True)
class SizeControls:
    width: Optional[Parameter] = None
    height: Optional[Parameter] = None
    resolution: Optional[Parameter] = None  # a choice of "W×H" strings
    ratio: Optional[Parameter] = None  # a choice of "16:9" strings

    def any(self) -> bool:
        return bool((self.width and self.height) or self.resolution or self.ratio)


def size_controls(endpoint: Endpoint) -> SizeControls:
    params = [p for p in endpoint.parameters if p.in_api]
    numbers = [p for p in params if p.kind in _NUMBERS or p.component.lower() in _NUMBERS
               or (p.kind in _CHOICES and numeric_choices(p))]
    width = next((p for p in numbers if _matches(_WIDTH, p) and not _matches(_HEIGHT, p)), None)
    height = next((p for p in numbers if _matches(_HEIGHT, p) and not _matches(_WIDTH, p)), None)
    choices = [p for p in params if p.choices and (p.kind in _CHOICES or not p.kind)]
    resolution = next((p for p in choices if _mostly(p, sized_choices(p))), None)
    ratio = next((p for p in choices if p is not resolution and _mostly(p, ratio_choices(p))), None)
    if width is None or height is None:
        width = height = None
    return SizeControls(width, height, resolution, ratio)


def _mostly(parameter: Parameter, found: list) -> bool:
    """A choice is a size (or ratio) control when at least two of its choices read as one and all but
    one do ("Custom"), or its label says it is one; a "Quality Style" radio offering "3840 x 2160"
    among "HD+" and "Style Zero" is a style."""
    if len(found) < 2:
        return False
    return len(found) >= len(parameter.choices or []) - 1 or _matches(_SIZE_LABEL, parameter)


def auto_inputs(endpoint: Endpoint, configured: dict[str, Any]) -> dict[str, Any]:
    """Templates for the inputs the config leaves open; the configured ones are kept as they are."""
    taken = {position(endpoint, key) for key in configured} - {None}
    texts = " ".join(str(v) for v in configured.values())
    bound: dict[str, Any] = {}

    def bind(parameter: Optional[Parameter], value: Any) -> None:
        if parameter is None:
            return
        index = endpoint.parameters.index(parameter)
        if index not in taken:
            bound[key_for(endpoint, index)] = value
            taken.add(index)

    if "{prompt}" not in texts:
        bind(prompt_parameter(endpoint), "{prompt}")
    if "{negative_prompt}" not in texts:
        bind(next((p for p in endpoint.parameters if p.in_api and p.kind in ("textbox", "textarea")
                   and is_negative(p)), None), "{negative_prompt}")
    if not any(template in texts for template in SIZE_TEMPLATES):
        controls = size_controls(endpoint)
        bind(controls.width, "{width}")
        bind(controls.height, "{height}")
        bind(controls.resolution, "{resolution}")
        bind(controls.ratio, "{aspect}")
    if "{image}" not in texts:
        bind(first_reference_input(endpoint), "{image}")
    if "{count}" not in texts:
        bind(count_parameter(endpoint), "{count}")
    if "{seed}" not in texts:
        seed = next((p for p in endpoint.parameters if p.in_api and p.kind in _NUMBERS and _matches(_SEED, p)), None)
        if seed is not None:
            bind(seed, "{seed}")
            bind(next((p for p in endpoint.parameters if p.in_api and p.kind == "checkbox"
                       and _matches(_RANDOMIZE, p)), None), False)
    return {**bound, **configured}


def count_parameter(endpoint: Endpoint) -> Optional[Parameter]:
    """A number input that says how many images one call draws ("Number of images", batch size)."""
    for parameter in endpoint.parameters:
        if not parameter.in_api or not _matches(_COUNT, parameter):
            continue
        if parameter.kind in _NUMBERS and (parameter.maximum is None or parameter.maximum >= 2):
            return parameter
        if parameter.kind in _CHOICES and numeric_choices(parameter):
            return parameter
    return None


def key_for(endpoint: Endpoint, index: int) -> str:
    """An input's key in the config: its name when that is unique, else its position."""
    name = endpoint.parameters[index].name
    same = [p for p in endpoint.parameters if p.in_api and p.name == name]
    return name if len(same) == 1 and not name.isdigit() else str(index)


def sized_choices(parameter: Parameter) -> list[tuple[Any, int, int]]:
    """(choice, width, height) for each choice that reads as a size, from its value or its label."""
    found = []
    for choice, label in zip(parameter.choices or [], parameter.choice_labels or parameter.choices or []):
        match = _SIZE.search(str(choice)) or _SIZE.search(str(label))
        if match:
            width, height = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
            found.append((choice, int(width), int(height)))
    return found


def ratio_choices(parameter: Parameter) -> list[tuple[Any, float]]:
    """(choice, width / height) for each choice that reads as an aspect ratio: "16:9", "9:16 (Portrait)",
    or only a word ("Landscape", "竖屏", "Square")."""
    found = []
    for choice, label in zip(parameter.choices or [], parameter.choice_labels or parameter.choices or []):
        match = _RATIO.search(str(choice)) or _RATIO.search(str(label))
        if match:
            first, second = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
            if float(first) > 0 and float(second) > 0:
                found.append((choice, _oriented(float(first) / float(second), f"{choice} {label}")))
    if len(found) >= 2 or not _matches(_SHAPE_LABEL, parameter):
        return found  # words alone count only on an input labelled as a shape (not a "Portrait" style)
    worded = []
    for choice, label in zip(parameter.choices or [], parameter.choice_labels or parameter.choices or []):
        ratio = next((r for pattern, r in _WORDED if pattern.search(f"{choice} {label}")), None)
        if ratio is not None:
            worded.append((choice, ratio))
    return worded if len(worded) >= 2 else found


def _oriented(ratio: float, text: str) -> float:
    """ "portrait_16_9" (fal's names) is 9:16: a word for the orientation wins over the order of the numbers."""
    if (ratio > 1 and _WORDED[2][0].search(text)) or (ratio < 1 and _WORDED[1][0].search(text)):
        return 1 / ratio
    return ratio


def numeric_choices(parameter: Parameter) -> list[tuple[Any, float]]:
    """(choice, number) when every choice is a plain number ("512", 768): a width or height picker."""
    found = []
    for choice in parameter.choices or []:
        try:
            found.append((choice, float(str(choice).strip())))
        except ValueError:
            return []
    return found if len(found) >= 2 else []


def bound_to(endpoint: Endpoint, inputs: dict[str, Any], template: str) -> Optional[Parameter]:
    """The parameter whose configured value is exactly `template`."""
    for key, value in inputs.items():
        index = position(endpoint, key)
        if index is not None and value == template:
            return endpoint.parameters[index]
    return None


def _matches(pattern: re.Pattern, parameter: Parameter) -> bool:
    return bool(pattern.search(parameter.name.strip()) or pattern.search(parameter.label.strip()))


def position(endpoint: Endpoint, key: str) -> Optional[int]:
    """Inputs are named by parameter name, or by position ("0" is the first) for apps without names."""
    if key.isdigit():
        return int(key) if int(key) < len(endpoint.parameters) else None
    return next((i for i, p in enumerate(endpoint.parameters) if p.in_api and p.name == key), None)
