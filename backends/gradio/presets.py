"""Built-in knowledge of popular Spaces: which endpoint to call and which inputs to send.

Everything else about them (parameter order, defaults, dropdown choices) is read from the live app,
so a Space that changes its signature is detected instead of being sent garbage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .discovery import AppInfo


@dataclass(frozen=True)
class Preset:
    name: str
    space: str
    api_name: str
    inputs: dict[str, Any]
    prompt_languages: frozenset[str] = frozenset({"en"})
    # For apps anyone can host (no fixed Space): the endpoint's parameter names, in order, that
    # identify the app wherever it runs.
    signature: tuple[str, ...] = ()


PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            name="z-image-turbo",
            space="Tongyi-MAI/Z-Image-Turbo",
            api_name="/generate",
            # The app prepends its output to `gallery_images`; the seed is ours so it can be reported.
            inputs={"prompt": "{prompt}", "resolution": "{resolution}", "seed": "{seed}", "random_seed": False},
            prompt_languages=frozenset({"en", "zh"}),
        ),
        Preset(
            name="flux-schnell",
            space="black-forest-labs/FLUX.1-schnell",
            api_name="/infer",
            inputs={"prompt": "{prompt}", "seed": "{seed}", "randomize_seed": False,
                    "width": "{width}", "height": "{height}"},
        ),
        Preset(
            name="llm2pic-space",
            space="",  # the LLM2Pic Space app (space/app.py) runs anywhere: found by its signature
            api_name="/predict",
            inputs={"prompt": "{prompt}", "negative_prompt": "{negative_prompt}", "width": "{width}",
                    "height": "{height}", "seed": "{seed}", "num_outputs": "{count}"},
            signature=("prompt", "negative_prompt", "guidance_scale", "num_inference_steps", "width", "height",
                       "seed", "num_outputs"),
        ),
    )
}


def space_host(space_id: str) -> str:
    """The *.hf.space host of a Space id (owner/name → owner-name.hf.space)."""
    slug = space_id.replace("/", "-").replace("_", "-").replace(".", "-").lower()
    return f"{slug}.hf.space"


def find_preset(choice: str, space: str, host: str) -> Optional[Preset]:
    """The preset named by `choice`, or for "auto" the one whose Space matches; None for "none"."""
    if choice == "none":
        return None
    if choice != "auto":
        if choice not in PRESETS:
            raise ValueError(f"unknown preset {choice!r}; choose auto, none, or one of: {', '.join(PRESETS)}")
        return PRESETS[choice]
    for preset in PRESETS.values():
        if preset.space and (space.lower() == preset.space.lower() or host.lower() == space_host(preset.space)):
            return preset
    return None


def find_preset_by_signature(app: AppInfo) -> Optional[Preset]:
    """For "auto" when no Space matched: the preset whose endpoint the discovered app has, parameter for parameter."""
    for preset in PRESETS.values():
        endpoint = app.find(preset.api_name) if preset.signature else None
        if endpoint and tuple(p.name for p in endpoint.parameters if p.in_api) == preset.signature:
            return preset
    return None
