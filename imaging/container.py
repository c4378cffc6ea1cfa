"""Reading image containers byte by byte, without decoding pixels: size, structural integrity,
and removal of metadata chunks. This is what lets an image that already fits go out unchanged
in microseconds, while a truncated or damaged file still never does."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Optional

from .formats import sniff_image_mime

# PNG chunks that carry text or timestamps (SD WebUI writes its prompt into tEXt "parameters").
_PNG_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"tIME"}
# JPEG segments that carry comments, XMP or IPTC. APP1 "Exif" is not here: it may hold an
# orientation, which only a decode can apply, so it sends the image down the decoding path.
_JPEG_COMMENT = 0xFE
_JPEG_APP13 = 0xED
_JPEG_APP1 = 0xE1
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class ContainerInfo:
    """What the bytes say about themselves.

    intact: the structure is complete and consistent (PNG: every chunk and CRC through IEND;
    JPEG: well-formed segments through the first scan and an EOI at the end; WebP: RIFF size).
    needs_decode: something (EXIF orientation, an eXIf chunk) can only be honoured by decoding.
    strip_ranges: byte ranges of metadata that can be cut out without touching the pixels.
    """

    mime: str
    width: int
    height: int
    intact: bool = False
    needs_decode: bool = False
    strip_ranges: tuple[tuple[int, int], ...] = ()


def inspect(data: bytes) -> Optional[ContainerInfo]:
    """The container info, or None when the format is unknown or even the header is unreadable."""
    mime = sniff_image_mime(data)
    reader = {"image/png": _png, "image/jpeg": _jpeg, "image/webp": _webp, "image/gif": _gif}.get(mime or "")
    if reader is None:
        return None
    try:
        return reader(memoryview(data))
    except (IndexError, ValueError):
        return None


def strip_metadata(data: bytes, info: ContainerInfo) -> bytes:
    """`data` without its metadata ranges; the very same object when there is nothing to cut."""
    if not info.strip_ranges:
        return data
    view = memoryview(data)
    parts, pos = [], 0
    for start, end in info.strip_ranges:
        parts.append(view[pos:start])
        pos = end
    parts.append(view[pos:])
    return b"".join(parts)


def _u16be(view: memoryview, pos: int) -> int:
    return (view[pos] << 8) | view[pos + 1]


def _png(view: memoryview) -> Optional[ContainerInfo]:
    size = len(view)
    if size < 33 or bytes(view[12:16]) != b"IHDR":
        return None
    width = int.from_bytes(view[16:20], "big")
    height = int.from_bytes(view[20:24], "big")
    pos, intact, needs_decode, seen_idat = 8, False, False, False
    strip: list[tuple[int, int]] = []
    while pos + 12 <= size:
        length = int.from_bytes(view[pos:pos + 4], "big")
        kind = bytes(view[pos + 4:pos + 8])
        end = pos + 12 + length
        if end > size:
            break
        crc = int.from_bytes(view[end - 4:end], "big")
        if zlib.crc32(view[pos + 4:end - 4]) != crc:
            break
        if kind == b"IDAT":
            seen_idat = True
        elif kind == b"eXIf":
            needs_decode = True
        elif kind in _PNG_METADATA:
            strip.append((pos, end))
        elif kind == b"IEND":
            intact = seen_idat
            break
        pos = end
    return ContainerInfo("image/png", width, height, intact, needs_decode, tuple(strip))


def _jpeg(view: memoryview) -> Optional[ContainerInfo]:
    size = len(view)
    pos, width, height = 2, 0, 0
    needs_decode, reached_scan = False, False
    strip: list[tuple[int, int]] = []
    while pos + 4 <= size:
        if view[pos] != 0xFF:
            break
        marker = view[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        if marker == 0xD9:  # EOI before any scan
            break
        end = pos + 2 + _u16be(view, pos + 2)
        if end > size:
            break
        if marker in _SOF_MARKERS:
            height, width = _u16be(view, pos + 5), _u16be(view, pos + 7)
        elif marker == _JPEG_APP1 and bytes(view[pos + 4:pos + 10]) == b"Exif\x00\x00":
            needs_decode = True
        elif marker in (_JPEG_APP1, _JPEG_APP13, _JPEG_COMMENT):
            strip.append((pos, end))
        elif marker == 0xDA:
            reached_scan = True
            break
        pos = end
    if not width or not height:
        return None
    tail = bytes(view[-64:]).rstrip(b"\x00\r\n ")
    intact = reached_scan and tail.endswith(b"\xff\xd9")
    return ContainerInfo("image/jpeg", width, height, intact, needs_decode, tuple(strip))


def _webp(view: memoryview) -> Optional[ContainerInfo]:
    size = len(view)
    intact = int.from_bytes(view[4:8], "little") + 8 == size
    kind = bytes(view[12:16])
    body = 20
    if kind == b"VP8X":
        width = 1 + int.from_bytes(view[body + 4:body + 7], "little")
        height = 1 + int.from_bytes(view[body + 7:body + 10], "little")
        needs_decode = bool(view[body] & 0x0C)  # EXIF or XMP present: let Pillow re-encode without it
        return ContainerInfo("image/webp", width, height, intact, needs_decode)
    if kind == b"VP8 ":
        if bytes(view[body + 3:body + 6]) != b"\x9d\x01\x2a":
            return None
        width = int.from_bytes(view[body + 6:body + 8], "little") & 0x3FFF
        height = int.from_bytes(view[body + 8:body + 10], "little") & 0x3FFF
    elif kind == b"VP8L":
        if view[body] != 0x2F:
            return None
        bits = int.from_bytes(view[body + 1:body + 5], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        return None
    return ContainerInfo("image/webp", width, height, intact)


def _gif(view: memoryview) -> Optional[ContainerInfo]:
    width = int.from_bytes(view[6:8], "little")
    height = int.from_bytes(view[8:10], "little")
    intact = bytes(view[-1:]) == b";"
    return ContainerInfo("image/gif", width, height, intact)
