"""Choosing the endpoint that draws: by configuration when it names one, else by signature.

The signature rule: among the callable events (see `discovery.hidden_reason`), a text-to-image
endpoint takes a text input that can carry the prompt and returns an image or a gallery. When
several qualify, the one with fewer inputs the client cannot fill, then fewer image inputs (it is
not an img2img or edit function), then a name that says it generates, then the first registered,
wins. The same function registered twice (same inputs, same outputs) counts once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ...errors import ConfigurationError
from .discovery import UNDOCUMENTED, AppInfo, Endpoint, Parameter
from .neutral import NO_VALUE, neutral_value
from .upload import first_reference_input

IMAGE_OUTPUTS = frozenset({"image", "gallery", "imageslider", "annotatedimage"})
TEXT_INPUTS = frozenset({"textbox", "textarea"})
MEDIA_INPUTS = frozenset({"image", "imageeditor", "sketchpad", "paint", "file", "files", "uploadbutton", "video",
                          "audio", "model3d", "gallery", "imageslider", "annotatedimage", "webcam"})
_GENERATES = re.compile(r"generat|infer|^/run|predict|txt2img|text2img|t2i|text_to_image|draw|create|^/gen", re.I)
_OTHER_JOB = re.compile(r"img2img|i2i|edit|upscal|inpaint|outpaint|variation|enhanc|caption|describ|interrogat"
                        r"|refin|restor|remov|segment|depth|translat", re.I)
# Endpoints that take a picture and draw from it (image-to-image, edits), and those that take a picture
# for another job (masks, upscaling, captions): the second kind never gets a reference.
_FROM_PICTURE = re.compile(r"img2img|i2i|image2image|image_to_image|img_to_img|edit|variation|remix|restyle|"
                           r"transform|styli[sz]e|kontext|reference|redux|ip_?adapter|改图|图生图", re.I)
_NOT_FROM_PICTURE = re.compile(r"upscal|caption|describ|interrogat|segment|depth|remov|restor|enhanc|translat|"
                               r"mask|inpaint|outpaint|detect|classif|background", re.I)
NEGATIVE = re.compile(r"negative|\bneg\b|neg_prompt|负面|反向|负向|排除|不想要|avoid|unwanted", re.I)
_PROMPTISH = re.compile(r"prompt|提示|描述|文本|输入|text|caption|query|describ|instruction|idea|what to draw|画", re.I)
_NOT_PROMPT = re.compile(r"seed|种子|style|风格|lora|model|模型|size|尺寸|url|token|key|path|steps", re.I)


@dataclass
class Choice:
    endpoint: Endpoint
    reason: str
    warnings: list[str] = field(default_factory=list)
    duplicates: int = 0  # further registrations of the same function


def choose_endpoint(app: AppInfo, *, api_name: str = "", fn_index: int = -1, preset_api_name: str = "",
                    backend: str = "") -> Choice:
    """The endpoint to call, and why. ConfigurationError when there is none."""
    if fn_index >= 0:
        endpoint = app.by_fn_index(fn_index)
        if endpoint is None:
            raise ConfigurationError(f"the app has no fn_index {fn_index}; {_listing(app)}", backend=backend)
        return Choice(endpoint, f"fn_index {fn_index} is set in the config")
    wanted = api_name or preset_api_name
    if wanted:
        endpoint = app.find(wanted)
        source = "api_name is set in the config" if api_name else "the built-in preset names it"
        if endpoint is not None:
            return Choice(endpoint, f"{endpoint.api_name}: {source}")
        only = _single_interface_function(app)
        if only is not None:
            warning = (f"the app has no endpoint /{wanted.lstrip('/')}; using its only Interface function "
                       f"{only.label} (Gradio renames it across versions)")
            return Choice(only, warning, [warning])
        raise ConfigurationError(f"the app has no endpoint /{wanted.lstrip('/')}; {_listing(app)}", backend=backend)
    return by_signature(app, backend)


def by_signature(app: AppInfo, backend: str = "") -> Choice:
    candidates = [e for e in app.callable() if draws(e)]
    fallback = ""
    if not candidates:
        # An app that hides its only drawing function from the API docs can still be called by fn_index.
        candidates = [e for e in app.endpoints if e.hidden == UNDOCUMENTED and draws(e)]
        if candidates:
            fallback = "; no documented endpoint draws, so this undocumented one is used"
    unique: list[Endpoint] = []
    duplicates = 0
    for endpoint in candidates:
        if any(_same_function(endpoint, seen) for seen in unique):
            duplicates += 1
            continue
        unique.append(endpoint)
    if not unique:
        raise ConfigurationError(
            "no callable endpoint takes text and returns an image; " + _listing(app), backend=backend)
    ranked = sorted(unique, key=_rank)
    best = ranked[0]
    blocked = unfillable(best)
    if blocked:
        names = ", ".join(f"{p.name} ({p.component or p.kind})" for p in blocked)
        raise ConfigurationError(f"endpoint {best.label} needs inputs that cannot be filled automatically: {names}",
                                 backend=backend)
    prompt = prompt_parameter(best)
    what = f"takes text ({_shown(prompt)}) and returns "
    what += "a gallery" if "gallery" in best.outputs else "an image"
    if len(unique) == 1:
        reason = f"{best.label}: the only callable endpoint that {what}"
    else:
        others = ", ".join(e.label for e in ranked[1:4]) + (", …" if len(ranked) > 4 else "")
        reason = f"{best.label}: {what}; ranked above {others} ({_why_first(best, ranked[1])})"
    if duplicates:
        reason += f"; {duplicates} duplicate registration(s) of the same function counted once"
    reason += fallback
    return Choice(best, reason, [reason] if fallback else [], duplicates=duplicates)


def _shown(parameter: Optional[Parameter]) -> str:
    if parameter is None:
        return "?"
    if parameter.label:
        return parameter.label
    # Gradio 3 names an unlabelled box after its component id ("parameter_46"): that says nothing.
    return "an unlabelled text box" if re.match(r"^parameter_\d+$", parameter.name) else parameter.name


def draws(endpoint: Endpoint) -> bool:
    """Takes a text input that can carry the prompt and returns an image or a gallery."""
    return prompt_parameter(endpoint) is not None and bool(IMAGE_OUTPUTS & set(endpoint.outputs))


def prompt_parameter(endpoint: Endpoint) -> Optional[Parameter]:
    """The text input that gets the prompt: one labelled like a prompt, else the first plain text input."""
    texts = [p for p in endpoint.parameters if p.in_api and p.kind in TEXT_INPUTS and not is_negative(p)]
    for parameter in texts:
        if _PROMPTISH.search(_words(parameter)) and not _other_text(parameter):
            return parameter
    plain = [p for p in texts if not _other_text(p)]
    # A chat-style box (text plus attachments) carries the prompt only where no plain text box does.
    multimodal = [p for p in endpoint.parameters if p.in_api and p.kind == "multimodaltextbox"]
    return (plain or texts or multimodal or [None])[0]


def _other_text(parameter: Parameter) -> bool:
    """A short label that names something else (seed, style, model, size, key…); a long label such as
    "Describe what you want the model to draw" is a prompt whatever words it uses."""
    return len(parameter.label) <= 24 and bool(_NOT_PROMPT.search(_words(parameter)))


def is_negative(parameter: Parameter) -> bool:
    return bool(NEGATIVE.search(_words(parameter)))


def unfillable(endpoint: Endpoint) -> list[Parameter]:
    return [p for p in endpoint.parameters
            if p.in_api and not p.has_default and neutral_value(p) is NO_VALUE]


def _words(parameter: Parameter) -> str:
    return f"{parameter.name} {parameter.label}"


def _media_inputs(endpoint: Endpoint) -> int:
    return sum(1 for p in endpoint.parameters if p.in_api and p.kind in MEDIA_INPUTS)


def _name_score(endpoint: Endpoint) -> int:
    name = endpoint.api_name
    if _OTHER_JOB.search(name):
        return 2
    return 0 if _GENERATES.search(name) else 1


def _rank(endpoint: Endpoint) -> tuple:
    prompt = prompt_parameter(endpoint)
    labelled = 0 if prompt is not None and _PROMPTISH.search(_words(prompt)) else 1
    triggered = 0 if set(endpoint.triggers) & {"click", "submit", "then", "success"} or not endpoint.triggers else 1
    return (len(unfillable(endpoint)), _media_inputs(endpoint), _name_score(endpoint), labelled, triggered,
            endpoint.fn_index)


def _why_first(best: Endpoint, runner_up: Endpoint) -> str:
    labels = ["fewer inputs it cannot fill", "fewer image inputs", "its name says it generates",
              "its text input is labelled as a prompt", "a button or submit triggers it", "registered first"]
    for label, mine, theirs in zip(labels, _rank(best), _rank(runner_up)):
        if mine != theirs:
            return label
    return labels[-1]


def _same_function(a: Endpoint, b: Endpoint) -> bool:
    return a.input_ids == b.input_ids and a.output_ids == b.output_ids


def _single_interface_function(app: AppInfo) -> Optional[Endpoint]:
    if app.mode not in ("interface", "tabbed_interface"):
        return None
    functions = [e for e in app.callable() if e.api_name]
    return functions[0] if len(functions) == 1 else None


def _listing(app: AppInfo) -> str:
    callable_ = app.callable()
    names = ", ".join(e.label for e in callable_) or "none"
    hidden = len(app.endpoints) - len(callable_)
    return f"its callable endpoints are: {names}" + (f" ({hidden} hidden events not counted)" if hidden else "")


def reference_endpoint(app: AppInfo, chosen: Endpoint) -> Optional[Endpoint]:
    """The endpoint that draws from a reference image when the chosen one has no image input: a
    callable endpoint that takes a prompt and a picture and returns an image, named like an
    image-to-image or edit function first; never a mask, upscaling or captioning function."""
    candidates = [e for e in app.callable() if e is not chosen and draws(e) and not unfillable(e)
                  and first_reference_input(e) is not None and not _NOT_FROM_PICTURE.search(e.api_name)]
    if not candidates:
        return None

    def rank(endpoint: Endpoint) -> tuple:
        return (0 if _FROM_PICTURE.search(endpoint.api_name) else 1, _media_inputs(endpoint), endpoint.fn_index)

    return min(candidates, key=rank)
