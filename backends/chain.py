"""Trying the configured backends in order until one produces an image."""

from __future__ import annotations

import logging

from .base import Backend, BackendError, ContentRejectedError, GeneratedImage, GenerationRequest, ProgressCallback, ProgressEvent, no_progress

log = logging.getLogger(__name__)


async def generate_with_fallback(
    backends: list[Backend], request: GenerationRequest, progress: ProgressCallback = no_progress
) -> list[GeneratedImage]:
    """The first backend's images that succeed; a content refusal stops the chain.

    Raises the last BackendError when every backend failed.
    """
    if not backends:
        from .base import ConfigurationError

        raise ConfigurationError("no backend is enabled")
    last: BackendError | None = None
    for backend in backends:
        progress(ProgressEvent("backend", backend=backend.name))
        try:
            return await backend.generate(request, progress)
        except ContentRejectedError:
            raise
        except BackendError as exc:
            log.warning("backend %s failed: %s", backend.name, exc)
            last = exc
    assert last is not None
    raise last
