"""What `doctor` prints for a Gradio app: the callable endpoints (hidden events in one line), the one
chosen and why, the exact payload for a sample prompt at 16:9, and a `[[backends]]` block to paste."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Optional

from .choose import Choice
from .discovery import AppInfo, Endpoint

SAMPLE_PROMPT = "a red fox in the snow"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def describe_app(app: AppInfo, choice: Optional[Choice]) -> list[str]:
    lines = [f"gradio {app.version}, api prefix {app.api_prefix or '(none)'}, "
             f"protocol {app.protocol or 'ws (Gradio 3: /run only)'}"]
    chosen = choice.endpoint if choice else None
    shown: list[Endpoint] = []
    for endpoint in app.callable():
        twin = next((e for e in shown if e.input_ids == endpoint.input_ids and e.output_ids == endpoint.output_ids), None)
        if twin is not None:
            lines.append(f"endpoint {endpoint.api_name or '(unnamed)'} fn_index={endpoint.fn_index}: "
                         f"the same function as {twin.label} (counted once)")
            continue
        shown.append(endpoint)
        mark = "  <- chosen" if endpoint is chosen else ""
        outputs = ", ".join(endpoint.outputs) or "nothing"
        lines.append(f"endpoint {endpoint.api_name or '(unnamed)'} fn_index={endpoint.fn_index} "
                     f"-> {outputs}{mark}")
        lines.extend(f"    {p.describe()}" for p in endpoint.parameters if p.in_api)
    hidden = Counter(e.hidden for e in app.endpoints if e.hidden)
    if hidden:
        parts = ", ".join(f"{count} {reason}" for reason, count in sorted(hidden.items()))
        lines.append(f"hidden events, not called: {sum(hidden.values())} ({parts})")
    if choice is not None:
        lines.append(f"chosen: {choice.reason}")
    return lines


def describe_payload(app: AppInfo, endpoint: Endpoint, data: list[Any], transport: str) -> list[str]:
    body = json.dumps(data, ensure_ascii=False)
    prefix = app.api_prefix
    if transport == "run" or not transport:
        path = f"{prefix}/run/{endpoint.api_name.lstrip('/')}" if endpoint.api_name else f"{prefix}/run/predict"
        extra = "" if endpoint.api_name else f', "fn_index": {endpoint.fn_index}'
    elif transport == "call":
        path, extra = f"{prefix}/call/{endpoint.api_name.lstrip('/')}", ""
    else:
        path, extra = f"{prefix}/queue/join", f', "fn_index": {endpoint.fn_index}'
    return [f"payload for {SAMPLE_PROMPT!r} at 16:9: POST {path} {{\"data\": {body}{extra}}}"]


def backends_block(name: str, space: str, base_url: str, endpoint: Endpoint, inputs: dict[str, Any],
                   by_fn_index: bool) -> list[str]:
    """A ready-to-paste config block that means what this run did."""
    lines = ["[[backends]]", 'type = "gradio"', f"name = {_toml(name)}"]
    lines.append(f"space = {_toml(space)}" if space else f"base_url = {_toml(base_url)}")
    if by_fn_index or not endpoint.api_name:
        lines.append(f"fn_index = {endpoint.fn_index}")
    else:
        lines.append(f"api_name = {_toml(endpoint.api_name)}")
    pairs = [f"{_key(k)} = {_toml(v)}" for k, v in inputs.items() if _toml(v) is not None]
    lines.append("inputs = { " + ", ".join(pairs) + " }" if pairs else "inputs = {}")
    return lines


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        items = [_toml(v) for v in value]
        return None if any(i is None for i in items) else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    return None


def describe_references(reference: Optional[tuple[Endpoint, dict[str, Any], Any]], chosen: Endpoint) -> str:
    """One line: where reference images (image-to-image, edits) go, or that this app takes none."""
    if reference is None:
        return "reference images: not taken (no callable endpoint with an image input draws); " \
               "jobs with a reference skip this backend"
    endpoint, _inputs, parameter = reference
    where = "the chosen endpoint" if endpoint is chosen else f"endpoint {endpoint.label}"
    return f"reference images: uploaded into {parameter.name} ({parameter.kind or parameter.component}) of {where}"
