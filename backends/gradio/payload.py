"""Building the positional `data` list for an endpoint from named inputs and templates.

Every slot the config does not name takes the endpoint's own default, so a Space with ten
parameters needs only the two or three that matter in the config.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional

from ..base import ConfigurationError
from .discovery import Endpoint, Parameter

_WHOLE_TEMPLATE = re.compile(r"^\{([a-z_]+)\}$")
_TEMPLATE = re.compile(r"\{([a-z_]+)\}")
_SIZE = re.compile(r"(\d{2,5})\s*[x×*]\s*(\d{2,5})")


@dataclass(frozen=True)
class TemplateValues:
    prompt: str
    negative_prompt: str
    width: int
    height: int
    seed: int
    aspect: str
    count: int = 1

    @property
    def ratio(self) -> float:
        return self.width / self.height


def check_inputs(endpoint: Endpoint, inputs: dict[str, Any], backend: str) -> None:
    """Raise ConfigurationError when the config does not fit the endpoint (checked before any job)."""
    names = [p.name for p in endpoint.parameters if p.in_api]
    unknown = [key for key in inputs if _position(endpoint, key) is None]
    if unknown:
        raise ConfigurationError(
            f"endpoint {endpoint.api_name or endpoint.fn_index} has no parameter {', '.join(unknown)}; "
            f"its parameters are: {', '.join(names)}", backend=backend)
    given = {_position(endpoint, key) for key in inputs}
    missing = [p.name for i, p in enumerate(endpoint.parameters) if p.in_api and not p.has_default and i not in given]
    if missing:
        raise ConfigurationError(
            f"endpoint {endpoint.api_name} requires {', '.join(missing)}, which the config does not set",
            backend=backend)
    probe = TemplateValues("probe", "", 1024, 1024, 0, "1:1")
    build_data(endpoint, inputs, probe, backend)


def with_default_prompt(endpoint: Endpoint, inputs: dict[str, Any]) -> dict[str, Any]:
    """When no input carries {prompt}, a parameter named "prompt" gets it: the common case needs no config."""
    if any("{prompt}" in str(value) for value in inputs.values()):
        return inputs
    if any(p.in_api and p.name == "prompt" for p in endpoint.parameters):
        return {"prompt": "{prompt}", **inputs}
    return inputs


def _position(endpoint: Endpoint, key: str) -> Optional[int]:
    """Inputs are named by parameter name, or by position ("0" is the first) for apps without names."""
    if key.isdigit():
        return int(key) if int(key) < len(endpoint.parameters) else None
    return next((i for i, p in enumerate(endpoint.parameters) if p.in_api and p.name == key), None)


def build_data(endpoint: Endpoint, inputs: dict[str, Any], values: TemplateValues, backend: str) -> list[Any]:
    data = [p.default for p in endpoint.parameters]
    for key, value in inputs.items():
        position = _position(endpoint, key)
        if position is not None:
            data[position] = _render(value, endpoint.parameters[position], values, backend)
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
    if name in ("width", "height", "seed", "count"):
        return _fit_number(getattr(values, name), parameter)
    return getattr(values, name)


def _fit_number(value: int, parameter: Parameter) -> int:
    low, high, step = parameter.minimum, parameter.maximum, parameter.step
    if step and step >= 1 and low is not None:
        value = int(low + round((value - low) / step) * step)
    if low is not None:
        value = max(value, int(math.ceil(low)))
    if high is not None:
        value = min(value, int(math.floor(high)))
    return int(value)


def nearest_choice(parameter: Parameter, values: TemplateValues, backend: str) -> Any:
    """The dropdown choice ("1152x896 ( 9:7 )") closest to the wanted aspect, then to the wanted size."""
    sized = []
    for choice in parameter.choices or []:
        match = _SIZE.search(str(choice))
        if match:
            sized.append((choice, int(match.group(1)), int(match.group(2))))
    if not sized:
        raise ConfigurationError(
            f"parameter {parameter.name} has no WxH choices to pick a {{resolution}} from", backend=backend)
    wanted_area = values.width * values.height

    def distance(item: tuple[Any, int, int]) -> tuple[float, float]:
        _, width, height = item
        return (round(abs(math.log((width / height) / values.ratio)), 3),
                abs(math.log((width * height) / wanted_area)))

    return min(sized, key=distance)[0]


def pick_endpoint_name(configured: str, preset_name: Optional[str], named: list[str], backend: str) -> str:
    if configured:
        return configured
    if preset_name:
        return preset_name
    if len(named) == 1:
        return named[0]
    raise ConfigurationError(
        f"api_name is not set and the app has {len(named)} endpoints: {', '.join(named) or 'none'}", backend=backend)
