"""What each OpenAI-compatible model family accepts: sizes, formats, n. Pure functions, no I/O.

Families (backends.md §3.1, §3.4): GPT image models always answer b64_json and take
output_format; dall-e-2/3 take response_format (dall-e-3 only n=1); xAI ignores size and takes
aspect_ratio on the grok-imagine models; anything else gets a WxH size and response_format.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from ..aspects import nearest, nearest_named
from .base import GenerationRequest

GPT_IMAGE_SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
DALLE3_SIZES = ((1024, 1024), (1792, 1024), (1024, 1792))
DALLE2_SIZES = ((1024, 1024),)
XAI_ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "2:1", "1:2")


def model_family(model: str, base_url: str = "", configured: str = "auto") -> str:
    """gpt-image | gpt-image-2 | dall-e-2 | dall-e-3 | xai | other."""
    if configured != "auto":
        return configured
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith("gpt-image-2"):
        return "gpt-image-2"
    if name.startswith(("gpt-image", "chatgpt-image")):
        return "gpt-image"
    if name.startswith("dall-e-3"):
        return "dall-e-3"
    if name.startswith("dall-e-2") or name == "dall-e":
        return "dall-e-2"
    if name.startswith(("grok-", "aurora")) or "api.x.ai" in base_url.lower():
        return "xai"
    return "other"


def _closest(ratio: float, choices: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    return nearest(ratio, choices, lambda size: size[0] / size[1])


def size_for(family: str, request: GenerationRequest) -> Optional[str]:
    """The `size` field, or None when the family does not take one."""
    ratio = request.aspect_ratio()
    if family == "gpt-image":
        width, height = _closest(ratio, GPT_IMAGE_SIZES)
    elif family == "dall-e-3":
        width, height = _closest(ratio, DALLE3_SIZES)
    elif family == "dall-e-2":
        width, height = DALLE2_SIZES[0]
    elif family == "gpt-image-2":
        # Arbitrary WxH: multiples of 16, aspect between 1:3 and 3:1, at most 3840x2160.
        clamped = min(3.0, max(1 / 3, ratio))
        if request.width and request.height and clamped == ratio:
            width, height = request.width, request.height
        else:
            width = math.sqrt(1024 * 1024 * clamped)
            height = width / clamped
        scale = min(1.0, 3840 / max(width, height), 2160 / min(width, height))
        width, height = (max(16, int(round(v * scale / 16)) * 16) for v in (width, height))
    elif family == "xai":
        return None
    else:
        width, height = request.size(multiple=64)
    return f"{width}x{height}"


def xai_aspect(request: GenerationRequest) -> str:
    return nearest_named(request.aspect_ratio(), XAI_ASPECTS)


def images_body(
    *,
    family: str,
    model: str,
    request: GenerationRequest,
    n: int,
    size: str = "auto",
    quality: str = "",
    response_format: str = "auto",
    output_format: str = "png",
    extra: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """The fields of /images/generations (and, as form fields, /images/edits)."""
    body: dict[str, Any] = {"model": model, "prompt": request.prompt, "n": n}
    chosen_size = size_for(family, request) if size == "auto" else size
    if chosen_size and family != "xai":
        body["size"] = chosen_size
    if family == "xai" and model.lower().startswith("grok-imagine"):
        body["aspect_ratio"] = xai_aspect(request)
    if quality and family != "xai":
        body["quality"] = quality
    if family.startswith("gpt-image"):
        if output_format:
            body["output_format"] = output_format
    elif response_format != "none":
        body["response_format"] = "b64_json" if response_format == "auto" else response_format
    body.update(extra or {})
    return body


def max_n(family: str) -> int:
    return 1 if family == "dall-e-3" else 10
