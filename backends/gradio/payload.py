"""Building the positional `data` list for an endpoint from named inputs and templates.

Every slot the config does not name takes the endpoint's own default (or, where it has none, the
neutral value an untouched widget sends), so a Space with ten parameters needs only the two or three
that matter, and `autobind` finds those when the config names none.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional

from ...aspects import nearest
from ..base import GenerationRequest
from ...errors import ConfigurationError
from .autobind import SIZE_TEMPLATES, bound_to, numeric_choices, position, ratio_choices, size_controls, sized_choices
from .discovery import Endpoint, Parameter
from .neutral import NO_VALUE, filled_default, neutral_value

_WHOLE_TEMPLATE = re.compile(r"^\{([a-z_]+)\}$")
_TEMPLATE = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class TemplateValues:
    prompt: str
    negative_prompt: str
    width: int
    height: int
    seed: int
    aspect: str
    count: int = 1
    image: Any = None  # the reference as the image input takes it (uploaded), None when there is none

    @property
    def ratio(self) -> float:
        return self.width / self.height


def check_inputs(endpoint: Endpoint, inputs: dict[str, Any], backend: str) -> None:
    """Raise ConfigurationError when the config does not fit the endpoint (checked before any job)."""
    names = [p.name for p in endpoint.parameters if p.in_api]
    unknown = [key for key in inputs if position(endpoint, key) is None]
    if unknown:
        raise ConfigurationError(
            f"endpoint {endpoint.api_name or endpoint.fn_index} has no parameter {', '.join(unknown)}; "
            f"its parameters are: {', '.join(names)}", backend=backend)
    given = {position(endpoint, key) for key in inputs}
    missing = [f"{p.name} ({p.component or p.kind})" for i, p in enumerate(endpoint.parameters)
               if p.in_api and not p.has_default and i not in given and neutral_value(p) is NO_VALUE]
    if missing:
        raise ConfigurationError(
            f"endpoint {endpoint.label} requires {', '.join(missing)}, which the config does not set "
            "and which cannot be left empty", backend=backend)
    probe = TemplateValues("probe", "", 1024, 1024, 0, "1:1")
    build_data(endpoint, inputs, probe, backend)


def build_data(endpoint: Endpoint, inputs: dict[str, Any], values: TemplateValues, backend: str) -> list[Any]:
    data = [filled_default(p) for p in endpoint.parameters]
    for key, value in inputs.items():
        index = position(endpoint, key)
        if index is not None:
            data[index] = _render(value, endpoint.parameters[index], values, backend)
            if endpoint.parameters[index].kind == "multimodaltextbox" and isinstance(data[index], str):
                data[index] = {"text": data[index], "files": []}  # gradio MultimodalData: text and files
    return data


def _render(value: Any, parameter: Parameter, values: TemplateValues, backend: str) -> Any:
    if not isinstance(value, str):
        return value
    whole = _WHOLE_TEMPLATE.match(value)
    if not whole:
        return _TEMPLATE.sub(lambda m: str(_typed(m.group(1), parameter, values, backend)), value)
    return _typed(whole.group(1), parameter, values, backend)


def _typed(name: str, parameter: Parameter, values: TemplateValues, backend: str) -> Any:
    if name == "resolution":
        return nearest_choice(parameter, values, backend)
    if name == "aspect" and parameter.choices:
        return nearest_ratio(parameter, values, backend)
    if name == "seed":
        return _fit_seed(values.seed, parameter)
    if name in ("width", "height"):
        numbers = numeric_choices(parameter)
        if numbers:  # a dropdown of sizes: the nearest one, as the app spells it
            return min(numbers, key=lambda item: abs(item[1] - getattr(values, name)))[0]
    if name in ("width", "height"):
        return _fit_number(getattr(values, name), parameter, pixels=True)
    if name == "count":
        numbers = numeric_choices(parameter)
        if numbers:
            return min(numbers, key=lambda item: abs(item[1] - values.count))[0]
        return _fit_number(values.count, parameter)
    if name == "image":
        # No reference in this job: what the input holds when nobody touches it (an app's example image).
        return values.image if values.image is not None else filled_default(parameter)
    if name == "negative_prompt" and not values.negative_prompt and isinstance(parameter.default, str):
        return parameter.default  # nothing asked: keep the app's own negative prompt
    if name not in TEMPLATE_NAMES:
        raise ConfigurationError(f"unknown template {{{name}}} in the inputs of {parameter.name}; "
                                 f"known: {', '.join('{' + n + '}' for n in TEMPLATE_NAMES)}", backend=backend)
    return getattr(values, name)


TEMPLATE_NAMES = ("prompt", "negative_prompt", "width", "height", "seed", "aspect", "resolution", "count", "image")


def _fit_seed(seed: int, parameter: Parameter) -> int:
    """A seed inside the input's range: wrapped around, so different seeds stay different."""
    low = int(math.ceil(parameter.minimum)) if parameter.minimum is not None else 0
    high = int(math.floor(parameter.maximum)) if parameter.maximum is not None else None
    if high is not None and high >= low and not low <= seed <= high:
        return low + (seed - low) % (high - low + 1)
    return max(seed, low)


PIXEL_MULTIPLE = 16


def _fit_number(value: int, parameter: Parameter, pixels: bool = False) -> int:
    low, high, step = parameter.minimum, parameter.maximum, parameter.step
    if pixels and not (step and step >= 8):
        # A width in a plain number box (or a step-1 slider) goes straight into a diffusion pipeline,
        # which wants a multiple of 8 (SD) or 16 (FLUX, SD3): 1365 would be refused or resized.
        value = max(PIXEL_MULTIPLE, int(round(value / PIXEL_MULTIPLE)) * PIXEL_MULTIPLE)
        if high is not None and value > high:
            value = int(math.floor(high / PIXEL_MULTIPLE)) * PIXEL_MULTIPLE or value
        if low is not None and value < low:
            value = int(math.ceil(low / PIXEL_MULTIPLE)) * PIXEL_MULTIPLE
    elif step and step >= 1 and low is not None:
        value = int(low + round((value - low) / step) * step)
    if low is not None:
        value = max(value, int(math.ceil(low)))
    if high is not None:
        value = min(value, int(math.floor(high)))
    return int(value)


def nearest_choice(parameter: Parameter, values: TemplateValues, backend: str) -> Any:
    """The choice ("1152x896 ( 9:7 )", "1360 × 768 (Landscape)") closest to the wanted aspect, then size."""
    sized = sized_choices(parameter)
    if not sized:
        raise ConfigurationError(
            f"parameter {parameter.name} has no WxH choices to pick a {{resolution}} from", backend=backend)
    wanted_area = values.width * values.height

    def distance(item: tuple[Any, int, int]) -> tuple[float, float]:
        _, width, height = item
        return (round(abs(math.log((width / height) / values.ratio)), 3),
                abs(math.log((width * height) / wanted_area)))

    return min(sized, key=distance)[0]


def nearest_ratio(parameter: Parameter, values: TemplateValues, backend: str) -> Any:
    """The listed ratio ("16:9", "9:16 (Portrait)") closest to the wanted one."""
    ratios = ratio_choices(parameter)
    if not ratios:
        if values.aspect in (parameter.choices or []):
            return values.aspect
        raise ConfigurationError(
            f"parameter {parameter.name} has no ratio choices (such as 16:9) to pick an {{aspect}} from",
            backend=backend)
    return nearest(values.ratio, ratios, lambda item: item[1])[0]


def target_size(endpoint: Endpoint, inputs: dict[str, Any], request: GenerationRequest) -> tuple[int, int]:
    """The width and height to ask for: an explicit size as given; otherwise the requested aspect at about
    the pixel count of the app's own default (its width/height defaults or its default `W×H` choice),
    kept inside the width/height ranges."""
    if request.width and request.height:
        return request.width, request.height
    width, height = bound_to(endpoint, inputs, "{width}"), bound_to(endpoint, inputs, "{height}")
    resolution = bound_to(endpoint, inputs, "{resolution}")
    area = None
    if width is not None and height is not None and _positive(_number(width.default)) \
            and _positive(_number(height.default)):
        area = float(_number(width.default)) * float(_number(height.default))
    elif resolution is not None:
        default = [item for item in sized_choices(resolution) if item[0] == resolution.default]
        area = float(default[0][1] * default[0][2]) if default else None
    ratio = request.aspect_ratio()
    if area is None:
        return request.size()
    w = math.sqrt(area * ratio)
    h = w / ratio
    if width is not None and height is not None:
        shrink = min([1.0, *(limit / side for limit, side in ((width.maximum, w), (height.maximum, h)) if limit)])
        w, h = w * shrink, h * shrink
        grow = max([1.0, *(limit / side for limit, side in ((width.minimum, w), (height.minimum, h)) if limit)])
        w, h = w * grow, h * grow
    return int(round(w)), int(round(h))


def _number(value: Any) -> Any:
    """A default that a dropdown of sizes spells as text ("1024") read as a number."""
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return value


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def size_notes(endpoint: Endpoint, inputs: dict[str, Any], request: GenerationRequest, values: TemplateValues,
               data: list[Any]) -> list[str]:
    """What to tell the user about the shape that was sent: never ignore an aspect silently."""
    if not (request.aspect or (request.width and request.height)):
        return []
    if not (request.width and request.height) and request.aspect_ratio() == 1.0:
        return []  # square is what nearly every app draws by default: nothing worth a note
    wanted = request.aspect or f"{request.width}x{request.height}"
    if not any(template in str(value) for value in inputs.values() for template in SIZE_TEMPLATES):
        if size_controls(endpoint).any():
            return [f"aspect {wanted} not applied: the config's inputs set the size of {endpoint.label}"]
        return [f"aspect {wanted} not applied: {endpoint.label} has no size input; the app's default size is used"]
    sent = _sent_ratio(endpoint, inputs, data)
    if sent is not None and abs(math.log(sent[0] / values.ratio)) > 0.08:
        return [f"aspect {wanted} only approximated: {endpoint.label} offers {sent[1]}"]
    return []


def _sent_ratio(endpoint: Endpoint, inputs: dict[str, Any], data: list[Any]) -> Optional[tuple[float, str]]:
    def sent(parameter: Parameter) -> Any:
        return data[endpoint.parameters.index(parameter)]

    width, height = bound_to(endpoint, inputs, "{width}"), bound_to(endpoint, inputs, "{height}")
    if width is not None and height is not None:
        w, h = _number(sent(width)), _number(sent(height))
        if _positive(w) and _positive(h):
            return w / h, f"{sent(width)}x{sent(height)}"
    resolution = bound_to(endpoint, inputs, "{resolution}")
    if resolution is not None:
        sized = [(w, h) for choice, w, h in sized_choices(resolution) if choice == sent(resolution)]
        if sized:
            return sized[0][0] / sized[0][1], str(sent(resolution))
    ratio = bound_to(endpoint, inputs, "{aspect}")
    if ratio is not None and ratio.choices:
        listed = [r for choice, r in ratio_choices(ratio) if choice == sent(ratio)]
        if listed:
            return listed[0], str(sent(ratio))
    return None
