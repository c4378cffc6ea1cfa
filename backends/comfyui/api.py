"""ComfyUI's HTTP routes (peers-2026-11.md §3.2; upstream server.py and execution.py), each bounded
in size and mapped to the error taxonomy. A 400 from POST /prompt carries `node_errors`: the
workflow does not fit this server (a checkpoint that does not exist, a missing input), which is a
configuration error naming the node, its class and the message, never retried."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Callable, Optional

import httpx

from ...errors import BackendError, ConfigurationError, ProtocolError
from ..edge import map_transport_errors
from ..http import error_for_status, read_capped
from ...imaging.formats import sniff_image_mime
from ..decode import decode_json
from ...phrases import COMFYUI_WORKFLOW_INVALID

log = logging.getLogger(__name__)

_JSON_LIMIT = 16 * 1024 * 1024
_OBJECT_INFO_LIMIT = 64 * 1024 * 1024


class ComfyAPI:
    def __init__(self, client: httpx.AsyncClient, base_url: str, *, backend: str, max_image_bytes: int,
                 redact: Callable[[str], str], connect_timeout: float = 10.0,
                 auth: Optional[httpx.BasicAuth] = None) -> None:
        self.client = client
        self.auth = auth
        self.base = base_url.rstrip("/")
        self.backend = backend
        self.max_image_bytes = max_image_bytes
        self.redact = redact
        self.timeout = httpx.Timeout(30.0, connect=connect_timeout)

    async def _call(self, method: str, path: str, what: str, *, limit: int = _JSON_LIMIT,
                    timeout: Optional[httpx.Timeout] = None, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        with map_transport_errors(what, backend=self.backend, redact=self.redact):
            async with self.client.stream(method, f"{self.base}{path}", timeout=timeout or self.timeout,
                                          auth=self.auth, **kwargs) as response:
                raw = await read_capped(response, limit, backend=self.backend)
        return response, raw

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        what = f"{method} {path}"
        response, raw = await self._call(method, path, what, **kwargs)
        if response.status_code != 200:
            raise self._status_error(response, raw, what)
        return await decode_json(raw, what, backend=self.backend)

    def _status_error(self, response: httpx.Response, raw: bytes, what: str) -> BackendError:
        error = error_for_status(response, what, backend=self.backend)
        said = self.redact(raw[:200].decode("utf-8", "replace").strip())
        detail = error.detail + (f": {said}" if said else "")
        return type(error)(detail, backend=self.backend, retry_after=error.retry_after)

    # --- queueing -----------------------------------------------------------------------------

    async def queue_prompt(self, graph: dict[str, Any], client_id: str) -> str:
        what = "POST /prompt"
        response, raw = await self._call("POST", "/prompt", what, json={"prompt": graph, "client_id": client_id})
        if response.status_code == 400:
            log.warning("%s: ComfyUI refused the workflow: %s", self.backend, self.redact(describe_prompt_error(raw)))
            raise ConfigurationError(f"{what} → HTTP 400: {self.redact(describe_prompt_error(raw))}",
                                     backend=self.backend,
                                     user_message=COMFYUI_WORKFLOW_INVALID)
        if response.status_code != 200:
            raise self._status_error(response, raw, what)
        answer = await decode_json(raw, what, backend=self.backend)
        prompt_id = answer.get("prompt_id") if isinstance(answer, dict) else None
        if not isinstance(prompt_id, str) or not prompt_id:
            raise ProtocolError(f"{what}: answer has no prompt_id", backend=self.backend)
        if isinstance(answer.get("node_errors"), dict) and answer["node_errors"]:
            log.warning("%s: some outputs of the workflow failed validation and will not run: %s", self.backend,
                        self.redact(describe_node_errors(answer["node_errors"])))
        return prompt_id

    async def history(self, prompt_id: str) -> Optional[dict[str, Any]]:
        """The history entry of a prompt, or None while it has none (queued, running, or just done)."""
        answer = await self._json("GET", f"/history/{prompt_id}")
        entry = answer.get(prompt_id) if isinstance(answer, dict) else None
        return entry if isinstance(entry, dict) else None

    async def queue_state(self) -> tuple[list, list]:
        answer = await self._json("GET", "/queue")
        if not isinstance(answer, dict):
            return [], []
        running = answer.get("queue_running") if isinstance(answer.get("queue_running"), list) else []
        pending = answer.get("queue_pending") if isinstance(answer.get("queue_pending"), list) else []
        return running, pending

    async def cancel(self, prompt_id: str) -> str:
        """Take our prompt off the server: remove it from the queue, and interrupt it if it is the
        one running. The running check matters because an older server's /interrupt stops whatever
        runs; when /queue cannot tell, the interrupt names our prompt (newer servers honour that)."""
        try:
            running, _ = await self.queue_state()
            ours_running: Optional[bool] = any(_item_id(item) == prompt_id for item in running)
        except BackendError as exc:
            log.info("%s: GET /queue failed while cancelling: %s", self.backend, exc)
            ours_running = None
        await self._call("POST", "/queue", "POST /queue", json={"delete": [prompt_id]})
        if ours_running is False:
            return "removed from the queue"
        await self._call("POST", "/interrupt", "POST /interrupt", json={"prompt_id": prompt_id})
        return "interrupted"

    # --- files --------------------------------------------------------------------------------

    async def view(self, image: dict[str, Any]) -> tuple[bytes, str]:
        params = {"filename": str(image.get("filename", "")), "subfolder": str(image.get("subfolder") or ""),
                  "type": str(image.get("type") or "output")}
        what = f"GET /view ({params['type']}/{params['filename']})"
        response, data = await self._call("GET", "/view", what, params=params, limit=self.max_image_bytes)
        if response.status_code != 200:
            raise self._status_error(response, data, what)
        mime = sniff_image_mime(data)
        if not mime:
            raise ProtocolError(f"{what}: not a PNG, JPEG, WebP or GIF ({len(data)} bytes)", backend=self.backend)
        return data, mime

    async def upload(self, data: bytes) -> str:
        """Upload a reference image to ComfyUI's input folder; the value for LoadImage.image."""
        mime = sniff_image_mime(data) or "image/png"
        name = f"llm2pic_{hashlib.sha256(data).hexdigest()[:20]}.{'jpg' if mime == 'image/jpeg' else mime.split('/')[1]}"
        answer = await self._json("POST", "/upload/image", files={"image": (name, data, mime)},
                                  data={"type": "input", "overwrite": "true"}, limit=64 * 1024)
        if not isinstance(answer, dict) or not isinstance(answer.get("name"), str):
            raise ProtocolError("POST /upload/image: answer has no name", backend=self.backend)
        subfolder = answer.get("subfolder") or ""
        return f"{subfolder}/{answer['name']}" if subfolder else answer["name"]

    # --- doctor -------------------------------------------------------------------------------

    async def system_stats(self) -> Any:
        return await self._json("GET", "/system_stats", limit=1024 * 1024)

    async def object_info_all(self) -> dict[str, Any]:
        """Every node class the server has (several MB with many custom nodes)."""
        answer = await self._json("GET", "/object_info", limit=_OBJECT_INFO_LIMIT,
                                  timeout=httpx.Timeout(60.0, connect=self.timeout.connect))
        if not isinstance(answer, dict):
            raise ProtocolError("GET /object_info: answer is not an object", backend=self.backend)
        return answer

    async def object_info(self, class_type: str) -> Optional[dict[str, Any]]:
        answer = await self._json("GET", f"/object_info/{class_type}")
        info = answer.get(class_type) if isinstance(answer, dict) else None
        return info if isinstance(info, dict) else None


def _item_id(item: Any) -> Optional[str]:
    """A queue item is [number, prompt_id, prompt, extra_data, outputs_to_execute, …]."""
    return item[1] if isinstance(item, list) and len(item) > 1 and isinstance(item[1], str) else None


def describe_prompt_error(raw: bytes) -> str:
    """One line from a 400 answer of POST /prompt: {"error": {type, message, details} | str,
    "node_errors": {id: {"errors": [{type, message, details, extra_info}], "class_type"}}}."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return raw[:300].decode("utf-8", "replace")
    if not isinstance(body, dict):
        return str(body)[:300]
    nodes = body.get("node_errors")
    if isinstance(nodes, dict) and nodes:
        return describe_node_errors(nodes)
    error = body.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("type") or "")
        details = str(error.get("details") or "")
        return f"{message}: {details}"[:400] if details else message[:400]
    return str(error or body)[:400]


def describe_node_errors(nodes: dict[str, Any]) -> str:
    parts = []
    for node_id, entry in list(nodes.items())[:4]:
        if not isinstance(entry, dict):
            continue
        reasons = []
        for error in (entry.get("errors") or [])[:3]:
            if isinstance(error, dict):
                reason = str(error.get("message") or error.get("type") or "")
                details = str(error.get("details") or "")
                received = (error.get("extra_info") or {}).get("received_value") \
                    if isinstance(error.get("extra_info"), dict) else None
                if details:
                    reason += f": {details}"
                if received is not None and str(received) not in reason:
                    reason += f" (got {str(received)[:80]!r})"
                reasons.append(reason)
        parts.append(f"node {node_id} ({entry.get('class_type', '?')}): {'; '.join(reasons) or 'invalid'}")
    return " | ".join(parts)[:600]
