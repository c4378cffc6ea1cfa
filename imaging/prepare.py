"""From image bytes to what `ctx.send.image` takes: crop, fit, encode and base64, all in a worker thread."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Optional

from .formats import sniff_image_mime
from ..config.output import OutputSection
from .crop import crop_plan
from .container import ContainerInfo, inspect, strip_metadata
from .decode import check_pixels, decode
from .encode import FitRules, fit, target_mime
from ..errors import ImagingError
from .workers import ImageWorkers

# base64 runs in slices so the worker thread gives the GIL back to the event loop between them.
_B64_SLICE = 3 * 256 * 1024


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    mime: str
    base64: str  # plain base64, no "data:" prefix (what MaiBot's send.image expects)
    width: int
    height: int
    passed_through: bool  # True: no decode and no re-encode (metadata chunks may have been cut out)
    notes: tuple[str, ...] = ()


async def prepare_for_chat(
    data: bytes, output: OutputSection, *, workers: Optional[ImageWorkers] = None, backend: str = ""
) -> PreparedImage:
    """Crop and fit `data` for chat per the [output] section, in a worker thread.

    Pass the job owner's `workers` to bound how many images are processed at once (recommended:
    it keeps event-loop stalls short under load); without it each call takes a thread of its own.
    Raises ImagingError (a ProtocolError) for a non-image, a bomb, a truncated/corrupt file,
    or an image that cannot be fitted.
    """
    if workers is not None:
        return await workers.run(prepare_sync, data, output, backend=backend)
    return await asyncio.to_thread(prepare_sync, data, output, backend=backend)


def prepare_sync(data: bytes, output: OutputSection, *, backend: str = "") -> PreparedImage:
    """The blocking body of `prepare_for_chat`; call it only from a worker thread (or a CLI)."""
    source_mime = sniff_image_mime(data)
    if source_mime is None:
        raise ImagingError(f"not a PNG/JPEG/WebP/GIF image ({len(data)} bytes)", backend=backend)
    info = inspect(data)
    if info is not None:
        check_pixels(info.width, info.height, output.max_pixels, backend)
    plan = crop_plan(output)
    notes: list[str] = []

    if plan is None and info is not None:
        passed = _pass_through(data, info, output)
        if passed is not None:
            return PreparedImage(passed, info.mime, b64encode(passed), info.width, info.height, True)

    image = decode(data, output.max_pixels, backend)
    if plan is not None:
        box = plan.box(image.width, image.height)
        if box is None:
            notes.append(f"crop skipped: it would leave nothing of a {image.width}x{image.height} image")
        else:
            image = image.crop(box)
    rules = FitRules(output.max_edge, output.max_bytes, output.format, output.jpeg_quality,
                     output.jpeg_min_quality, output.background_rgb())
    png_density = len(data) / (info.width * info.height) if info and info.mime == "image/png" else 0.0
    encoded = fit(image, rules, source_mime, png_density, backend)
    return PreparedImage(encoded.data, encoded.mime, b64encode(encoded.data), encoded.width, encoded.height,
                         False, tuple(notes))


def _pass_through(data: bytes, info: ContainerInfo, output: OutputSection):
    """The bytes to send unchanged, or None when the image needs decoding."""
    if target_mime(output.format, info.mime) != info.mime or not info.intact or info.needs_decode:
        return None
    if max(info.width, info.height) > output.max_edge:
        return None
    result = strip_metadata(data, info) if output.strip_metadata else data
    return result if len(result) <= output.max_bytes else None


def b64encode(data: bytes) -> str:
    """Plain base64; large inputs in slices (a multiple of 3 bytes, so the pieces join exactly)."""
    if len(data) <= _B64_SLICE:
        return base64.b64encode(data).decode("ascii")
    view = memoryview(data)
    return "".join(base64.b64encode(view[i:i + _B64_SLICE]).decode("ascii")
                   for i in range(0, len(data), _B64_SLICE))
