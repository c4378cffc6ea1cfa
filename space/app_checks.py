"""Checking one request's inputs, and admitting it to the generator (a bounded wait, never an
unbounded one). The errors here carry the exact text the app shows (through gr.Error).

No torch, diffusers or gradio here: this module is imported by the tests in any Python.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
from dataclasses import dataclass
from typing import Any, Iterator

from app_settings import MAX_COUNT, MAX_PROMPT_CHARS, MIN_SIDE, Family

MAX_SEED = 2**32 - 1


class UserFacingError(Exception):
    """An error whose message is shown to the caller as it is."""


class InputError(UserFacingError):
    pass


class BusyError(UserFacingError):
    def __init__(self) -> None:
        # "queue is full" is the phrase clients (LLM2Pic among them) read as "busy, try later".
        super().__init__("服务繁忙，请稍后再试 / Busy: the queue is full, try again in a minute.")


class NsfwError(UserFacingError):
    def __init__(self) -> None:
        super().__init__("NSFW content detected: the safety checker blocked the image. "
                         "/ 检测到不适宜内容，换个描述试试。")


class EngineError(UserFacingError):
    """The engine failed in a way worth telling the caller (Inference API loading, quota, token)."""


@dataclass(frozen=True)
class Job:
    prompt: str
    negative_prompt: str
    guidance_scale: float
    num_inference_steps: int
    width: int
    height: int
    seed: int
    count: int


def check_job(family: Family, prompt: Any, negative_prompt: Any, guidance_scale: Any, num_inference_steps: Any,
              width: Any, height: Any, seed: Any, num_outputs: Any) -> Job:
    """The job for these raw inputs (as an API caller may send them), or InputError naming the input."""
    text = _text(prompt, "prompt")
    if not text:
        raise InputError("请输入提示词 / The prompt is empty.")
    negative = _text(negative_prompt, "negative_prompt")
    guidance = _number(guidance_scale, "guidance_scale", family.guidance)
    if not 0 <= guidance <= family.max_guidance:
        raise InputError(f"guidance_scale must be from 0 to {family.max_guidance:g}, got {guidance:g}.")
    steps = round(_number(num_inference_steps, "num_inference_steps", family.steps))
    if not 1 <= steps <= family.max_steps:
        raise InputError(f"num_inference_steps must be from 1 to {family.max_steps}, got {steps}.")
    fitted_width = _side(width, "width", family)
    fitted_height = _side(height, "height", family)
    if fitted_width * fitted_height > family.max_pixels:
        side = math.isqrt(family.max_pixels) // family.multiple * family.multiple
        raise InputError(f"width × height = {fitted_width}×{fitted_height} is more than this model's budget of "
                         f"{family.max_pixels} pixels (for example {side}×{side}).")
    return Job(text, negative, guidance, steps, fitted_width, fitted_height, _seed(seed), _count(num_outputs))


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{name} must be text.")
    value = value.strip()
    if len(value) > MAX_PROMPT_CHARS:
        raise InputError(f"{name} is too long: {len(value)} characters, at most {MAX_PROMPT_CHARS}.")
    return value


def _number(value: Any, name: str, default: float) -> float:
    if value is None or value == "":
        return float(default)
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {str(value)[:40]!r}.") from None
    if not math.isfinite(number):
        raise InputError(f"{name} must be a finite number.")
    return number


def _side(value: Any, name: str, family: Family) -> int:
    """A width or height: within 64..max_side, then snapped to the family's multiple."""
    number = _number(value, name, family.default_size)
    if not MIN_SIDE <= number <= family.max_side:
        raise InputError(f"{name} must be from {MIN_SIDE} to {family.max_side} px for this model, got {number:g}.")
    snapped = math.floor(number / family.multiple + 0.5) * family.multiple  # half up, not to even
    return max(MIN_SIDE, min(snapped, family.max_side // family.multiple * family.multiple))


def _seed(value: Any) -> int:
    number = _number(value, "seed", -1)
    if number < 0:
        return random.randrange(MAX_SEED + 1)
    if number > MAX_SEED or not number.is_integer():
        raise InputError(f"seed must be -1 (random) or a whole number from 0 to {MAX_SEED}.")
    return int(number)


def _count(value: Any) -> int:
    return max(1, min(MAX_COUNT, round(_number(value, "num_outputs", 1))))


class Admission:
    """At most `concurrency` jobs run and at most `max_waiting` wait; one more gets BusyError at once.

    Gradio's own queue bounds the jobs that come through it; this bound also covers the direct
    POST routes, which skip that queue."""

    def __init__(self, concurrency: int, max_waiting: int) -> None:
        self._running = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._inside = 0
        self._limit = concurrency + max_waiting

    @contextlib.contextmanager
    def enter(self) -> Iterator[None]:
        with self._lock:
            if self._inside >= self._limit:
                raise BusyError()
            self._inside += 1
        try:
            with self._running:
                yield
        finally:
            with self._lock:
                self._inside -= 1
