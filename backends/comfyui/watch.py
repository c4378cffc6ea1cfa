"""Following one queued prompt to its end: over ComfyUI's websocket (/ws?clientId=…), or by polling
/history/{id} when the websocket is off, cannot be opened, or drops.

Websocket messages (server.py, execution.py, main.py; peers-2026-11.md §3.2) are JSON
`{"type", "data"}` text frames, plus binary preview frames (skipped). For our prompt:
execution_start → execution_cached → executing/progress … → executed (per output node) →
execution_success | execution_error | execution_interrupted → executing {node: null} (done).
`status` frames carry the queue length. The history entry is written around the time the end is
announced; right after `execution_success` it may still be missing (the /history race), so it is
asked for a few times. A silent websocket is checked against /history now and then, so a missed
frame never leaves the job waiting for ever; the deadline bounds everything.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

from ..base import ProgressCallback, ProgressEvent
from ...errors import BackendError, ConfigurationError, ProtocolError, TransientError
from ..selfhosted import OutOfMemoryError, is_out_of_memory
from .api import ComfyAPI
from ...phrases import COMFYUI_WORKFLOW_FAILED

log = logging.getLogger(__name__)

WS_MAX_FRAME = 8 * 1024 * 1024  # preview images are the largest frames
SILENCE_CHECK = 10.0  # seconds without a frame before /history is asked directly
HISTORY_RACE = (0.1, 0.2, 0.3, 0.5, 0.5, 1.0, 1.0, 2.0, 2.0, 2.0)  # waits for the entry after "done"
# A server repeating frames for our prompt must not grow memory until the deadline.
MAX_EXECUTED = 256
MAX_NODES = 10_000
VANISHED_POLLS = 15  # polls with the prompt neither queued nor in the history before giving up


@dataclass
class Outcome:
    entry: dict[str, Any]
    executed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (node, output) in order
    cached: set[str] = field(default_factory=set)


def websocket_url(base_url: str, client_id: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", f"clientId={client_id}", ""))


async def open_websocket(base_url: str, client_id: str, *, timeout: float, backend: str,
                         headers: Optional[dict[str, str]] = None):
    """A connected websocket, or None (logged) when it cannot be had: polling takes over."""
    try:
        from websockets.asyncio.client import connect
    except ImportError:
        log.info("%s: the websockets package is not installed; polling /history instead", backend)
        return None
    try:
        return await connect(websocket_url(base_url, client_id), open_timeout=timeout, max_size=WS_MAX_FRAME,
                             max_queue=32, close_timeout=2, additional_headers=headers or None,
                             user_agent_header="llm2pic/0.1")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here means: poll instead
        log.info("%s: websocket unavailable (%s); polling /history instead", backend, type(exc).__name__)
        return None


class Watcher:
    def __init__(self, api: ComfyAPI, prompt_id: str, progress: ProgressCallback, *, poll_interval: float) -> None:
        self.api = api
        self.prompt_id = prompt_id
        self.progress = progress
        self.poll_interval = poll_interval
        self.backend = api.backend
        self.outcome_executed: list[tuple[str, dict[str, Any]]] = []
        self.cached: set[str] = set()
        self._started = False
        self._last_event: Optional[tuple] = None

    def _emit(self, event: ProgressEvent) -> None:
        key = (event.kind, event.rank, event.queue_size, event.step, event.total)
        if key != self._last_event:
            self._last_event = key
            self.progress(event)

    # --- websocket ----------------------------------------------------------------------------

    async def over_websocket(self, ws) -> Outcome:
        from websockets.exceptions import ConnectionClosed

        # One recv() stays pending across silence checks. (asyncio.wait, not wait_for: on Python
        # 3.11 wait_for can swallow a cancellation that arrives together with a frame.)
        # /history is also asked every SILENCE_CHECK seconds while frames keep coming: a stream of
        # frames that never says "done" for us (other clients' status, a missed end) must not keep
        # the job waiting for a result that is already there.
        receiving: Optional[asyncio.Future] = None
        loop = asyncio.get_running_loop()
        next_check = loop.time() + SILENCE_CHECK
        try:
            while True:
                if receiving is None:
                    receiving = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait({receiving}, timeout=max(0.0, next_check - loop.time()))
                if loop.time() >= next_check:
                    next_check = loop.time() + SILENCE_CHECK
                    entry = await self.api.history(self.prompt_id)
                    if entry is not None:
                        return self._finish(entry)
                if not done:
                    continue
                try:
                    frame = receiving.result()
                except ConnectionClosed as exc:
                    log.info("%s: websocket closed (%s); polling /history instead", self.backend, exc)
                    return await self.by_polling()
                finally:
                    receiving = None
                if await self._frame(frame):
                    return self._finish(await self._history_after_done())
        finally:
            if receiving is not None:
                receiving.cancel()

    async def _frame(self, frame: Any) -> bool:
        """True when this frame says our prompt is done."""
        if isinstance(frame, (bytes, bytearray)):
            return False  # binary preview frame: 4-byte event type + image
        try:
            message = json.loads(frame)
        except (ValueError, RecursionError):
            log.debug("%s: websocket frame is not JSON; skipped", self.backend)
            return False
        return isinstance(message, dict) and await self._handle(message)

    async def _handle(self, message: dict[str, Any]) -> bool:
        """True when our prompt is done."""
        kind, data = message.get("type"), message.get("data")
        if not isinstance(data, dict):
            return False
        if kind == "status":
            status = data.get("status")
            info = status.get("exec_info") if isinstance(status, dict) else None
            remaining = info.get("queue_remaining") if isinstance(info, dict) else None
            if not self._started and isinstance(remaining, int) and remaining > 1:
                # Our prompt is the last one queued: everything else remaining is ahead of it.
                self._emit(ProgressEvent("queued", backend=self.backend, rank=remaining - 1, queue_size=remaining,
                                         message="ComfyUI 排队中"))
            return False
        if data.get("prompt_id") not in (None, self.prompt_id):
            return False
        if kind == "execution_start":
            self._started = True
            self._emit(ProgressEvent("started", backend=self.backend))
        elif kind == "execution_cached":
            if len(self.cached) < MAX_NODES:
                self.cached.update(_node_ids(data.get("nodes")))
        elif kind == "progress":
            value, maximum = data.get("value"), data.get("max")
            if isinstance(value, int) and isinstance(maximum, int) and maximum > 0:
                self._emit(ProgressEvent("step", backend=self.backend, step=value, total=maximum))
        elif kind == "executed":
            if isinstance(data.get("output"), dict) and len(self.outcome_executed) < MAX_EXECUTED:
                self.outcome_executed.append((str(data.get("node")), data["output"]))
        elif kind == "execution_error":
            raise execution_error(data, backend=self.backend)
        elif kind == "execution_interrupted":
            raise TransientError(f"prompt {self.prompt_id} was interrupted on the server (node "
                                 f"{data.get('node_id')} {data.get('node_type')})", backend=self.backend)
        elif kind == "execution_success":
            return True
        elif kind == "executing" and data.get("node") is None:
            # main.py's "done"; servers before prompt ids in messages sent it only to our client id.
            return data.get("prompt_id") == self.prompt_id or self._started
        return False

    async def _history_after_done(self) -> dict[str, Any]:
        for pause in HISTORY_RACE:
            entry = await self.api.history(self.prompt_id)
            if entry is not None:
                return entry
            await asyncio.sleep(pause)
        entry = await self.api.history(self.prompt_id)
        if entry is None:
            raise ProtocolError(f"prompt {self.prompt_id} finished but /history has no entry for it",
                                backend=self.backend)
        return entry

    # --- polling ------------------------------------------------------------------------------

    async def by_polling(self) -> Outcome:
        nowhere = 0
        polls = 0
        while True:
            entry = await self.api.history(self.prompt_id)
            if entry is not None:
                return self._finish(entry)
            if polls % 3 == 0:
                running, pending = await self.api.queue_state()
                if any(_item_id(item) == self.prompt_id for item in running):
                    nowhere = 0
                    if not self._started:
                        self._started = True
                        self._emit(ProgressEvent("started", backend=self.backend))
                elif any(_item_id(item) == self.prompt_id for item in pending):
                    nowhere = 0
                    ahead = sorted(pending, key=_item_number)
                    rank = next(i for i, item in enumerate(ahead) if _item_id(item) == self.prompt_id)
                    self._emit(ProgressEvent("queued", backend=self.backend, rank=rank + len(running),
                                             queue_size=len(pending) + len(running), message="ComfyUI 排队中"))
                else:
                    nowhere += 3
                    if nowhere >= VANISHED_POLLS:
                        raise TransientError(f"prompt {self.prompt_id} is neither queued nor in the history "
                                             "(queue cleared on the server?)", backend=self.backend)
            polls += 1
            await asyncio.sleep(self.poll_interval)

    # --- the end --------------------------------------------------------------------------------

    def _finish(self, entry: dict[str, Any]) -> Outcome:
        status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
        messages = status.get("messages") if isinstance(status.get("messages"), list) else []
        for item in messages:
            if isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict):
                if item[0] == "execution_error":
                    raise execution_error(item[1], backend=self.backend)
                if item[0] == "execution_interrupted":
                    raise TransientError(f"prompt {self.prompt_id} was interrupted on the server", backend=self.backend)
                if item[0] == "execution_cached":
                    self.cached.update(_node_ids(item[1].get("nodes")))
        if status.get("status_str") == "error":
            raise ProtocolError(f"prompt {self.prompt_id} ended with status error and no error message",
                                backend=self.backend)
        return Outcome(entry, list(self.outcome_executed), set(self.cached))


def execution_error(data: dict[str, Any], *, backend: str) -> BackendError:
    """execution_error {node_id, node_type, exception_type, exception_message, traceback, …}: the
    node and the exception go to the log; the chat gets a short reason."""
    node, node_type = data.get("node_id"), data.get("node_type")
    exception = f"{data.get('exception_type', 'error')}: {str(data.get('exception_message', '')).strip()}"
    detail = f"execution_error in node {node} ({node_type}): {exception[:500]}"
    trace = data.get("traceback")
    where = str(trace[-1]).strip()[:300] if isinstance(trace, list) and trace else ""
    log.warning("%s: %s%s", backend, detail, f" (at {where})" if where else "")
    if is_out_of_memory(exception):
        return OutOfMemoryError(detail, backend=backend)
    return ConfigurationError(detail, backend=backend,
                              user_message=COMFYUI_WORKFLOW_FAILED)


def _node_ids(nodes: Any) -> list[str]:
    return [str(node) for node in nodes[:MAX_NODES]] if isinstance(nodes, list) else []


def _item_id(item: Any) -> Optional[str]:
    return item[1] if isinstance(item, list) and len(item) > 1 and isinstance(item[1], str) else None


def _item_number(item: Any) -> float:
    return item[0] if isinstance(item, list) and item and isinstance(item[0], (int, float)) else 0.0
