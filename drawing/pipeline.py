"""One drawing job, front-end neutral: prompt → backends (the fallback chain) → fit for chat.

The MaiBot plugin (through `scheduler.py`) and the CLI both call `draw`; sending the result is
the caller's business. `Engine` is the set of backends built from one config, with their httpx
clients and the chain that keeps their breaker state.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from ..backends.base import Backend, GeneratedImage, GenerationRequest, ProgressCallback, no_progress
from ..errors import BackendError
from ..backends.chain import BackendChain
from ..backends.registry import build_backend, make_client
from ..config.model import Config
from ..imaging.prepare import PreparedImage, prepare_for_chat
from ..imaging.workers import ImageWorkers
from ..prompt.engine import make_image_prompt
from ..prompt.options import options_from_config
from ..prompt.selfie import read_reference_image
from ..prompt.types import ChatLLM, ImagePrompt, PromptInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Drawn:
    """What one job produced: the prompt it drew, the backend's image and the image fit for chat."""

    image_prompt: ImagePrompt
    image: GeneratedImage
    prepared: PreparedImage
    # The further images of a request for several (GenerationRequest.count), each fit the same way.
    more: tuple[PreparedImage, ...] = ()


class Engine:
    """The enabled backends of one config, each with its own client, behind one chain.

    A config change builds a new Engine; the old one is closed once its running jobs are done.
    """

    def __init__(self, config: Config, backend_configs: Optional[Sequence] = None,
                 environ: Mapping[str, str] = os.environ) -> None:
        chosen = list(config.enabled_backends() if backend_configs is None else backend_configs)
        self.config = config
        self._clients = [make_client(c) for c in chosen]
        self.backends: list[Backend] = [build_backend(c, client, environ) for c, client in zip(chosen, self._clients)]
        self.chain = BackendChain(self.backends, config.chain)
        self._active = 0
        self._retired = False

    @property
    def prompt_languages(self) -> frozenset[str]:
        """What every backend in the chain understands, so a prompt fits whichever one draws."""
        if not self.backends:
            return frozenset({"en"})
        return frozenset.intersection(*(frozenset(b.prompt_languages) for b in self.backends))

    def acquire(self) -> "Engine":
        self._active += 1
        return self

    async def release(self) -> None:
        self._active -= 1
        if self._retired and self._active == 0:
            await self._close()

    async def retire(self) -> None:
        """No new jobs will use this engine; close its clients now or after its last job."""
        self._retired = True
        if self._active == 0:
            await self._close()

    async def _close(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()


async def make_prompt(job: PromptInput, config: Config, languages: frozenset[str],
                      llm: Optional[ChatLLM]) -> ImagePrompt:
    return await make_image_prompt(job, options_from_config(config, languages), llm, logger=log)


async def request_for(config: Config, image_prompt: ImagePrompt, seed: Optional[int] = None,
                      count: int = 1) -> GenerationRequest:
    """The backend request for a prompt: size and seed from the config unless given, the selfie reference."""
    generation = config.generation
    if seed is None and generation.seed >= 0:
        seed = generation.seed
    references: tuple[bytes, ...] = ()
    if image_prompt.reference_image:
        try:
            references = (await read_reference_image(image_prompt.reference_image),)
        except (OSError, ValueError) as exc:
            log.warning("selfie reference image not used: %s", exc)
    return image_prompt.to_request(width=generation.width or None, height=generation.height or None,
                                   seed=seed, count=count, reference_images=references)


async def draw(image_prompt: ImagePrompt, engine: Engine, workers: ImageWorkers, *,
               seed: Optional[int] = None, deadline: Optional[float] = None,
               progress: ProgressCallback = no_progress, count: int = 1) -> Drawn:
    """Draw a prompt with the engine's chain and fit its image(s) for chat. Raises BackendError."""
    config = engine.config
    request = await request_for(config, image_prompt, seed, count)
    images = await engine.chain.generate(request, progress, deadline=deadline)
    # Each image is fit on its own: one the imaging step refuses (corrupt, a bomb) is dropped and
    # logged, so a bad second image never costs the job the good ones (which may have been paid for).
    ready: list[tuple[GeneratedImage, PreparedImage]] = []
    first_error: Optional[BackendError] = None
    for image in images[:max(1, request.count)]:
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
    return Drawn(image_prompt, image, prepared, tuple(extra for _, extra in more))
