"""The one drawing job every front end runs: prompt → request → fallback chain → fit for chat, under
ONE deadline (`[chain] deadline`, counted from the job's start, the prompt LLM included).

MaiBot, NoneBot2 and AstrBot reach it through the job board (`jobs.py`); the CLI calls `run_job`
itself. Sending the result is the caller's business.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional, TypeVar, Union

from ..backends.base import GeneratedImage, GenerationRequest, ProgressCallback, no_progress
from ..config.model import Config
from ..errors import BackendError, DeadlineReached
from ..imaging.prepare import PreparedImage, prepare_for_chat
from ..imaging.workers import ImageWorkers
from ..prompt.engine import make_image_prompt
from ..prompt.options import options_from_config
from ..prompt.selfie import read_reference_image
from ..prompt.types import ChatLLM, ImagePrompt, PromptInput
from .engine import Engine
from .references import safe_references

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Drawn:
    """What one job produced: the prompt it drew, the backend's image and the image fit for chat."""

    image_prompt: ImagePrompt
    image: GeneratedImage
    prepared: PreparedImage
    # The further images of a request for several (GenerationRequest.count), each fit the same way.
    more: tuple[PreparedImage, ...] = ()
    count: int = 1  # the images the chain was asked for (fewer may have come: 1 + len(more))


class Deadline:
    """The job's one deadline: every step gets what is left of it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.at = clock() + seconds

    def remaining(self) -> float:
        return self.at - self._clock()

    async def bound(self, step: Awaitable[T], what: str) -> T:
        """`step` within what is left, or DeadlineReached (the chat hears the deadline sentence)."""
        try:
            return await asyncio.wait_for(step, max(0.0, self.remaining()))
        except asyncio.TimeoutError:
            raise DeadlineReached(f"the job's deadline passed while {what}") from None


async def run_job(job: PromptInput, engine: Engine, workers: ImageWorkers, *, llm: Optional[ChatLLM],
                  reuse: Optional[ImagePrompt] = None, seed: Optional[int] = None, count: Optional[int] = None,
                  progress: ProgressCallback = no_progress, clock: Callable[[], float] = time.monotonic,
                  allow: Optional[Callable[[int], int]] = None) -> Drawn:
    """Draw one job: its references made safe, its prompt (`reuse`d, or written by `llm`, or the
    request text when None), the chain, and the image(s) fit for chat.

    How many images: `count` when given, else the prompt's (the job's flag or words, else the LLM's
    reading), capped by `[generation] max_images`, then by `allow` (the job board's quota ticket:
    it returns how many may be drawn). Raises BackendError (PromptRefused, DeadlineReached,
    ReferenceImageError …)."""
    deadline = Deadline(engine.config.chain.deadline, clock)
    references = await deadline.bound(safe_references(job.references, workers), "reading the reference images")
    image_prompt = reuse or await deadline.bound(make_prompt(job, engine.config, engine.prompt_languages, llm),
                                                 "writing the prompt")
    wanted = max(1, min(count if count is not None else image_prompt.count, engine.config.generation.max_images))
    if allow is not None:
        wanted = max(1, min(wanted, allow(wanted)))
    return await draw(image_prompt, engine, workers, seed=seed, count=wanted, progress=progress, deadline=deadline,
                      references=references)


async def make_prompt(job: PromptInput, config: Config, languages: frozenset[str],
                      llm: Optional[ChatLLM]) -> ImagePrompt:
    return await make_image_prompt(job, options_from_config(config, languages), llm, logger=log)


async def request_for(config: Config, image_prompt: ImagePrompt, seed: Optional[int] = None,
                      count: int = 1, references: tuple[bytes, ...] = ()) -> GenerationRequest:
    """The backend request for a prompt: size and seed from the config unless given; the chat's
    reference images (already made safe), else the selfie's configured reference image."""
    generation = config.generation
    if seed is None and generation.seed >= 0:
        seed = generation.seed
    if references:
        return request_from(image_prompt, width=generation.width or None, height=generation.height or None,
                            seed=seed, count=count, reference_images=references)
    if image_prompt.reference_image:
        try:
            references = (await read_reference_image(image_prompt.reference_image),)
        except (OSError, ValueError) as exc:
            log.warning("selfie reference image not used: %s", exc)
    request = request_from(image_prompt, width=generation.width or None, height=generation.height or None,
                           seed=seed, count=count, reference_images=references)
    # The selfie reference only keeps the look consistent: a backend without image input draws from text.
    return dataclasses.replace(request, references_required=False) if references else request


def request_from(image_prompt: ImagePrompt, *, seed: Optional[int] = None, width: Optional[int] = None,
                 height: Optional[int] = None, count: int = 1, reference_images: tuple[bytes, ...] = ()
                 ) -> GenerationRequest:
    """The backend request for a prompt as it stands (the caller loads the reference image bytes).
    A size the request's words gave beats `width`/`height` (the config's); a style preset's backend and
    inputs ride along."""
    if image_prompt.width and image_prompt.height:
        width, height = image_prompt.width, image_prompt.height
    return GenerationRequest(prompt=image_prompt.prompt, negative_prompt=image_prompt.negative_prompt,
                             aspect=image_prompt.aspect, width=width, height=height, seed=seed, count=count,
                             reference_images=tuple(reference_images), prefer_backend=image_prompt.backend,
                             inputs=dict(image_prompt.inputs))


async def draw(image_prompt: ImagePrompt, engine: Engine, workers: ImageWorkers, *,
               seed: Optional[int] = None, deadline: Union[Deadline, float, None] = None,
               progress: ProgressCallback = no_progress, count: int = 1, references: tuple[bytes, ...] = ()) -> Drawn:
    """Draw a prompt with the engine's chain and fit its image(s) for chat, within `deadline` (the
    job's, or seconds from now; the config's when None). `references`: safe bytes (see
    references.safe_references). Raises BackendError."""
    config = engine.config
    if not isinstance(deadline, Deadline):
        deadline = Deadline(config.chain.deadline if deadline is None else deadline)
    request = await deadline.bound(request_for(config, image_prompt, seed, count, references),
                                   "reading the reference image")
    images = await engine.chain.generate(request, progress, deadline=deadline.remaining())
    return await deadline.bound(_fit(image_prompt, images, request.count, config, workers), "fitting the image")


async def _fit(image_prompt: ImagePrompt, images: list[GeneratedImage], count: int, config: Config,
               workers: ImageWorkers) -> Drawn:
    # Each image is fit on its own: one the imaging step refuses (corrupt, a bomb) is dropped and
    # logged, so a bad second image never costs the job the good ones (which may have been paid for).
    ready: list[tuple[GeneratedImage, PreparedImage]] = []
    first_error: Optional[BackendError] = None
    for image in images[:max(1, count)]:
        try:
            ready.append((image, await prepare_for_chat(image.data, config.output, workers=workers,
                                                         backend=image.backend)))
        except BackendError as exc:
            log.warning("an image from %s was dropped: %s", image.backend, exc)
            first_error = first_error or exc
    if not ready:
        assert first_error is not None
        raise first_error
    (image, prepared), *more = ready
    return Drawn(image_prompt, image, prepared, tuple(extra for _, extra in more), max(1, count))
