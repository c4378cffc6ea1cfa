"""The request body for images through /chat/completions (backends.md §3.4). Pure, no I/O.

OpenRouter wants `modalities: ["image", "text"]` and takes `image_config.aspect_ratio`; relays
that answer in markdown ignore both. Reference images go in as `image_url` content parts.
"""

from __future__ import annotations

import base64
from typing import Any

from ..aspects import nearest_named
from .base import GenerationRequest
from ..imaging.formats import sniff_image_mime

CHAT_ASPECTS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")


def closest_aspect(request: GenerationRequest) -> str:
    return nearest_named(request.aspect_ratio(), CHAT_ASPECTS)


def wants_image_config(setting: str, host: str) -> bool:
    if setting == "auto":
        return host == "openrouter.ai" or host.endswith(".openrouter.ai")
    return setting == "on"


def chat_body(config: Any, request: GenerationRequest, host: str) -> dict[str, Any]:
    prompt = request.prompt
    if config.chat_instruction:
        prompt = f"{config.chat_instruction}\n\n{prompt}"
    if request.negative_prompt:
        prompt += f"\n\nAvoid: {request.negative_prompt}"
    content: Any = prompt
    if request.reference_images:
        content = [{"type": "text", "text": prompt}]
        for data in request.reference_images:
            mime = sniff_image_mime(data) or "image/png"
            url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            content.append({"type": "image_url", "image_url": {"url": url}})
    body: dict[str, Any] = {"model": config.model, "messages": [{"role": "user", "content": content}],
                            "stream": False}
    if config.chat_modalities:
        body["modalities"] = list(config.chat_modalities)
    if wants_image_config(config.chat_image_config, host):
        body["image_config"] = {"aspect_ratio": closest_aspect(request)}
    body.update(config.extra_body or {})
    return body
