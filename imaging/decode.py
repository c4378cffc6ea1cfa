"""Decoding with Pillow under a pixel cap: bombs, truncated and corrupt files become ImagingError."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from ..errors import ImagingError

if TYPE_CHECKING:
    from PIL import Image

PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")


def check_pixels(width: int, height: int, max_pixels: int, backend: str = "") -> None:
    if width <= 0 or height <= 0:
        raise ImagingError(f"image has no pixels ({width}x{height})", backend=backend)
    if width * height > max_pixels:
        raise ImagingError(f"image of {width}x{height} = {width * height} pixels refused (cap {max_pixels}): "
                           "possible decompression bomb", backend=backend)


def decode(data: bytes, max_pixels: int, backend: str = "") -> Image.Image:
    """The first frame, fully loaded and upright (EXIF orientation applied), metadata dropped."""
    # Pillow is imported on the first decode: an image that goes out unchanged never needs it.
    # WebP is registered by hand: a format Pillow has not registered yet makes `open` load every
    # one of its ~40 plugins (PNG, JPEG and GIF are among the few it loads first anyway).
    from PIL import Image, ImageOps, UnidentifiedImageError, WebPImagePlugin  # noqa: F401

    try:
        image = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImagingError(f"decompression bomb refused: {exc}", backend=backend) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImagingError(f"not a readable PNG/JPEG/WebP/GIF: {exc}", backend=backend) from None
    # Image.open only read the header: refuse before a single pixel is decompressed.
    check_pixels(image.width, image.height, max_pixels, backend)
    try:
        image.load()
        # in place: without an orientation tag this is free, while the copying form duplicates every pixel
        ImageOps.exif_transpose(image, in_place=True)
    except Image.DecompressionBombError as exc:
        raise ImagingError(f"decompression bomb refused: {exc}", backend=backend) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise ImagingError(f"image is truncated or corrupt: {exc}", backend=backend) from None
    icc = image.info.get("icc_profile")
    image.info = {"icc_profile": icc} if icc else {}
    return image
