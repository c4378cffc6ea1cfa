"""Settings of the LLM2Pic Space app, read once at start-up from environment variables, and the
per-model-family defaults and limits the UI shows and the checks enforce.

No torch, diffusers or gradio here: this module is imported by the tests in any Python.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Mapping

DEFAULT_MODEL = "stabilityai/sdxl-turbo"
DEFAULT_INFERENCE_URL = "https://router.huggingface.co/hf-inference"
ENGINES = ("auto", "diffusers", "inference")
DEVICES = ("auto", "cuda", "cpu")
MIN_SIDE = 64
MAX_COUNT = 4
MAX_PROMPT_CHARS = 2000


@dataclass(frozen=True)
class Family:
    """What a model family wants: default steps and guidance, the size multiple, size limits, and
    the GPU seconds one step takes at one megapixel (for the ZeroGPU duration)."""

    name: str
    steps: int
    guidance: float
    multiple: int
    default_size: int
    max_side: int
    max_pixels: int
    seconds_per_step: float
    min_gpu_gib: float  # below this much GPU memory the pipeline is offloaded to the CPU
    max_steps: int = 100
    max_guidance: float = 30.0


MP = 1024 * 1024
# Pixel budgets leave room for LLM2Pic's requests: about 1 MP at any aspect (1368×768 for 16:9).
FAMILIES = {
    family.name: family
    for family in (
        Family("sd15", steps=30, guidance=7.5, multiple=8, default_size=512, max_side=1024,
               max_pixels=MP, seconds_per_step=0.06, min_gpu_gib=6),
        Family("sdxl", steps=30, guidance=6.0, multiple=8, default_size=1024, max_side=2048,
               max_pixels=2 * MP, seconds_per_step=0.12, min_gpu_gib=12),
        Family("sdxl-turbo", steps=2, guidance=0.0, multiple=8, default_size=512, max_side=1536,
               max_pixels=3 * MP // 2, seconds_per_step=0.12, min_gpu_gib=12, max_steps=50),
        Family("sdxl-lightning", steps=4, guidance=0.0, multiple=8, default_size=1024, max_side=2048,
               max_pixels=2 * MP, seconds_per_step=0.12, min_gpu_gib=12, max_steps=50),
        Family("sd3", steps=28, guidance=4.5, multiple=16, default_size=1024, max_side=2048,
               max_pixels=2 * MP, seconds_per_step=0.25, min_gpu_gib=20),
        Family("sd3-turbo", steps=4, guidance=0.0, multiple=16, default_size=1024, max_side=2048,
               max_pixels=2 * MP, seconds_per_step=0.25, min_gpu_gib=20, max_steps=50),
        Family("flux", steps=28, guidance=3.5, multiple=16, default_size=1024, max_side=2048,
               max_pixels=2 * MP, seconds_per_step=0.35, min_gpu_gib=30),
        Family("flux-schnell", steps=4, guidance=0.0, multiple=16, default_size=1024, max_side=2048,
               max_pixels=2 * MP, seconds_per_step=0.35, min_gpu_gib=30, max_steps=50),
    )
}
_FAST_WORDS = ("turbo", "lightning", "hyper", "lcm")


def detect_family(model_id: str, pipeline_class: str = "") -> Family:
    """The family of a model, from its diffusers pipeline class (when loaded) and its name."""
    name = model_id.lower()
    kind = pipeline_class.lower()
    fast = any(word in name for word in _FAST_WORDS)
    if "flux" in kind or "flux" in name:
        return FAMILIES["flux-schnell" if "schnell" in name else "flux"]
    if "stablediffusion3" in kind or "stable-diffusion-3" in name or "sd3" in name:
        return FAMILIES["sd3-turbo" if fast else "sd3"]
    if "xl" in kind or "xl" in name:
        if "turbo" in name:
            return FAMILIES["sdxl-turbo"]
        return FAMILIES["sdxl-lightning" if fast else "sdxl"]
    if "stablediffusion" in kind or "stable-diffusion" in name or "sd-1" in name or "sd15" in name:
        return FAMILIES["sd15"]
    return FAMILIES["sdxl"]


class SettingsError(ValueError):
    """An environment variable holds a value the app cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    model_id: str
    engine: str
    device: str
    family_override: str
    hf_token: str
    inference_url: str
    queue_max_size: int
    concurrency: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        engine = _choice(environ, "ENGINE", ENGINES)
        device = _choice(environ, "DEVICE", DEVICES)
        family = environ.get("MODEL_FAMILY", "").strip().lower()
        if family and family not in FAMILIES:
            raise SettingsError(f"MODEL_FAMILY must be one of {', '.join(FAMILIES)} (or unset), not {family!r}")
        url = environ.get("INFERENCE_API_URL", "").strip() or DEFAULT_INFERENCE_URL
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"INFERENCE_API_URL must be an http(s) URL, not {url!r}")
        return cls(
            model_id=environ.get("MODEL_ID", "").strip() or DEFAULT_MODEL,
            engine=engine,
            device=device,
            family_override=family,
            hf_token=environ.get("HF_TOKEN", "").strip(),
            inference_url=url.rstrip("/"),
            queue_max_size=_integer(environ, "QUEUE_MAX_SIZE", 8, 1, 1000),
            concurrency=_integer(environ, "CONCURRENCY_LIMIT", 1, 1, 64),
        )

    def family(self, pipeline_class: str = "") -> Family:
        if self.family_override:
            return FAMILIES[self.family_override]
        return detect_family(self.model_id, pipeline_class)


def _choice(environ: Mapping[str, str], key: str, allowed: tuple[str, ...]) -> str:
    value = environ.get(key, "").strip().lower() or allowed[0]
    if value not in allowed:
        raise SettingsError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _integer(environ: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = environ.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{key} must be a whole number from {low} to {high}, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{key} must be a whole number from {low} to {high}, not {value}")
    return value


def gpu_seconds(family: Family, steps: int, width: int, height: int, count: int) -> int:
    """The ZeroGPU duration to ask for: the steps of every image at its size, plus decoding and
    start-up, bounded to what ZeroGPU grants one call."""
    megapixels = width * height / MP
    estimate = 8 + count * (2 + steps * family.seconds_per_step * max(megapixels, 0.25))
    return int(min(300, max(15, math.ceil(estimate * 1.5))))
