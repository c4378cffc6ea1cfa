"""Hugging Face Inference API, text-to-image (backends.md §4).

POST {base}/models/{model} with {inputs, parameters}; the answer is raw image bytes. A JSON body
is an error even with status 200. A 503 with `estimated_time` means the model is loading: wait and
ask again (bounded by `model_wait`; the chain's job deadline bounds the whole call).
"""

from __future__ import annotations

from ..config.secrets import secret_from
import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Mapping, Optional

import httpx

from ..redaction import redact
from .base import Backend, BackendReport, GeneratedImage, GenerationRequest, ProgressCallback, ProgressEvent, no_progress
from ..errors import (BackendError, ConfigurationError, ContentRejectedError, ProtocolError, QuotaError,
                      ReferenceUnsupported, TransientError)
from ..server_numbers import server_number
from .edge import send_capped
from .http import error_for_status, is_html, retry_after_seconds
from ..imaging.formats import sniff_image_mime
from ..phrases import MODEL_LOADING

log = logging.getLogger(__name__)

_QUOTA_WORDS = ("exceeded your monthly included credits", "credits", "pre-paid", "payment required",
                "subscribe to pro")
_REJECTED_WORDS = ("nsfw", "safety checker", "content policy", "unsafe content")
_LOADING_WAIT_CAP = 30.0


class HFInferenceBackend(Backend):
    def __init__(self, config, client: httpx.AsyncClient, *, environ: Mapping[str, str],
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.config = config
        self._sleep = sleep
        self.name = config.name
        self.paid = config.paid
        self._client = client
        self._token = secret_from(config.token, config.token_env, environ)
        self._url = f"{config.base_url.rstrip('/')}/models/{config.model}"
        self.prompt_languages = frozenset(config.prompt_languages or ["en"])

    def _redact(self, text: str) -> str:
        return redact(text, [self._token])

    def _headers(self, waiting: bool) -> dict[str, str]:
        headers = {"accept": "image/png"}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        if waiting:
            headers["x-wait-for-model"] = "true"
        return headers

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        width, height = request.size(multiple=self.config.size_multiple)
        parameters: dict[str, Any] = {
            "negative_prompt": request.negative_prompt or None,
            "num_inference_steps": self.config.num_inference_steps,
            "guidance_scale": self.config.guidance_scale,
            "width": width,
            "height": height,
            "seed": request.seed,
        }
        return {"inputs": request.prompt, "parameters": {k: v for k, v in parameters.items() if v is not None}}

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback = no_progress
    ) -> list[GeneratedImage]:
        if request.reference_images and request.references_required:
            raise ReferenceUnsupported("the HF Inference text-to-image task takes no input image", backend=self.name)
        return [await self._one(request, progress)]  # one image per request: the chain asks again for more

    async def _one(self, request: GenerationRequest, progress: ProgressCallback) -> GeneratedImage:
        what = f"POST /models/{self.config.model}"
        body = self.payload(request)
        waited = 0.0
        while True:
            try:
                return await self._post(body, what, waiting=waited > 0)
            except _ModelLoading as loading:
                pause = min(loading.estimated_time or 5.0, _LOADING_WAIT_CAP)
                if waited + pause > self.config.model_wait:
                    raise TransientError(f"{what}: model still loading after {waited:.0f}s", backend=self.name,
                                         retry_after=loading.estimated_time,
                                         user_message=MODEL_LOADING) from None
                progress(ProgressEvent("queued", backend=self.name, eta=loading.estimated_time,
                                       message="模型加载中"))
                log.info("%s: model loading, waiting %.0fs", self.name, pause)
                await self._sleep(pause)
                waited += pause

    async def _post(self, body: dict[str, Any], what: str, *, waiting: bool) -> GeneratedImage:
        response, raw = await send_capped(self._client, "POST", self._url, limit=self.config.max_download_bytes,
                                          timeout=self.config.timeout, what=what, backend=self.name,
                                          redact=self._redact, json=body, headers=self._headers(waiting))
        kind = response.headers.get("content-type", "").lower()
        if response.status_code != 200 or "json" in kind or is_html(response):
            raise self._error(response, raw, what)
        mime = sniff_image_mime(raw)
        if not mime:
            raise ProtocolError(f"{what}: answer is not an image ({kind or 'no content-type'}, {len(raw)} bytes)",
                                backend=self.name)
        return GeneratedImage(data=raw, mime=mime, backend=self.name, seed=body["parameters"].get("seed"),
                              metadata={"model": self.config.model})

    def _error(self, response: httpx.Response, raw: bytes, what: str) -> BackendError:
        status = response.status_code
        message, estimated_time = _error_fields(raw)
        said = self._redact(message[:300])
        where = f"{what} → HTTP {status}" + (f": {said}" if said else "")
        lowered = message.lower()
        if status == 503 and estimated_time is not None:
            return _ModelLoading(where, backend=self.name, estimated_time=estimated_time)
        if status == 402 or any(word in lowered for word in _QUOTA_WORDS):
            return QuotaError(where, backend=self.name, retry_after=retry_after_seconds(response))
        if any(word in lowered for word in _REJECTED_WORDS):
            return ContentRejectedError(where, backend=self.name)
        if status == 422:
            return ConfigurationError(where + " (parameters not accepted by this model)", backend=self.name)
        if status == 200:
            return ProtocolError(where + " (JSON error body with status 200)", backend=self.name)
        if status == 400:
            return ConfigurationError(where + " (request refused; check model and options)", backend=self.name)
        error = error_for_status(response, what, backend=self.name)
        return type(error)(where, backend=self.name, retry_after=error.retry_after)

    async def probe(self) -> BackendReport:
        lines = [f"endpoint: {self._url}",
                 f"token: {'set' if self._token else 'not set'} (env {self.config.token_env or '-'})",
                 "not called: every request to this API spends credits"]
        if not self._token and "huggingface.co" in self._url:
            return BackendReport(self.name, False, "no Hugging Face token configured", lines)
        return BackendReport(self.name, True, "configured", lines)


class _ModelLoading(TransientError):
    """503 with estimated_time: the model is being loaded; internal to this backend."""

    def __init__(self, detail: str, *, backend: str, estimated_time: float) -> None:
        super().__init__(detail, backend=backend, retry_after=estimated_time)
        self.estimated_time = estimated_time


def _error_fields(raw: bytes) -> tuple[str, Optional[float]]:
    try:
        body = json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return raw[:300].decode("utf-8", "replace").strip(), None
    if not isinstance(body, dict):
        return str(body)[:300], None
    error = body.get("error")
    if isinstance(error, list):
        error = "; ".join(str(item) for item in error)
    elif isinstance(error, dict):
        error = error.get("message") or json.dumps(error)[:300]
    estimated_time = server_number(body.get("estimated_time"))
    return str(error or body.get("message") or "")[:300], estimated_time
