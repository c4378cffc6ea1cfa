"""AUTOMATIC1111 stable-diffusion-webui and Forge, through their `--api` (peers-2026-11.md §3.1;
upstream `modules/api/api.py` and `models.py`).

POST /sdapi/v1/txt2img (img2img with `init_images` when there are reference images) answers
{images: [bare base64], parameters, info: "<JSON string>"}. The WebUI runs one job at a time under
a global lock, so the request may wait a long time behind other users' jobs: it has no read
timeout, and the deadline (this backend's `timeout` and the chain's) governs. While it runs,
GET /sdapi/v1/progress is polled and reported; our `force_task_id` tells our job from others'.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, Mapping, Optional

import httpx

from ..redaction import redact
from ..config.secrets import secret_from
from .base import Backend, BackendReport, GeneratedImage, GenerationRequest, ProgressCallback, ProgressEvent, no_progress
from ..errors import BackendError, ConfigurationError, ProtocolError
from .edge import map_transport_errors
from .http import error_for_status, read_capped
from ..imaging.formats import sniff_image_mime
from .decode import decode_base64, decode_json
from .selfhosted import OutOfMemoryError, best_effort, encode_base64, is_out_of_memory, random_seed, within_timeout

log = logging.getLogger(__name__)

_SMALL_ANSWER = 512 * 1024
_PROBE_TIMEOUT = 15.0
_MIN_RETRY_PIXELS = 256 * 256
_MAX_ETA = 7 * 24 * 3600.0  # eta_relative beyond a week (or inf) is noise, not a wait to show


class SDWebUIBackend(Backend):
    def __init__(self, config, client: httpx.AsyncClient, *, environ: Mapping[str, str]) -> None:
        self.config = config
        self.name = config.name
        self.paid = config.paid
        self._client = client
        self._base = config.base_url.rstrip("/")
        password = secret_from(config.password, config.password_env, environ, strip=False)
        self._password = password
        self._auth = httpx.BasicAuth(config.username, password) if config.username else None
        self._secrets = [password, encode_base64(f"{config.username}:{password}".encode())] if password else []
        self.prompt_languages = frozenset(config.prompt_languages or ["en"])

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    # --- the request body ---------------------------------------------------------------------

    def payload(self, request: GenerationRequest, *, width: int, height: int, seed: int,
                task_id: str) -> dict[str, Any]:
        config = self.config
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "seed": seed,
            "width": width,
            "height": height,
            "batch_size": max(1, request.count),
            "n_iter": 1,
            "send_images": True,
            "save_images": False,
            "force_task_id": task_id,
        }
        for key in ("sampler_name", "scheduler", "steps", "cfg_scale"):
            value = getattr(config, key)
            if value not in (None, ""):
                body[key] = value
        if config.model:
            body["override_settings"] = {"sd_model_checkpoint": config.model}
            body["override_settings_restore_afterwards"] = True
        if request.reference_images:
            body["init_images"] = [encode_base64(data) for data in request.reference_images]
            body["include_init_images"] = False
            if config.denoising_strength is not None:
                body["denoising_strength"] = config.denoising_strength
        for key, value in config.extra.items():
            if isinstance(value, dict) and isinstance(body.get(key), dict):
                body[key] = {**body[key], **value}
            else:
                body[key] = value
        return body

    # --- the interface ------------------------------------------------------------------------

    async def takes_references(self) -> bool:
        return True  # /sdapi/v1/img2img with init_images

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback = no_progress
    ) -> list[GeneratedImage]:
        """One request; `count` images as one batch (batch_size), the seeds following the first."""
        return await within_timeout(self._generate(request, progress), self.config.timeout, backend=self.name)

    async def _generate(self, request: GenerationRequest, progress: ProgressCallback) -> list[GeneratedImage]:
        pixels = self.config.pixels
        seed = request.seed if request.seed is not None else random_seed()
        while True:
            width, height = request.size(pixels=pixels, multiple=self.config.size_multiple)
            try:
                return await self._once(request, progress, width=width, height=height, seed=seed)
            except OutOfMemoryError as exc:
                smaller = pixels // 2
                if (request.width and request.height) or smaller < _MIN_RETRY_PIXELS or pixels < self.config.pixels:
                    raise
                log.warning("%s: out of GPU memory at %dx%d, trying once at half the pixels: %s",
                            self.name, width, height, exc.detail)
                progress(ProgressEvent("log", backend=self.name, message="显存不足，缩小尺寸重试"))
                pixels = smaller

    async def _once(self, request: GenerationRequest, progress: ProgressCallback, *, width: int, height: int,
                    seed: int) -> list[GeneratedImage]:
        path = "/sdapi/v1/img2img" if request.reference_images else "/sdapi/v1/txt2img"
        what = f"POST {path}"
        task_id = f"task(llm2pic-{uuid.uuid4().hex[:16]})"
        body = self.payload(request, width=width, height=height, seed=seed, task_id=task_id)
        watcher = _ProgressWatcher(self, task_id, progress)
        post = asyncio.ensure_future(self._post(path, body, what))
        try:
            wait = min(0.3, self.config.progress_interval)  # the first look comes early: short jobs report too
            while not post.done():
                done, _ = await asyncio.wait({post}, timeout=wait)
                if not done:
                    await watcher.poll()
                wait = self.config.progress_interval
            response, raw = post.result()
        except asyncio.CancelledError:
            post.cancel()
            if watcher.ours_running:
                # Only our own job is stopped: /interrupt stops whatever runs now, which we saw is ours.
                await best_effort("POST /sdapi/v1/interrupt", self._client.post(
                    f"{self._base}/sdapi/v1/interrupt", auth=self._auth, timeout=3.0), backend=self.name)
            raise
        finally:
            if not post.done():
                post.cancel()
        if response.status_code != 200:
            raise self._error(response, raw, what)
        return await self._images(raw, what, body)

    async def _post(self, path: str, body: dict[str, Any], what: str) -> tuple[httpx.Response, bytes]:
        config = self.config
        limit = config.max_download_bytes * 2 * _count(body.get("batch_size")) * _count(body.get("n_iter")) \
            + 1024 * 1024
        # No read timeout: the WebUI answers only when our job is done, after every job queued before it.
        timeout = httpx.Timeout(connect=config.connect_timeout, read=None, write=60.0, pool=config.connect_timeout)
        with map_transport_errors(what, backend=self.name, redact=self._redact):
            async with self._client.stream("POST", f"{self._base}{path}", json=body, auth=self._auth,
                                           timeout=timeout) as response:
                raw = await read_capped(response, limit, backend=self.name)
        return response, raw

    async def _images(self, raw: bytes, what: str, body: dict[str, Any]) -> list[GeneratedImage]:
        answer = await decode_json(raw, what, backend=self.name)
        if not isinstance(answer, dict) or not isinstance(answer.get("images"), list):
            raise ProtocolError(f"{what}: answer has no images list", backend=self.name)
        info = _info(answer.get("info"))
        wanted = _count(body.get("batch_size")) * _count(body.get("n_iter"))
        first = info.get("index_of_first_image")
        first = first if _is_int(first) and 0 <= first < len(answer["images"]) else 0
        # Extensions (ControlNet maps, grids) may append images after the generated ones.
        encoded = answer["images"][first:first + wanted]
        seeds = info.get("all_seeds") if isinstance(info.get("all_seeds"), list) else []
        images = []
        for index, text in enumerate(encoded):
            data = await decode_base64(text, self.config.max_download_bytes, what, backend=self.name)
            mime = sniff_image_mime(data)
            if not mime:
                raise ProtocolError(f"{what}: image {index} is not a PNG, JPEG, WebP or GIF", backend=self.name)
            seed = seeds[index] if index < len(seeds) and _is_int(seeds[index]) else info.get("seed")
            metadata = {key: info[key] for key in ("sd_model_name", "sampler_name", "width", "height", "steps",
                                                  "cfg_scale") if key in info}
            images.append(GeneratedImage(data=data, mime=mime, backend=self.name,
                                         seed=seed if _is_int(seed) else body["seed"], metadata=metadata))
        if not images:
            raise ProtocolError(f"{what}: answer has no images", backend=self.name)
        return images

    # --- errors -------------------------------------------------------------------------------

    def _error(self, response: httpx.Response, raw: bytes, what: str) -> BackendError:
        status = response.status_code
        said = self._redact(_error_text(raw))
        where = f"{what} → HTTP {status}" + (f": {said}" if said else "")
        if is_out_of_memory(said):
            return OutOfMemoryError(where, backend=self.name)
        if status == 401:
            hint = "username/password refused (--api-auth)" if self._auth else \
                "the WebUI requires --api-auth credentials: set username and password"
            return ConfigurationError(f"{where} ({hint})", backend=self.name)
        if status == 404 and said.lower() in ("", "not found"):
            return ConfigurationError(f"{where} (no API here: start the WebUI with --api, check base_url)",
                                      backend=self.name)
        if status in (400, 404, 422):
            return ConfigurationError(f"{where} (check the backend's options and extra)", backend=self.name)
        if status == 500 and "not found" in said.lower() and "model" in said.lower():
            return ConfigurationError(f"{where} (check model)", backend=self.name)
        error = error_for_status(response, what, backend=self.name)
        return type(error)(where, backend=self.name, retry_after=error.retry_after)

    # --- doctor -------------------------------------------------------------------------------

    async def probe(self) -> BackendReport:
        lines = [f"endpoint: {self._base}", f"auth: {'HTTP Basic as ' + self.config.username if self._auth else 'none'}"]
        try:
            options = await self._get_json("/sdapi/v1/options")
            models = await self._get_json("/sdapi/v1/sd-models")
            samplers = await self._get_json("/sdapi/v1/samplers")
        except BackendError as exc:
            return BackendReport(self.name, False, exc.detail, lines)
        try:
            sysinfo = await self._get_json("/internal/sysinfo")
        except BackendError:
            sysinfo = {}
        version = sysinfo.get("Version") if isinstance(sysinfo, dict) else None
        lines.append(f"version: {version or 'unknown'}")
        current = options.get("sd_model_checkpoint") if isinstance(options, dict) else None
        lines.append(f"current checkpoint: {current or 'unknown'}")
        titles = [str(item.get("title") or item.get("model_name")) for item in models if isinstance(item, dict)] \
            if isinstance(models, list) else []
        names = [str(item.get("name")) for item in samplers if isinstance(item, dict)] \
            if isinstance(samplers, list) else []
        lines.append(f"checkpoints ({len(titles)}): {', '.join(titles[:20]) or '-'}" + (" …" if len(titles) > 20 else ""))
        lines.append(f"samplers ({len(names)}): {', '.join(names) or '-'}")
        problems = []
        if self.config.model and not any(self.config.model in title for title in titles):
            problems.append(f"model {self.config.model!r} is not among the checkpoints")
        if self.config.sampler_name and names and self.config.sampler_name not in names:
            aliases = {str(a) for item in samplers if isinstance(item, dict) for a in _as_list(item.get("aliases"))}
            if self.config.sampler_name not in aliases:
                problems.append(f"sampler_name {self.config.sampler_name!r} is not among the samplers")
        if self.config.scheduler:
            problems.extend(await self._scheduler_problems(lines))
        lines.extend(problems)
        return BackendReport(self.name, not problems, "; ".join(problems) or "reachable", lines)

    async def _scheduler_problems(self, lines: list[str]) -> list[str]:
        """The configured scheduler against GET /sdapi/v1/schedulers (A1111 1.9+, Forge); older
        versions have no such route and no scheduler field either, and simply ignore it."""
        wanted = self.config.scheduler
        try:
            schedulers = await self._get_json("/sdapi/v1/schedulers")
        except BackendError as exc:
            lines.append(f"schedulers: not listed by this version ({exc.detail[:80]}); "
                         f"scheduler {wanted!r} is sent anyway and ignored by versions before 1.9")
            return []
        items = [item for item in _as_list(schedulers) if isinstance(item, dict)]
        known = {str(name) for item in items for name in [item.get("name"), item.get("label"),
                                                          *_as_list(item.get("aliases"))] if name}
        labels = ", ".join(str(item.get("label") or item.get("name")) for item in items)
        lines.append(f"schedulers ({len(items)}): {labels or '-'}")
        return [] if not known or wanted in known else [f"scheduler {wanted!r} is not among the schedulers"]

    async def _get_json(self, path: str) -> Any:
        what = f"GET {path}"
        with map_transport_errors(what, backend=self.name, redact=self._redact):
            async with self._client.stream("GET", f"{self._base}{path}", auth=self._auth,
                                           timeout=_PROBE_TIMEOUT) as response:
                raw = await read_capped(response, 8 * 1024 * 1024, backend=self.name)
        if response.status_code != 200:
            raise self._error(response, raw, what)
        return await decode_json(raw, what, backend=self.name)


class _ProgressWatcher:
    """Polls /sdapi/v1/progress and reports changes; a failed poll is logged and skipped."""

    def __init__(self, backend: SDWebUIBackend, task_id: str, progress: ProgressCallback) -> None:
        self.backend = backend
        self.task_id = task_id
        self.progress = progress
        self.ours_running = False
        self._last: Optional[tuple] = None

    async def poll(self) -> None:
        backend = self.backend
        try:
            with map_transport_errors("GET /sdapi/v1/progress", backend=backend.name, redact=backend._redact):
                async with backend._client.stream(
                        "GET", f"{backend._base}/sdapi/v1/progress", params={"skip_current_image": "true"},
                        auth=backend._auth, timeout=10.0) as response:
                    raw = await read_capped(response, _SMALL_ANSWER, backend=backend.name)
            if response.status_code != 200:
                return
            answer = json.loads(raw)
        except (BackendError, ValueError, RecursionError) as exc:
            log.debug("%s: progress poll failed: %s", backend.name, exc)
            return
        if isinstance(answer, dict):
            self._report(answer)

    def _report(self, answer: dict[str, Any]) -> None:
        state = answer.get("state") if isinstance(answer.get("state"), dict) else {}
        current = answer.get("current_task")
        eta = answer.get("eta_relative")
        eta = float(eta) if isinstance(eta, (int, float)) and 0 < eta < _MAX_ETA else None
        self.ours_running = current == self.task_id
        if isinstance(current, str) and current and current != self.task_id:
            # At least the running job is ahead of ours; its remaining time is the least we wait.
            event = ProgressEvent("queued", backend=self.backend.name, rank=1, eta=eta,
                                  message="WebUI 正在处理其他任务，排队中")
        else:
            step, total = state.get("sampling_step"), state.get("sampling_steps")
            if not (isinstance(step, int) and isinstance(total, int) and total > 0):
                return
            if current is None and not state.get("job_count"):
                return
            event = ProgressEvent("step", backend=self.backend.name, step=step, total=total, eta=eta)
        key = (event.kind, event.step, event.total)
        if key != self._last:
            self._last = key
            self.progress(event)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(value: Any) -> int:
    """batch_size / n_iter as sent (`extra` may set them): a positive int, else 1."""
    return value if _is_int(value) and value > 0 else 1


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _info(value: Any) -> dict[str, Any]:
    """`info` is a JSON string (processed.js()); a dict is accepted too."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _error_text(raw: bytes) -> str:
    """The useful part of an error answer: A1111's {error, detail, errors}, FastAPI's {detail},
    a 422's [{loc, msg}] list (named field by field), or plain text (Forge's 500)."""
    text = raw[:4000].decode("utf-8", "replace").strip()
    if len(raw) > _SMALL_ANSWER:  # an error page this large is not parsed on the event loop
        return text[:300]
    try:
        return _error_fields(json.loads(raw)) or text[:300]
    except (ValueError, RecursionError):  # RecursionError: nesting like [[[[…]]]], in parsing or str()
        return text[:300]


def _error_fields(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    detail = body.get("detail")
    parts: list[str] = []
    if isinstance(detail, list):
        for item in detail[:5]:
            if isinstance(item, dict):
                loc = [str(part) for part in _as_list(item.get("loc")) if part != "body"]
                parts.append(f"{'.'.join(loc) or 'body'}: {item.get('msg', '')}")
    elif detail:
        parts.append(str(detail))
    if body.get("error") and str(body.get("error")) != "HTTPException":
        parts.insert(0, str(body["error"]))
    errors = body.get("errors")
    if errors and not isinstance(detail, list) and (not detail or str(detail) not in str(errors)):
        parts.append(str(errors))
    return "; ".join(parts)[:300]
