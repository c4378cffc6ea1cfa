"""Reference images into a Gradio app's image input, the way its own browser client sends them.

- Gradio 4.x–6.x: `POST {api_prefix}/upload` (multipart, field `files`) answers the server paths
  (routes.py `upload_file`: a JSON list, one path per file); the input then gets a FileData dict
  naming that path. From 5.x on, `meta: {"_type": "gradio.FileData"}` is how the server recognises
  a file in the payload (gradio_client `is_file_obj_with_meta`), and only files in its upload folder
  are accepted (processing_utils `_check_allowed(check_in_upload_folder=True)`).
- Gradio 3.x: an image input takes the picture inline as a `data:` URL (components/image.py
  `preprocess` decodes base64); its /upload exists but its Image component does not read paths.

The shape follows the input: gr.Image / gr.File take one file, gr.Gallery and gr.Files a list,
gr.ImageEditor / Sketchpad an editor value (background, layers, composite).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Callable, Optional

import httpx

from ...errors import ProtocolError
from ..edge import map_transport_errors
from ..http import error_for_status, read_capped
from ...imaging.formats import sniff_image_mime
from .discovery import AppInfo, Endpoint, Parameter

# Input kinds a reference can go into, and how many images each takes.
SINGLE = frozenset({"image", "file", "simpleimage", "uploadbutton"})
EDITORS = frozenset({"imageeditor", "sketchpad", "paint"})
MULTIPLE = frozenset({"gallery", "files"})
REFERENCE_INPUTS = SINGLE | EDITORS | MULTIPLE
_ANSWER_LIMIT = 256 * 1024


def takes_reference(parameter: Parameter) -> bool:
    return parameter.in_api and (parameter.kind or parameter.component.lower()) in REFERENCE_INPUTS


def inline_upload(app: AppInfo) -> bool:
    """Gradio 3 (no SSE protocol, version 3.x) takes images inline."""
    return app.major == 3 or (app.major == 0 and not app.protocol)


async def reference_value(client: httpx.AsyncClient, base: str, app: AppInfo, headers: dict[str, str],
                          parameter: Parameter, images: tuple[bytes, ...], *, backend: str,
                          redact: Callable[[str], str]) -> tuple[Any, int]:
    """The value for `parameter` carrying the references, and how many of them it carries."""
    kind = parameter.kind or parameter.component.lower()
    used = images if kind in MULTIPLE else images[:1]
    if inline_upload(app):
        files = [_data_url(data) for data in used]
        # 3.x file values: {"name", "data", "is_file": False} (gradio_client 0.6 FileSerializable)
        blobs = [{"name": _name(data, index), "data": url, "is_file": False, "orig_name": _name(data, index)}
                 for index, (data, url) in enumerate(zip(used, files), 1)]
        if kind in MULTIPLE:
            return blobs, len(used)
        return (blobs[0] if kind == "file" else files[0]), 1
    paths = await _upload(client, base + app.api_prefix, headers, used, backend=backend, redact=redact)
    files = [_file_data(path, data, index) for index, (path, data) in enumerate(zip(paths, used), 1)]
    if kind == "gallery":
        return [{"image": file, "caption": None} for file in files], len(files)
    if kind == "files":
        return files, len(files)
    if kind in EDITORS:
        return {"background": files[0], "layers": [], "composite": files[0]}, 1
    return files[0], 1


async def _upload(client: httpx.AsyncClient, api_root: str, headers: dict[str, str], images: tuple[bytes, ...], *,
                  backend: str, redact: Callable[[str], str]) -> list[str]:
    what = "POST /upload (reference image)"
    multipart = [("files", (_name(data, index), data, sniff_image_mime(data) or "application/octet-stream"))
                 for index, data in enumerate(images, 1)]
    with map_transport_errors(what, backend=backend, redact=redact):
        async with client.stream("POST", f"{api_root}/upload", files=multipart, headers=headers) as response:
            raw = await read_capped(response, _ANSWER_LIMIT, backend=backend)
    if response.status_code == 413:
        raise ProtocolError(f"{what} → HTTP 413: the app refuses files this large", backend=backend)
    if response.status_code != 200:
        raise error_for_status(response, what, backend=backend)
    try:
        paths = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError(f"{what}: answer is not JSON", backend=backend) from None
    if not isinstance(paths, list) or len(paths) != len(images) or not all(isinstance(p, str) and p for p in paths):
        raise ProtocolError(f"{what}: answer is not a list of {len(images)} path(s)", backend=backend)
    return paths


def _file_data(path: str, data: bytes, index: int) -> dict[str, Any]:
    return {"path": path, "url": None, "size": len(data), "orig_name": _name(data, index),
            "mime_type": sniff_image_mime(data), "is_stream": False, "meta": {"_type": "gradio.FileData"}}


def _name(data: bytes, index: int) -> str:
    mime = sniff_image_mime(data) or "image/png"
    return f"reference{index}.{'jpg' if mime == 'image/jpeg' else mime.split('/')[1]}"


def _data_url(data: bytes) -> str:
    mime = sniff_image_mime(data) or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def first_reference_input(endpoint: Endpoint) -> Optional[Parameter]:
    """The input a reference goes to when the config names none: a single image first, then an editor,
    then a gallery or file list. Never a mask (inpainting), and never an input the endpoint also
    outputs to (a result gallery passed back in, as Z-Image-Turbo's /generate does)."""
    echoed = set(endpoint.output_ids)
    usable = [p for p, component in zip(endpoint.parameters, _ids(endpoint))
              if p.in_api and not _is_mask(p) and (component is None or component not in echoed)]
    for kinds in (SINGLE - {"file", "uploadbutton"}, EDITORS, MULTIPLE, frozenset({"file"})):
        for parameter in usable:
            kind = parameter.kind or parameter.component.lower()
            if kind in kinds and not (kind in MULTIPLE and _RESULTS.search(_words(parameter))):
                return parameter
    return None


_RESULTS = re.compile(r"generated|output|result|history|结果|生成|历史", re.I)


def _ids(endpoint: Endpoint) -> list:
    ids = list(endpoint.input_ids)
    return ids + [None] * (len(endpoint.parameters) - len(ids))


def _words(parameter: Parameter) -> str:
    return f"{parameter.name} {parameter.label}"


def _is_mask(parameter: Parameter) -> bool:
    words = _words(parameter).lower()
    return "mask" in words or "蒙版" in words or "遮罩" in words
