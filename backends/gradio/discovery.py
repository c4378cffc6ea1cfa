"""Reading a Gradio app's shape from `GET /config` and `GET {prefix}/info`: version, API prefix,
queue protocol, and each endpoint's parameters with their defaults and choices."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from urllib.parse import urlsplit

import httpx

from ...errors import ConfigurationError, ProtocolError, TransientError
from ..http import error_for_status, is_html, read_capped
from ...phrases import UNREACHABLE

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
    kind: str = ""  # the component type from /config, lower case: "textbox", "slider", "image", …
    choice_labels: Optional[list[str]] = None  # what the UI shows for each choice (4.x+ [label, value] pairs)
    multiselect: bool = False  # a dropdown that takes a list of choices

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
    outputs: list[str] = field(default_factory=list)  # output component types, lower case
    triggers: list[str] = field(default_factory=list)  # "click", "submit", "load", …
    hidden: str = ""  # why a client should not call it ("" = callable); see hidden_reason()
    input_ids: tuple = ()  # component ids, to recognise the same function registered twice
    output_ids: tuple = ()

    @property
    def label(self) -> str:
        return self.api_name or f"fn_index {self.fn_index}"


@dataclass
class AppInfo:
    version: str
    api_prefix: str
    protocol: Optional[str]  # None: Gradio 3 (WebSocket queue, not used here)
    endpoints: list[Endpoint] = field(default_factory=list)  # every event, the hidden ones too
    mode: str = "blocks"  # "interface" for a gr.Interface app

    @property
    def major(self) -> int:
        match = re.match(r"(\d+)", self.version)
        return int(match.group(1)) if match else 0

    def version_at_least(self, major: int, minor: int) -> bool:
        parts = [int(p) for p in re.findall(r"\d+", self.version)[:2]] + [0, 0]
        return (parts[0], parts[1]) >= (major, minor)

    def find(self, api_name: str) -> Optional[Endpoint]:
        """A named endpoint; a callable one wins over a hidden one of the same name."""
        wanted = "/" + api_name.lstrip("/")
        found = [e for e in self.endpoints if e.api_name == wanted]
        return next((e for e in found if not e.hidden), found[0] if found else None)

    def by_fn_index(self, fn_index: int) -> Optional[Endpoint]:
        return next((e for e in self.endpoints if e.fn_index == fn_index), None)

    def callable(self) -> list[Endpoint]:
        return [e for e in self.endpoints if not e.hidden]

    def named(self) -> list[str]:
        return [e.api_name for e in self.callable() if e.api_name]


async def fetch_json(client: httpx.AsyncClient, url: str, headers: dict[str, str], what: str, backend: str) -> Any:
    try:
        # Read with a cap: a big app's /config is a few MB; a hostile one must not fill the memory.
        async with client.stream("GET", url, headers=headers) as response:
            raw = await read_capped(response, MAX_CONFIG_BYTES, backend=backend)
    except httpx.TransportError as exc:
        host = urlsplit(url).hostname or url
        cause = unreachable_cause(exc)
        # A name that does not resolve is a misspelt Space or a blocked or offline network: retrying
        # within seconds does not help, the next backend might.
        error = ConfigurationError if cause == "name not resolved" else TransientError
        raise error(f"cannot reach {host}: {cause}", backend=backend,
                    user_message=UNREACHABLE) from None
    if is_html(response) or response.status_code in (502, 503, 504):
        raise AppStarting(f"{what} → HTTP {response.status_code} {response.headers.get('content-type', '')}: "
                          "the app is asleep, building or restarting", backend=backend)
    if response.status_code != 200:
        raise error_for_status(response, what, backend=backend)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError(f"{what}: answer is not JSON", backend=backend) from None


_CAUSES = (
    (re.compile(r"name or service not known|nodename nor servname|name resolution|no address associated"
                r"|getaddrinfo|name does not resolve|\[Errno -[235]\]", re.I), "name not resolved"),
    (re.compile(r"connection refused|errno 111|\[Errno 61\]|actively refused", re.I), "connection refused"),
    (re.compile(r"ssl|tls|certificate|handshake", re.I), "TLS"),
    (re.compile(r"network is unreachable|no route to host", re.I), "network unreachable"),
)


def unreachable_cause(exc: httpx.TransportError) -> str:
    """The reason a connection failed, in the words a user knows."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text, seen = "", exc  # the OS error is often only in the chained cause
    chain: Optional[BaseException] = exc
    while chain is not None and len(text) < 2000:
        text += f" {type(chain).__name__}: {chain}"
        chain = chain.__cause__ or chain.__context__
        if chain is seen:
            break
    for pattern, cause in _CAUSES:
        if pattern.search(text):
            return cause
    if isinstance(exc, httpx.ProxyError):
        return "the proxy refused the connection"
    return "connection failed" if isinstance(exc, httpx.ConnectError) else "connection lost"


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
    try:
        return parse_app(config, info)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:  # a config of unexpected shape
        raise ProtocolError(f"the app's /config could not be read ({type(exc).__name__})", backend=backend) from None


def parse_app(config: dict[str, Any], info: dict[str, Any]) -> AppInfo:
    components = {c.get("id"): c for c in config.get("components", []) if isinstance(c, dict)}
    named_info = _dict(info.get("named_endpoints"))
    unnamed_info = _dict(info.get("unnamed_endpoints"))
    mode = str(config.get("mode") or "blocks")
    endpoints = []
    for index, dep in enumerate(config["dependencies"]):
        if not isinstance(dep, dict):
            continue
        api_name = dep.get("api_name")
        fn_index = dep.get("id", index)
        if not isinstance(fn_index, int):
            continue
        name = "/" + str(api_name).lstrip("/") if isinstance(api_name, str) and api_name else ""
        described = named_info.get(name) if name else unnamed_info.get(str(fn_index))
        input_ids = [i for i in dep.get("inputs") or [] if isinstance(i, (int, str))]
        output_ids = [i for i in dep.get("outputs") or [] if isinstance(i, (int, str))]
        documented = _dict(described).get("parameters")
        params = _parameters(input_ids, components, documented if isinstance(documented, list) else [])
        targets = dep.get("targets") or []
        first = targets[0] if targets else None
        trigger = first[0] if isinstance(first, (list, tuple)) and first else None
        endpoint = Endpoint(
            name, int(fn_index), trigger if isinstance(trigger, int) else None, params, dep.get("queue") is not False,
            outputs=[_kind(components.get(i)) for i in output_ids], triggers=_triggers(dep),
            input_ids=tuple(input_ids), output_ids=tuple(output_ids))
        endpoint.hidden = hidden_reason(dep, endpoint, mode, [_kind(components.get(i)) for i in input_ids])
        endpoints.append(endpoint)
    return AppInfo(str(config.get("version") or "0"), str(config.get("api_prefix") or "").rstrip("/"),
                   config.get("protocol"), endpoints, mode)


PRIVATE = "private (api_name=False)"
UNDOCUMENTED = "not in the API docs"
_LAMBDA = re.compile(r"^/lambda(_\d+)?$")
_HOUSEKEEPING = re.compile(r"^/(flag|clear|reset|load_example|js_fn|unnamed)(_\d+)?$")
_TEXT = frozenset({"textbox", "textarea", "multimodaltextbox"})


def hidden_reason(dep: dict[str, Any], endpoint: Endpoint, mode: str, input_kinds: list[str]) -> str:
    """Why a client should not call this event ("" when it may): Gradio's own visibility flags, then
    the events apps get without asking (gr.Examples, Flag, clear buttons, lambdas, load handlers)."""
    if dep.get("backend_fn") is False:
        return "JS-only"
    if "dataset" in input_kinds or "dataset" in endpoint.outputs:
        return "gr.Examples"
    if dep.get("api_visibility") == "private" or dep.get("api_name") is False:
        return PRIVATE
    if dep.get("api_visibility") == "undocumented" or dep.get("show_api") is False:
        return UNDOCUMENTED
    if _LAMBDA.match(endpoint.api_name):
        return "lambda helper"
    if _HOUSEKEEPING.match(endpoint.api_name):
        return "housekeeping (flag/clear/examples)"
    if not endpoint.api_name and mode in ("interface", "tabbed_interface"):
        return UNDOCUMENTED  # Gradio 3's Interface publishes only its named function
    if endpoint.triggers and set(endpoint.triggers) <= {"load"} and not (_TEXT & set(input_kinds)):
        return "load handler"
    return ""


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _triggers(dep: dict[str, Any]) -> list[str]:
    found = []
    for target in dep.get("targets") or []:
        if isinstance(target, (list, tuple)) and len(target) > 1:
            found.append(str(target[1]))
        elif isinstance(dep.get("trigger"), str):  # Gradio 3: ids in targets, one "trigger" for all
            found.append(dep["trigger"])
    if not found and isinstance(dep.get("trigger"), str):
        found.append(dep["trigger"])  # 3.x load events have no targets
    return found


def _kind(component: Optional[dict[str, Any]]) -> str:
    return str((component or {}).get("type") or "").lower()


def _parameters(input_ids: list, components: dict, described: list) -> list[Parameter]:
    documented = iter(described)
    result = []
    for position, component_id in enumerate(input_ids):
        component = components.get(component_id) or {}
        kind = _kind(component)
        props = component.get("props") if isinstance(component.get("props"), dict) else {}
        in_api = not (component.get("skip_api") or kind == "state")
        doc = _dict(next(documented, {})) if in_api else {}
        label = str(doc.get("label") or props.get("label") or "")
        name = doc.get("parameter_name") or _name_from_label(label) or f"arg{position}"
        if _PLACEHOLDER_LABEL.match(label):
            label = ""  # /info's stand-in for a component without a label says nothing to a user
        if "parameter_has_default" in doc:
            has_default = bool(doc["parameter_has_default"])
            default = doc.get("parameter_default")
        else:
            has_default = "value" in props or not in_api
            default = props.get("value")
        result.append(Parameter(
            name=str(name), label=label, component=str(doc.get("component") or kind), default=default,
            has_default=has_default, choices=_choices(props.get("choices")), minimum=_number(props.get("minimum")),
            maximum=_number(props.get("maximum")), step=_number(props.get("step")), in_api=in_api, kind=kind,
            choice_labels=_choice_labels(props.get("choices")), multiselect=props.get("multiselect") is True,
        ))
    return result


_PLACEHOLDER_LABEL = re.compile(r"^parameter_\d+$")


def _choices(raw: Any) -> Optional[list[Any]]:
    if not isinstance(raw, list):
        return None
    # 4.x+ lists [label, value] pairs; 3.x lists the values.
    return [c[1] if isinstance(c, (list, tuple)) and len(c) == 2 else c for c in raw]


def _choice_labels(raw: Any) -> Optional[list[str]]:
    if not isinstance(raw, list):
        return None
    return [str(c[0]) if isinstance(c, (list, tuple)) and len(c) == 2 else str(c) for c in raw]


def _number(value: Any) -> Optional[float]:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _name_from_label(label: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", label).strip("_").lower()
