"""Reading a Gradio app's shape from `GET /config` and `GET {prefix}/info`: version, API prefix,
queue protocol, and each endpoint's parameters with their defaults and choices."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import httpx

from ..base import ConfigurationError, ProtocolError, TransientError
from ..http import error_for_status, is_html, read_capped

MAX_CONFIG_BYTES = 32 * 1024 * 1024


class AppStarting(TransientError):
    """The app answered with an HTML page or a 502/503: a Space that sleeps, builds or restarts."""


@dataclass
class Parameter:
    name: str
    label: str
    component: str
    default: Any = None
    has_default: bool = True
    choices: Optional[list[Any]] = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    step: Optional[float] = None
    in_api: bool = True  # False for gr.State and other slots /info does not list

    def describe(self) -> str:
        text = f"{self.name} ({self.component})"
        if self.has_default:
            text += f" = {self.default!r}"
        else:
            text += " required"
        if self.minimum is not None or self.maximum is not None:
            text += f" [{self.minimum}..{self.maximum}]"
        if self.choices:
            shown = ", ".join(repr(c) for c in self.choices[:6])
            text += f" choices: {shown}{', …' if len(self.choices) > 6 else ''}"
        return text


@dataclass
class Endpoint:
    api_name: str  # "/generate"; "" for an unnamed 3.x event
    fn_index: int
    trigger_id: Optional[int]
    parameters: list[Parameter]
    queued: bool = True


@dataclass
class AppInfo:
    version: str
    api_prefix: str
    protocol: Optional[str]  # None: Gradio 3 (WebSocket queue, not used here)
    endpoints: list[Endpoint] = field(default_factory=list)

    @property
    def major(self) -> int:
        match = re.match(r"(\d+)", self.version)
        return int(match.group(1)) if match else 0

    def version_at_least(self, major: int, minor: int) -> bool:
        parts = [int(p) for p in re.findall(r"\d+", self.version)[:2]] + [0, 0]
        return (parts[0], parts[1]) >= (major, minor)

    def find(self, api_name: str) -> Optional[Endpoint]:
        wanted = "/" + api_name.lstrip("/")
        return next((e for e in self.endpoints if e.api_name == wanted), None)

    def named(self) -> list[str]:
        return [e.api_name for e in self.endpoints if e.api_name]


async def fetch_json(client: httpx.AsyncClient, url: str, headers: dict[str, str], what: str, backend: str) -> Any:
    try:
        # Read with a cap: a big app's /config is a few MB; a hostile one must not fill the memory.
        async with client.stream("GET", url, headers=headers) as response:
            raw = await read_capped(response, MAX_CONFIG_BYTES, backend=backend)
    except httpx.TimeoutException:
        raise TransientError(f"{what}: timed out", backend=backend) from None
    except httpx.TransportError as exc:
        raise TransientError(f"{what}: cannot connect ({type(exc).__name__})", backend=backend) from None
    if is_html(response) or response.status_code in (502, 503, 504):
        raise AppStarting(f"{what} → HTTP {response.status_code} {response.headers.get('content-type', '')}: "
                          "the app is asleep, building or restarting", backend=backend)
    if response.status_code != 200:
        raise error_for_status(response, what, backend=backend)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError(f"{what}: answer is not JSON", backend=backend) from None


async def discover(client: httpx.AsyncClient, base: str, headers: dict[str, str], backend: str) -> AppInfo:
    config = await fetch_json(client, f"{base}/config", headers, "GET /config", backend)
    if not isinstance(config, dict) or not isinstance(config.get("dependencies"), list):
        raise ConfigurationError("GET /config did not return a Gradio app config (is this a Gradio app?)",
                                 backend=backend)
    prefix = str(config.get("api_prefix") or "").rstrip("/")
    info: dict[str, Any] = {}
    try:
        fetched = await fetch_json(client, f"{base}{prefix}/info", headers, f"GET {prefix}/info", backend)
        info = fetched if isinstance(fetched, dict) else {}
    except ConfigurationError:
        info = {}  # apps older than 3.36 have no /info: names then come from labels
    return parse_app(config, info)


def parse_app(config: dict[str, Any], info: dict[str, Any]) -> AppInfo:
    components = {c.get("id"): c for c in config.get("components", []) if isinstance(c, dict)}
    named_info = info.get("named_endpoints") or {}
    unnamed_info = info.get("unnamed_endpoints") or {}
    endpoints = []
    for index, dep in enumerate(config["dependencies"]):
        if not isinstance(dep, dict):
            continue
        api_name = dep.get("api_name")
        if api_name is False or dep.get("api_visibility") == "private":
            continue
        fn_index = dep.get("id", index)
        name = "/" + str(api_name).lstrip("/") if api_name else ""
        described = named_info.get(name) if name else unnamed_info.get(str(fn_index))
        params = _parameters(dep.get("inputs") or [], components, (described or {}).get("parameters") or [])
        targets = dep.get("targets") or []
        trigger = targets[0][0] if targets and isinstance(targets[0], (list, tuple)) else None
        endpoints.append(Endpoint(name, int(fn_index), trigger, params, dep.get("queue") is not False))
    return AppInfo(str(config.get("version") or "0"), str(config.get("api_prefix") or "").rstrip("/"),
                   config.get("protocol"), endpoints)


def _parameters(input_ids: list, components: dict, described: list) -> list[Parameter]:
    documented = iter(described)
    result = []
    for position, component_id in enumerate(input_ids):
        component = components.get(component_id) or {}
        kind = str(component.get("type") or "")
        props = component.get("props") or {}
        in_api = not (component.get("skip_api") or kind == "state")
        doc = next(documented, {}) if in_api else {}
        label = str(doc.get("label") or props.get("label") or "")
        name = doc.get("parameter_name") or _name_from_label(label) or f"arg{position}"
        if "parameter_has_default" in doc:
            has_default = bool(doc["parameter_has_default"])
            default = doc.get("parameter_default")
        else:
            has_default = "value" in props or not in_api
            default = props.get("value")
        result.append(Parameter(
            name=str(name), label=label, component=str(doc.get("component") or kind), default=default,
            has_default=has_default, choices=_choices(props.get("choices")), minimum=props.get("minimum"),
            maximum=props.get("maximum"), step=props.get("step"), in_api=in_api,
        ))
    return result


def _choices(raw: Any) -> Optional[list[Any]]:
    if not isinstance(raw, list):
        return None
    # 4.x+ lists [label, value] pairs; 3.x lists the values.
    return [c[1] if isinstance(c, (list, tuple)) and len(c) == 2 else c for c in raw]


def _name_from_label(label: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", label).strip("_").lower()
