"""Finding the images in a Gradio result: FileData (4.x+), gallery items, 3.x file dicts and
`data:` URLs, wherever they sit in the output list."""

from __future__ import annotations

import binascii
import posixpath
from dataclasses import dataclass
from typing import Any, Optional

from ...errors import ProtocolError
from ..decode import base64_bytes


@dataclass(frozen=True)
class ResultFile:
    """An image among a Gradio app's outputs: a file on the app's server, or inline bytes."""

    name: str  # the file name the app gave (orig_name or the path's basename)
    path: Optional[str] = None  # a server path, fetched from {base}{prefix}/file={path}
    inline: Optional[bytes] = None  # the bytes of a data: URL


def find_images(value: Any, *, backend: str = "") -> list[ResultFile]:
    found: list[ResultFile] = []
    _walk(value, found, backend)
    return found


def _walk(value: Any, found: list[ResultFile], backend: str) -> None:
    if isinstance(value, str):
        if value.startswith("data:image/"):
            found.append(ResultFile("inline", inline=decode_data_url(value, backend)))
        return
    if isinstance(value, list):
        for item in value:
            _walk(item, found, backend)
        return
    if not isinstance(value, dict):
        return
    meta = value.get("meta")
    is_file_data = isinstance(meta, dict) and meta.get("_type") == "gradio.FileData"
    if is_file_data or ("path" in value and ("url" in value or "orig_name" in value)):
        if value.get("is_stream") or not value.get("path"):
            return
        path = str(value["path"])
        found.append(ResultFile(str(value.get("orig_name") or posixpath.basename(path)), path=path))
        return
    if "name" in value and "is_file" in value:  # Gradio 3 file dict
        data = value.get("data")
        if isinstance(data, str) and data.startswith("data:"):
            found.append(ResultFile(posixpath.basename(str(value["name"])), inline=decode_data_url(data, backend)))
        elif value.get("name"):
            found.append(ResultFile(posixpath.basename(str(value["name"])), path=str(value["name"])))
        return
    for item in value.values():
        _walk(item, found, backend)


def decode_data_url(url: str, backend: str = "") -> bytes:
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        raise ProtocolError("data: URL in the result is not base64", backend=backend)
    try:
        return base64_bytes(payload, strict=False)
    except (binascii.Error, ValueError):
        raise ProtocolError("data: URL in the result is not valid base64", backend=backend) from None


def find_seed(outputs: Any) -> Optional[int]:
    """The first integer among the top-level outputs (Z-Image returns the seed as str and int)."""
    if not isinstance(outputs, list):
        return None
    for value in outputs:
        if isinstance(value, bool):
            continue
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value) if abs(value) < 2**63 else None
    for value in outputs:
        # isascii: str.isdigit() also accepts "²" and other digits int() refuses
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
            return int(value)
    return None
