"""Images from the chat made safe to send to a backend as references (image-to-image, edits).

A chat image is untrusted input: it may be huge, a decompression bomb, something that only claims
to be an image, an animation, carry EXIF/GPS/ICC/text metadata, or be a URL pointing into the bot's
own network. `load_reference` takes raw bytes, a base64 string (bare, `base64://…` as OneBot sends
it, or a `data:` URL) or an http(s) URL (downloaded by the `fetch` it is given: in practice
backends/reference_fetch.py, the safe-download rules: never a private address, bounded in size and
time; imaging itself never touches the network), and returns a fresh PNG or JPEG: decoded by Pillow
(the real format, not the name or the declared type), first frame only, EXIF orientation applied,
every metadata chunk (EXIF, GPS, XMP, ICC, text) dropped, the longest side at most `max_side`.
Pillow runs in a worker thread, never on the event loop.

Failures raise ReferenceImageError (its `reason` says which rule refused it). Neither the image nor
its URL's query or userinfo is ever written into an error or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable, Iterable, Optional, Union
from urllib.parse import urlsplit

from ..errors import ReferenceImageError
from ..phrases import (REFERENCE_DOWNLOAD_FAILED, REFERENCE_NOT_IMAGE, REFERENCE_TOO_BIG, REFERENCE_UNSAFE_ADDRESS,
                       too_many_references)
from .decode import PILLOW_FORMATS
from .encode import _save, shrink_to_edge
from .workers import ImageWorkers

if TYPE_CHECKING:
    from PIL import Image


# Sane defaults without any config; every one can be passed as a parameter (ReferenceLimits).
MAX_REFERENCE_BYTES = 20 * 1024 * 1024  # what is read (download or message payload) before decoding
MAX_REFERENCE_PIXELS = 50_000_000  # checked from the header, before a single pixel is decompressed
MAX_REFERENCE_SIDE = 2048  # longest side sent on: edit APIs work at about this size
MAX_REFERENCES = 4  # images one request may carry
JPEG_QUALITY = 90
DOWNLOAD_TIMEOUT = 30.0  # the whole download, redirects included
# Decoding base64 larger than this happens in a worker thread.
_INLINE_DECODE_LIMIT = 256 * 1024

TOO_BIG_MESSAGE = REFERENCE_TOO_BIG
NOT_IMAGE_MESSAGE = REFERENCE_NOT_IMAGE
UNSAFE_URL_MESSAGE = REFERENCE_UNSAFE_ADDRESS
DOWNLOAD_FAILED_MESSAGE = REFERENCE_DOWNLOAD_FAILED

Source = Union[bytes, bytearray, memoryview, str]
# (url, max_bytes, timeout) → the bytes, raising ReferenceImageError; see backends/reference_fetch.py.
Fetch = Callable[[str, int, float], Awaitable[bytes]]


@dataclass(frozen=True)
class ReferenceLimits:
    max_bytes: int = MAX_REFERENCE_BYTES
    max_pixels: int = MAX_REFERENCE_PIXELS
    max_side: int = MAX_REFERENCE_SIDE
    max_count: int = MAX_REFERENCES
    jpeg_quality: int = JPEG_QUALITY
    download_timeout: float = DOWNLOAD_TIMEOUT


@dataclass(frozen=True)
class ReferenceImage:
    """A cleaned reference: PNG (when it has transparency) or JPEG, no metadata."""

    data: bytes
    mime: str
    width: int
    height: int


async def load_references(
    sources: Iterable[Source],
    *,
    fetch: Optional[Fetch] = None,
    limits: ReferenceLimits = ReferenceLimits(),
    workers: Optional[ImageWorkers] = None,
) -> tuple[bytes, ...]:
    """The cleaned bytes of each source, in order: what `GenerationRequest.reference_images` takes."""
    sources = list(sources)
    if len(sources) > limits.max_count:
        raise ReferenceImageError(f"{len(sources)} reference images given, at most {limits.max_count} are taken",
                                  reason="too_many",
                                  user_message=too_many_references(limits.max_count))
    cleaned = []
    for source in sources:
        image = await load_reference(source, fetch=fetch, limits=limits, workers=workers)
        cleaned.append(image.data)
    return tuple(cleaned)


async def load_reference(
    source: Source,
    *,
    fetch: Optional[Fetch] = None,
    limits: ReferenceLimits = ReferenceLimits(),
    workers: Optional[ImageWorkers] = None,
) -> ReferenceImage:
    """One chat image made safe. `fetch` downloads http(s) sources (backends.reference_fetch's
    `reference_fetcher`: the safe-download rules); `workers` bounds how many images are decoded at
    once (the job owner's, as for prepare.py)."""
    data = await _raw_bytes(source, fetch, limits)
    if workers is not None:
        return await workers.run(clean_reference, data, limits)
    return await asyncio.to_thread(clean_reference, data, limits)


# --- getting the bytes ------------------------------------------------------------------------


async def _raw_bytes(source: Source, fetch: Optional[Fetch], limits: ReferenceLimits) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_size(len(data), limits, "image")
        return data
    if not isinstance(source, str):
        raise ReferenceImageError(f"unsupported reference source type {type(source).__name__}",
                                  reason="not_image", user_message=NOT_IMAGE_MESSAGE)
    text = source.strip()
    lowered = text[:10].lower()
    if lowered.startswith(("http://", "https://")):
        if fetch is None:
            raise ReferenceImageError(f"no downloader given for the reference URL {safe_url(text)}",
                                      reason="download_failed", user_message=DOWNLOAD_FAILED_MESSAGE)
        data = await fetch(text, limits.max_bytes, limits.download_timeout)
        _check_size(len(data), limits, "download")
        return data
    if lowered.startswith("data:"):
        header, _, payload = text.partition(",")
        if ";base64" not in header.lower():
            raise ReferenceImageError("data URL reference is not base64", reason="not_image",
                                      user_message=NOT_IMAGE_MESSAGE)
        return await _from_base64(payload, limits)
    if lowered.startswith("base64://"):  # OneBot / NapCat image segments
        return await _from_base64(text[len("base64://"):], limits)
    if "://" in text[:16] or lowered.startswith("file:"):
        # A local path or another scheme: a chat message never decides what the bot reads from its disk.
        raise ReferenceImageError(f"reference source scheme refused ({safe_url(text)})", reason="unsafe_url",
                                  user_message=UNSAFE_URL_MESSAGE)
    return await _from_base64(text, limits)


def _check_size(size: int, limits: ReferenceLimits, what: str) -> None:
    if size > limits.max_bytes:
        raise ReferenceImageError(f"reference {what} of {size} bytes refused (limit {limits.max_bytes})",
                                  reason="too_big", user_message=TOO_BIG_MESSAGE)


async def _from_base64(payload: str, limits: ReferenceLimits) -> bytes:
    _check_size(len(payload) * 3 // 4, limits, "base64 payload")
    try:
        if len(payload) > _INLINE_DECODE_LIMIT:
            data = await asyncio.to_thread(_b64decode, payload)
        else:
            data = _b64decode(payload)
    except (binascii.Error, ValueError):
        raise ReferenceImageError("reference is not valid base64", reason="not_image",
                                  user_message=NOT_IMAGE_MESSAGE) from None
    _check_size(len(data), limits, "image")
    return data


def _b64decode(payload: str) -> bytes:
    compact = "".join(payload.split())
    return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)


def safe_url(url: str) -> str:
    """scheme://host[:port]/path for the log: no userinfo, no query, no fragment, the path cut short."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    path = parts.path if len(parts.path) <= 60 else parts.path[:60] + "…"
    return f"{parts.scheme}://{host}{port}{path}" if parts.scheme else "(not a URL)"


# --- cleaning (worker thread) -----------------------------------------------------------------


def clean_reference(data: bytes, limits: ReferenceLimits = ReferenceLimits()) -> ReferenceImage:
    """The blocking body of `load_reference`: call it from a worker thread (or a CLI)."""
    from PIL import Image, ImageOps, UnidentifiedImageError, WebPImagePlugin  # noqa: F401 - see decode.py

    _check_size(len(data), limits, "image")
    try:
        image = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ReferenceImageError(f"reference refused as a decompression bomb: {exc}", reason="too_many_pixels",
                                  user_message=TOO_BIG_MESSAGE) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ReferenceImageError(f"reference is not a readable PNG/JPEG/WebP/GIF ({len(data)} bytes): "
                                  f"{type(exc).__name__}", reason="not_image", user_message=NOT_IMAGE_MESSAGE) from None
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > limits.max_pixels:
        raise ReferenceImageError(f"reference of {width}x{height} pixels refused (cap {limits.max_pixels})",
                                  reason="too_many_pixels", user_message=TOO_BIG_MESSAGE)
    try:
        image.seek(0)  # an animation: its first frame
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        image = _to_plain(image)
    except Image.DecompressionBombError as exc:
        raise ReferenceImageError(f"reference refused as a decompression bomb: {exc}", reason="too_many_pixels",
                                  user_message=TOO_BIG_MESSAGE) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise ReferenceImageError(f"reference is truncated or corrupt: {type(exc).__name__}: {str(exc)[:120]}",
                                  reason="not_image", user_message=NOT_IMAGE_MESSAGE) from None
    image = shrink_to_edge(image, limits.max_side)
    return _encode(image, limits)


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return image.getextrema()[-1][0] < 255 if image.mode in ("RGBA", "LA") else True
    return image.mode == "P" and "transparency" in image.info


def _to_plain(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when there is real transparency; every info entry (ICC profile included) dropped.
    An ICC profile is not applied: parsing an untrusted profile is attack surface of its own, and the
    colour shift of a Display P3 photo read as sRGB does not matter to a reference."""
    target = "RGBA" if _has_alpha(image) else "RGB"
    if image.mode != target:
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            image = image.point(lambda value: value / 256).convert("L")
        image = image.convert(target)
    image.info = {}
    return image


def _encode(image: Image.Image, limits: ReferenceLimits) -> ReferenceImage:
    # encode._save writes JPEG into a file descriptor, where Pillow's encoder gives the GIL back.
    if image.mode == "RGBA":
        return ReferenceImage(_save(image, "PNG", compress_level=6), "image/png", image.width, image.height)
    return ReferenceImage(_save(image, "JPEG", quality=limits.jpeg_quality, optimize=True), "image/jpeg",
                          image.width, image.height)


__all__ = ["Fetch", "ReferenceImage", "ReferenceLimits", "load_reference", "load_references", "clean_reference",
           "safe_url", "MAX_REFERENCE_BYTES", "MAX_REFERENCE_PIXELS", "MAX_REFERENCE_SIDE", "MAX_REFERENCES"]
