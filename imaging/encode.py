"""Fitting a decoded image into the chat's limits: longest edge, byte budget, output format."""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from ..errors import ImagingError

if TYPE_CHECKING:  # Pillow itself is imported where pixels are touched (see decode.py)
    from PIL import Image

MIN_EDGE = 64
MAX_DOWNSCALES = 6
# Binary-search steps between the lowest and highest quality; each is one encode.
QUALITY_STEPS = 3
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_FORMAT = {mime: fmt for fmt, mime in _MIME.items()}


@dataclass(frozen=True)
class FitRules:
    max_edge: int
    max_bytes: int
    format: str  # auto | jpeg | png | webp
    quality: int
    min_quality: int
    background: tuple[int, int, int]


@dataclass(frozen=True)
class Encoded:
    data: bytes
    mime: str
    width: int
    height: int


def target_mime(output_format: str, source_mime: str) -> str:
    """auto keeps PNG and JPEG; WebP and GIF become JPEG (QQ clients show those unreliably)."""
    if output_format != "auto":
        return _MIME[output_format.upper()]
    return source_mime if source_mime in ("image/png", "image/jpeg") else "image/jpeg"


def fit(image: Image.Image, rules: FitRules, source_mime: str, source_bytes_per_pixel: float = 0.0,
        backend: str = "") -> Encoded:
    """Encode `image` within the rules. `source_bytes_per_pixel` (of a PNG source) lets auto skip a
    PNG attempt that is bound to be over budget: a noisy 2048² PNG takes seconds to compress."""
    image = shrink_to_edge(image, rules.max_edge)
    fmt = _FORMAT[target_mime(rules.format, source_mime)]
    predicted_png = source_bytes_per_pixel * image.width * image.height
    if fmt == "PNG" and rules.format == "auto" and predicted_png > rules.max_bytes:
        fmt = "JPEG"
    for _ in range(MAX_DOWNSCALES + 1):
        if fmt == "PNG":
            data = _save(_for_png(image), "PNG")
            if len(data) <= rules.max_bytes:
                return Encoded(data, "image/png", image.width, image.height)
            if rules.format == "auto":
                fmt = "JPEG"  # over budget: a photo-like PNG is far smaller as JPEG
                continue
        else:
            data = _smallest_fitting(image, fmt, rules)
            if len(data) <= rules.max_bytes:
                return Encoded(data, _MIME[fmt], image.width, image.height)
        image = _downscale_for(image, len(data), rules.max_bytes, backend)
    raise ImagingError(f"could not fit the image into {rules.max_bytes} bytes", backend=backend)


def shrink_to_edge(image: Image.Image, max_edge: int) -> Image.Image:
    longest = max(image.size)
    if longest <= max_edge:
        return image
    scale = max_edge / longest
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return _resize(image, size)


def _downscale_for(image: Image.Image, size: int, budget: int, backend: str) -> Image.Image:
    scale = min(0.9, max(0.5, math.sqrt(budget / size) * 0.95))
    new = (round(image.width * scale), round(image.height * scale))
    if min(new) < MIN_EDGE:
        raise ImagingError(f"could not fit the image into {budget} bytes without shrinking it below "
                           f"{MIN_EDGE}px", backend=backend)
    return _resize(image, new)


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    from PIL import Image

    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _smallest_fitting(image: Image.Image, fmt: str, rules: FitRules) -> bytes:
    """The highest-quality encoding within budget, or the lowest-quality one when none fits."""
    prepared = _for_jpeg(image, rules.background) if fmt == "JPEG" else _for_webp(image)
    best = _save(prepared, fmt, quality=rules.quality)
    if len(best) <= rules.max_bytes or rules.min_quality >= rules.quality:
        return best
    smallest = _save(prepared, fmt, quality=rules.min_quality)
    if len(smallest) > rules.max_bytes:
        return smallest
    best, low, high = smallest, rules.min_quality, rules.quality
    for _ in range(QUALITY_STEPS):
        if high - low <= 1:
            break
        middle = (low + high) // 2
        data = _save(prepared, fmt, quality=middle)
        if len(data) <= rules.max_bytes:
            best, low = data, middle
        else:
            high = middle
    return best


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    icc = image.info.get("icc_profile")
    if icc:
        options["icc_profile"] = icc
    with _output_file(fmt) as output:
        image.save(output, fmt, **options)
        output.seek(0)
        return output.read()


def _output_file(fmt: str) -> BinaryIO:
    """Where an encoder writes. Into a file descriptor Pillow's JPEG encoder runs with the GIL
    released (`encode_to_file`); into a BytesIO it encodes chunk by chunk holding the GIL, so a 2048²
    JPEG kept the event loop waiting 5–30 ms at a time, longer with several workers encoding at once
    (bench/imaging.py). An anonymous in-memory file (memfd) gives it a descriptor without touching a
    disk. PNG and WebP gain nothing from one (Pillow writes them through Python either way)."""
    if fmt == "JPEG" and hasattr(os, "memfd_create"):
        try:
            return open(os.memfd_create("llm2pic-encode", os.MFD_CLOEXEC), "w+b")
        except OSError:  # out of descriptors, or a sandbox that forbids memfd
            pass
    return io.BytesIO()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )


def _to_8bit(image: Image.Image) -> Image.Image:
    # The ICC profile describes the old colour space, so it does not survive these conversions.
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        converted = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode in ("CMYK", "YCbCr", "LAB", "HSV", "1"):
        converted = image.convert("RGB")
    else:
        return image
    converted.info.pop("icc_profile", None)
    return converted


def _for_jpeg(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    from PIL import Image

    image = _to_8bit(image)
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        flat.info = dict(image.info)
        return flat
    if image.mode not in ("RGB", "L"):
        return image.convert("RGB")
    return image


def _for_png(image: Image.Image) -> Image.Image:
    image = _to_8bit(image)
    return image if image.mode in ("RGB", "RGBA", "L", "LA", "P") else image.convert("RGB")


def _for_webp(image: Image.Image) -> Image.Image:
    image = _to_8bit(image)
    if image.mode in ("RGB", "RGBA"):
        return image
    return image.convert("RGBA" if _has_alpha(image) else "RGB")
