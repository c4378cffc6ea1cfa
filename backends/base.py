"""The one backend interface: request and result types, progress events, `Backend` and its doctor report.

Each backend translates its protocol's failures into the taxonomy of `errors.py` at its edge.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..aspects import DEFAULT_PIXELS, parse_aspect, size_for

# --- request / result -------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationRequest:
    """What the user wants drawn; backends map it onto their own parameters."""

    prompt: str
    negative_prompt: str = ""
    aspect: Optional[str] = None  # "16:9"; ignored when width and height are both given
    width: Optional[int] = None
    height: Optional[int] = None
    seed: Optional[int] = None  # None: the backend picks one (and reports it)
    count: int = 1
    reference_images: tuple[bytes, ...] = ()
    # True: a backend that cannot take the references is skipped (drawing without them would ignore
    # the user's picture). False: they are a hint (the selfie look) and such a backend draws from text.
    references_required: bool = True

    def aspect_ratio(self) -> float:
        if self.width and self.height:
            return self.width / self.height
        if self.aspect:
            return parse_aspect(self.aspect)
        return 1.0

    def size(self, pixels: int = DEFAULT_PIXELS, multiple: int = 8) -> tuple[int, int]:
        """Width and height: as given, or derived from the aspect at about `pixels` pixels."""
        if self.width and self.height:
            return self.width, self.height
        return size_for(self.aspect_ratio(), pixels, multiple)


@dataclass
class GeneratedImage:
    """One image as the backend produced it (not yet cropped or fitted for chat)."""

    data: bytes
    mime: str
    backend: str
    seed: Optional[int] = None
    metadata: dict[str, Any] = field(default_factory=dict)


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressEvent:
    """Something worth telling the user or the log while a job runs.

    kind: "backend" (a backend starts working), "queued" (rank/queue_size/eta),
    "started", "step" (step/total), "log" (message from the app, e.g. ZeroGPU), "retry".
    """

    kind: str
    backend: str = ""
    rank: Optional[int] = None
    queue_size: Optional[int] = None
    eta: Optional[float] = None
    step: Optional[int] = None
    total: Optional[int] = None
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    """The progress callback used when the caller passes none."""


# --- the interface ----------------------------------------------------------------------------


@dataclass
class BackendReport:
    """What `doctor` prints for one backend."""

    name: str
    ok: bool
    summary: str
    lines: list[str] = field(default_factory=list)


class Backend(abc.ABC):
    """An image backend. It takes its httpx client from outside and owns no global state."""

    name: str
    paid: bool = False
    # The quota this backend spends together with others (a ZeroGPU caller: one token, or anonymous); None: its own.
    quota_group: Optional[str] = None
    # Languages the backend's model understands in prompts ("en", "zh").
    prompt_languages: frozenset[str] = frozenset({"en"})

    @abc.abstractmethod
    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback = no_progress
    ) -> list[GeneratedImage]:
        """Produce images or raise a BackendError. Cancellation stops the remote job best effort.

        One call is one request to the server: a backend that can draw several images at once
        (n, batch_size, a num_images input) asks for up to `request.count`; one that cannot returns
        one. The chain calls again, with a new seed, for the rest (never the backend itself)."""

    async def takes_references(self) -> bool:
        """Whether `generate` uses `GenerationRequest.reference_images`. A backend that cannot raises
        ReferenceUnsupported when asked with references; the chain asks this first and skips it.
        Backends that must look at the server first (a Gradio app's inputs) may do I/O here and
        raise a BackendError like `generate`."""
        return False

    @abc.abstractmethod
    async def probe(self) -> BackendReport:
        """Check reachability and configuration without generating anything."""
