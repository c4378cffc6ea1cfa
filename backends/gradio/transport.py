"""The three ways of running a Gradio job over plain HTTP:

- queue: `POST {prefix}/queue/join` + `GET {prefix}/queue/data` (SSE), 4.9+; carries rank, ETA,
  progress and the error text on every version;
- call: `POST {prefix}/call/<name>` + `GET {prefix}/call/<name>/<event_id>` (SSE), 4.20+;
- run: `POST {prefix}/run/<name>` (or `/run/predict` with fn_index), Gradio 3 and self-hosted apps.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

import httpx

from ..base import ProgressCallback, ProgressEvent
from ...errors import BackendError, ConfigurationError, ProtocolError, TransientError
from ...server_numbers import server_count, server_number
from ..http import error_for_status, is_html, read_capped
from .discovery import AppStarting, Endpoint
from .errors import HIDDEN_ERROR, app_error, clean_message
from .sse import read_events


# An answer that is not an event stream (/run results with inline images included) is read up to this.
MAX_ANSWER_BYTES = 64 * 1024 * 1024


class TransportUnavailable(ConfigurationError):
    """The app does not offer this transport (404/405): another one may work."""


@dataclass
class JobContext:
    client: httpx.AsyncClient
    api_root: str  # base URL + api prefix
    headers: dict[str, str]
    endpoint: Endpoint
    data: list[Any]
    progress: ProgressCallback
    backend: str
    stream_timeout: httpx.Timeout
    cancel_body: Optional[dict[str, Any]] = field(default=None)  # set once the job is known to the server
    # "preparing" → "submitting" (the request that starts the job is on its way) → "accepted"
    # (the server gave it an event id). From "submitting" on, a failure without a verdict from the
    # app leaves the job's outcome unknown: it may run, and be paid for, without us.
    phase: str = "preparing"

    @property
    def submitted(self) -> bool:
        return self.phase != "preparing"


def verdict(error: BackendError) -> BackendError:
    """Mark an error as the server's own answer about the job (it failed, it was refused, the
    queue was full), so the outcome is known and the job was not left running."""
    error.verdict = True  # type: ignore[attr-defined]
    return error


def is_verdict(error: BackendError) -> bool:
    return bool(getattr(error, "verdict", False))


async def run_queue(job: JobContext) -> list[Any]:
    session = uuid.uuid4().hex[:12]
    body = {"data": job.data, "event_data": None, "fn_index": job.endpoint.fn_index,
            "trigger_id": job.endpoint.trigger_id, "session_hash": session}
    job.phase = "submitting"
    answer = await _post_json(job, "/queue/join", body)
    event_id = _event_id(answer, "POST /queue/join", job.backend)
    job.phase = "accepted"
    job.cancel_body = {"session_hash": session, "fn_index": job.endpoint.fn_index, "event_id": event_id}
    async with job.client.stream("GET", f"{job.api_root}/queue/data", params={"session_hash": session},
                                 headers=job.headers, timeout=job.stream_timeout) as response:
        _check_stream(response, "GET /queue/data", job.backend)
        async for event in read_events(response):
            message = event.data if isinstance(event.data, dict) else {}
            kind = message.get("msg")
            if message.get("event_id") not in (None, event_id):
                continue
            if kind == "process_completed":
                output = message.get("output")
                output = output if isinstance(output, dict) else {}
                if message.get("success", True) is not False and "data" in output:
                    if not isinstance(output["data"], list):
                        raise ProtocolError("process_completed: output.data is not a list", backend=job.backend)
                    return output["data"]
                if message.get("success", True) is not False:
                    raise TransientError("the job was cancelled on the server", backend=job.backend)
                raise verdict(app_error(output.get("error"), output.get("title") or message.get("title"),
                                        backend=job.backend))
            if kind == "unexpected_error":
                raise TransientError(f"queue error: {clean_message(message.get('message'))}",
                                     backend=job.backend)
            if kind == "queue_full":
                raise verdict(TransientError("the app's queue is full", backend=job.backend))
            if kind == "close_stream":
                break
            _report(job, kind, message)
    raise TransientError("the queue stream ended before the result arrived", backend=job.backend)


async def run_call(job: JobContext) -> list[Any]:
    name = job.endpoint.api_name.lstrip("/")
    if not name:
        raise TransportUnavailable("unnamed endpoints cannot be called through /call", backend=job.backend)
    job.phase = "submitting"
    answer = await _post_json(job, f"/call/{name}", {"data": job.data})
    event_id = _event_id(answer, f"POST /call/{name}", job.backend)
    job.phase = "accepted"
    # /call looks the session up by event id (gradio 4.20–6.17), so that is what cancel needs.
    job.cancel_body = {"session_hash": event_id, "fn_index": job.endpoint.fn_index, "event_id": event_id}
    async with job.client.stream("GET", f"{job.api_root}/call/{name}/{event_id}", headers=job.headers,
                                 timeout=job.stream_timeout) as response:
        _check_stream(response, f"GET /call/{name}", job.backend)
        async for event in read_events(response):
            if event.event == "complete":
                if not isinstance(event.data, list):
                    raise ProtocolError("/call result is not a list", backend=job.backend)
                return event.data
            if event.event == "error":
                # The server breaks the chunked body right after this event: do not read on.
                raise verdict(_call_error(event.data, job.backend))  # the job ended, even if the reason is hidden
    raise TransientError("the /call stream ended before the result arrived", backend=job.backend)


async def run_direct(job: JobContext) -> list[Any]:
    name = job.endpoint.api_name.lstrip("/")
    # A session of our own: Gradio 3 keeps a generator's iterator per session_hash between calls.
    body: dict[str, Any] = {"data": job.data, "session_hash": uuid.uuid4().hex[:12]}
    if name:
        path = f"/run/{name}"
    else:
        path = "/run/predict"
        body.update(fn_index=job.endpoint.fn_index)
    job.phase = "submitting"
    latest: Optional[list[Any]] = None
    for _ in range(MAX_GENERATOR_STEPS):
        answer = await _run_once(job, path, body)
        if answer.get("is_generating") is not True:
            # A finished generator answers with one None per output (gradio 3.50 blocks.py,
            # postprocess_data on FINISHED_ITERATING): its result is the last value it yielded.
            if latest is not None and all(value is None for value in answer["data"]):
                return latest
            return answer["data"]
        latest = answer["data"]  # a preview; the same session asks for the next value
        job.phase = "accepted"
    raise ProtocolError(f"POST {path}: the generator did not finish after {MAX_GENERATOR_STEPS} values",
                        backend=job.backend)


MAX_GENERATOR_STEPS = 1000


async def _run_once(job: JobContext, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response, raw = await _post(job, path, body)
    if response.status_code == 500:
        payload = _json_or_none(raw)
        if isinstance(payload, dict) and "error" in payload:
            raise verdict(app_error(payload.get("error"), payload.get("title"), backend=job.backend))
        raise verdict(ProtocolError(f"POST {path} → HTTP 500 (unknown endpoint or server crash)",
                                    backend=job.backend))
    if response.status_code in (404, 405) and not is_html(response):
        raise verdict(TransportUnavailable(f"POST {path} → HTTP {response.status_code}: the app does not accept "
                                           "direct calls (a Space only offers its queue)", backend=job.backend))
    answer = _checked_json(response, raw, f"POST {path}", job.backend)
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise ProtocolError(f"POST {path}: no data list in the answer", backend=job.backend)
    return answer


async def cancel(job: JobContext) -> None:
    """Best effort: ask the server to drop the job. Never raises."""
    if not job.cancel_body:
        return
    try:
        await job.client.post(f"{job.api_root}/cancel", json=job.cancel_body, headers=job.headers,
                              timeout=httpx.Timeout(3.0))
    except Exception:  # noqa: BLE001 - the job is being abandoned anyway
        pass


TRANSPORTS = {"queue": run_queue, "call": run_call, "run": run_direct}


def _report(job: JobContext, kind: Any, message: dict[str, Any]) -> None:
    """Progress from a queue message; every number is checked and bounded (a server may send anything)."""
    name = job.backend
    if kind == "estimation":
        job.progress(ProgressEvent("queued", backend=name, rank=server_count(message.get("rank")),
                                   queue_size=server_count(message.get("queue_size")),
                                   eta=server_number(message.get("rank_eta"))))
    elif kind == "process_starts":
        job.progress(ProgressEvent("started", backend=name, eta=server_number(message.get("eta"))))
    elif kind == "progress":
        units = message.get("progress_data")
        for unit in units[:16] if isinstance(units, list) else []:
            if isinstance(unit, dict):
                job.progress(ProgressEvent("step", backend=name, step=server_count(unit.get("index")),
                                           total=server_count(unit.get("length")),
                                           message=clean_message(unit.get("desc"))[:200]))
    elif kind == "log":
        title = clean_message(message.get("title"))[:100]
        text = clean_message(message.get("log"))[:500]
        job.progress(ProgressEvent("log", backend=name, message=f"{title}: {text}" if title else text))


def _call_error(data: Any, backend: str) -> BackendError:
    if data is None:
        return TransientError(HIDDEN_ERROR + " (gradio < 6.13 hides every /call error)", backend=backend)
    if isinstance(data, dict):
        return app_error(data.get("error"), data.get("title"), backend=backend)
    return TransientError(f"/call stream error: {clean_message(data)}", backend=backend)


async def _post_json(job: JobContext, path: str, body: dict[str, Any]) -> Any:
    response, raw = await _post(job, path, body)
    if response.status_code in (404, 405) and not is_html(response):
        raise verdict(TransportUnavailable(f"POST {path} → HTTP {response.status_code}", backend=job.backend))
    if response.status_code == 503 and not is_html(response):
        raise verdict(TransientError(f"POST {path} → HTTP 503: the app's queue is full", backend=job.backend,
                                     retry_after=None))
    if response.status_code == 500:
        raise verdict(ConfigurationError(f"POST {path} → HTTP 500: the app rejected the endpoint "
                                         "(renamed or removed?)", backend=job.backend))
    if response.status_code != 200:
        error = _checked_error(response, f"POST {path}", job.backend)
        # A gateway's timeout or broken upstream (502, 504, Cloudflare's 52x) is no answer from the
        # app: it may have accepted the job, so the outcome stays unknown (never resent when paid).
        raise error if _from_gateway(response.status_code) else verdict(error)
    return _checked_json(response, raw, f"POST {path}", job.backend)


def _from_gateway(status: int) -> bool:
    return status in (502, 504) or 520 <= status <= 527


def _checked_error(response: httpx.Response, what: str, backend: str) -> BackendError:
    if is_html(response) or response.status_code in (502, 503, 504):
        return AppStarting(f"{what} → HTTP {response.status_code}: the app is asleep or restarting", backend=backend)
    return error_for_status(response, what, backend=backend)


async def _post(job: JobContext, path: str, body: dict[str, Any]) -> tuple[httpx.Response, bytes]:
    """A POST whose answer is read with a size cap (a server may send anything, of any length)."""
    async with job.client.stream("POST", f"{job.api_root}{path}", json=body, headers=job.headers) as response:
        raw = await read_capped(response, MAX_ANSWER_BYTES, backend=job.backend)
    return response, raw


def _checked_json(response: httpx.Response, raw: bytes, what: str, backend: str) -> Any:
    if is_html(response) or response.status_code != 200:
        raise _checked_error(response, what, backend)
    payload = _json_or_none(raw)
    if payload is None:
        raise ProtocolError(f"{what}: answer is not JSON", backend=backend)
    return payload


def _check_stream(response: httpx.Response, what: str, backend: str) -> None:
    if response.status_code != 200 or "text/event-stream" not in response.headers.get("content-type", ""):
        if is_html(response) or response.status_code in (502, 503, 504):
            raise AppStarting(f"{what} → HTTP {response.status_code}: the app is asleep or restarting",
                              backend=backend)
        if response.status_code != 200:
            raise error_for_status(response, what, backend=backend)
        raise ProtocolError(f"{what}: not an event stream", backend=backend)


def _event_id(answer: Any, what: str, backend: str) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("event_id"), str):
        return answer["event_id"]
    raise ProtocolError(f"{what}: no event_id in the answer", backend=backend)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
