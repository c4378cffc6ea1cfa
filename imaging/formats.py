"""What kind of image some bytes are, from their magic bytes (headers and file names are not trusted)."""

from __future__ import annotations

from typing import Optional

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image_mime(data: bytes) -> Optional[str]:
    """The image type from the magic bytes (PNG, JPEG, WebP, GIF), or None: headers are not trusted."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
