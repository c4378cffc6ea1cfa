"""The Gradio backend: a Hugging Face Space or any Gradio app, over plain async httpx."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import random
import time
from typing import Any, Iterator, Mapping, Optional
from urllib.parse import urlsplit

import httpx

from ...config.secrets import secret_from, url_credentials
from ...redaction import redact, redacted_traceback
from ..base import Backend, BackendReport, GeneratedImage, GenerationRequest, ProgressCallback, ProgressEvent, no_progress
from ...errors import (BackendError, ConfigurationError, ContentRejectedError, ProtocolError, ReferenceUnsupported,
                       TransientError)
from ..edge import map_transport_errors, transport_error, was_not_sent
from ..quota_groups import zero_gpu_group
from ..http import error_for_status, read_capped
from ...imaging.formats import sniff_image_mime
from .autobind import auto_inputs, bound_to
from .choose import Choice, choose_endpoint, reference_endpoint
from .discovery import AppInfo, AppStarting, Endpoint, Parameter, discover
from .errors import is_zero_gpu_quota
from .payload import TemplateValues, build_data, check_inputs, size_notes, target_size
from .presets import Preset, find_preset, find_preset_by_signature, space_host
from .results import ResultFile, find_images, find_seed
from .transport import TRANSPORTS, JobContext, TransportUnavailable, cancel, is_verdict
from .upload import reference_value
from ...phrases import DOWNLOAD_LOST, SPACE_STARTING

log = logging.getLogger(__name__)
SSE_PROTOCOLS = ("sse_v1", "sse_v2", "sse_v2.1", "sse_v3")
_STARTUP_POLL = 5.0
# File names apps return instead of an image when their safety checker fires (Z-Image-Turbo's nsfw.png).
PLACEHOLDER_NAMES = frozenset({"nsfw.png"})


class GradioBackend(Backend):
    def __init__(self, config, client: httpx.AsyncClient, *, environ: Mapping[str, str]) -> None:
        self.config = config
        self.name = config.name
        self.paid = config.paid
        self.client = client
        self.base = config.base_url or f"https://{space_host(config.space)}"
        self.host = urlsplit(self.base).hostname or ""
        self.disabled_reason: Optional[str] = None
        try:
            self.preset: Optional[Preset] = find_preset(config.preset, config.space, self.host)
        except ValueError as exc:
            self.preset = None
            self.disabled_reason = str(exc)
        languages = config.prompt_languages or (self.preset.prompt_languages if self.preset else ["en"])
        self.prompt_languages = frozenset(languages)
        self._given_inputs: dict[str, Any] = {**(self.preset.inputs if self.preset else {}), **config.inputs}
        self.inputs: dict[str, Any] = dict(self._given_inputs)  # plus what autobind finds for the endpoint
        token = self._token(environ)
        self._secrets = [token, *url_credentials(self.base)]
        self.headers = self._auth_headers(token)
        zero_gpu = config.zero_gpu == "yes" or (config.zero_gpu == "auto" and self.host.endswith(".hf.space"))
        self.quota_group = zero_gpu_group(token) if zero_gpu else None
        self.app: Optional[AppInfo] = None
        self.endpoint: Optional[Endpoint] = None
        self.choice: Optional[Choice] = None
        # Where reference images go: (endpoint, its inputs, the image input); None when the app has none.
        self.reference: Optional[tuple[Endpoint, dict[str, Any], Parameter]] = None
        self._last_app: Optional[AppInfo] = None  # what discovery found, even when no endpoint fits
        self.transport: Optional[str] = None
        self._prepare_lock = asyncio.Lock()

    # --- generation -------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest,
                       progress: ProgressCallback = no_progress) -> list[GeneratedImage]:
        job: list[JobContext] = []  # filled once a job is submitted, for cancel on timeout
        try:
            return await asyncio.wait_for(self._generate(request, progress, job), self.config.timeout)
        except asyncio.TimeoutError:
            await self._cancel(job)
            # Once the job was sent it may still run (and be charged): never resend it on our own.
            raise TransientError(f"no result within the {self.config.timeout:g} s deadline",
                                 backend=self.name, outcome_unknown=bool(job and job[0].submitted)) from None
        except asyncio.CancelledError:
            await self._cancel(job)
            raise

    async def _generate(self, request: GenerationRequest, progress: ProgressCallback,
                        job: list[JobContext]) -> list[GeneratedImage]:
        with self._map_errors():
            app, endpoint = await self._prepare(progress)
            inputs, image = self.inputs, None
            if request.reference_images:
                if self.reference is None:
                    if request.references_required:
                        raise ReferenceUnsupported("the app has no endpoint with an image input for the reference",
                                                   backend=self.name)
                    request = dataclasses.replace(request, reference_images=())
                else:
                    endpoint, inputs, parameter = self.reference
                    image, used = await reference_value(
                        self.client, self.base, app, self.headers, parameter, request.reference_images,
                        backend=self.name, redact=lambda text: redact(text, self._secrets))
                    if used < len(request.reference_images):
                        log.info("%s: %s takes %d of the %d reference images", self.name, parameter.name, used,
                                 len(request.reference_images))
            values = dataclasses.replace(self._values(request, endpoint, inputs), image=image)
            data = build_data(endpoint, inputs, values, self.name)
            notes = size_notes(endpoint, inputs, request, values, data)
            for note in notes:
                log.warning("%s: %s", self.name, note)
            try:
                outputs = await self._run(app, endpoint, data, progress, job)
            except ConfigurationError:
                self.app = self.endpoint = self.transport = None  # the app may have changed: rediscover next time
                raise
            refs = find_images(outputs, backend=self.name)
            if not refs:
                raise ProtocolError(f"{endpoint.api_name} returned no image", backend=self.name)
            self._reject_placeholders(refs)
            seed = find_seed(outputs)
            if seed is None and any("{seed}" in str(v) for v in inputs.values()):
                seed = values.seed
            images = []
            for ref in refs[: max(1, request.count)]:
                try:
                    data_bytes, mime = await self._download_once_more_if_lost(ref, app)
                except BackendError as exc:
                    # The job ran (and may have been paid for): never draw it again on our own.
                    exc.outcome_unknown = True
                    if self.paid and exc.user_message == type(exc).default_user_message:
                        exc._user_message = DOWNLOAD_LOST
                    raise
                images.append(GeneratedImage(data_bytes, mime, self.name, seed, metadata={
                    "gradio_version": app.version, "transport": self.transport, "file": ref.name,
                    "endpoint": endpoint.label, "notes": list(notes)}))
            return images

    async def _run(self, app: AppInfo, endpoint: Endpoint, data: list[Any], progress: ProgressCallback,
                   job: list[JobContext]) -> list[Any]:
        stream_timeout = httpx.Timeout(self.config.read_timeout, connect=self.config.connect_timeout)
        context = JobContext(self.client, self.base + app.api_prefix, self.headers, endpoint, data,
                             self._redacting(progress), self.name, stream_timeout)
        job.append(context)
        candidates = [self.transport] if self.transport else self._transports(app)
        last: Optional[BackendError] = None
        for name in candidates:
            try:
                outputs = await TRANSPORTS[name](context)
            except TransportUnavailable as exc:
                last = exc
                context.phase = "preparing"  # refused outright: nothing of this job runs on the server
                continue
            except Exception as exc:  # noqa: BLE001 - every failure becomes a taxonomy error here
                raise self._job_error(context, exc) from None
            self.transport = name
            return outputs
        assert last is not None
        raise ConfigurationError(f"no way to call this app worked ({', '.join(candidates)}): {last.detail}",
                                 backend=self.name)

    def _transports(self, app: AppInfo) -> list[str]:
        if self.config.transport != "auto":
            return [self.config.transport]
        if app.protocol in SSE_PROTOCOLS:
            return ["queue", "call", "run"] if app.version_at_least(4, 20) else ["queue", "run"]
        return ["run"]  # Gradio 3's WebSocket queue and 4.0–4.8's old SSE are not spoken here

    def _job_error(self, job: JobContext, exc: Exception) -> BackendError:
        """The taxonomy error for a failed job. After the job was sent, only the app's own verdict
        (it failed, refused, or its queue was full) makes the outcome known; a lost stream, a
        cancellation on the server or an unreadable answer leave it unknown, so a paid job is
        never submitted a second time."""
        if isinstance(exc, BackendError):
            error = exc
        elif isinstance(exc, httpx.HTTPError):
            error = transport_error(exc, "gradio job", backend=self.name,
                                    redact=lambda text: redact(text, self._secrets))
        else:
            log.info("%s: unreadable answer:\n%s", self.name, redacted_traceback(exc, self._secrets))
            error = ProtocolError(f"unreadable answer from the app ({type(exc).__name__}: {str(exc)[:300]})",
                                  backend=self.name)
        error.backend = error.backend or self.name
        sent_before_failure = not (job.phase == "submitting" and was_not_sent(exc))
        if job.submitted and sent_before_failure and not is_verdict(error):
            error.outcome_unknown = True
        return error

    def _redacting(self, progress: ProgressCallback) -> ProgressCallback:
        """Progress whose text (an app's log lines, step descriptions) never carries our secrets."""
        def forward(event: ProgressEvent) -> None:
            progress(dataclasses.replace(event, message=redact(event.message, self._secrets)) if event.message
                     else event)
        return forward

    async def _cancel(self, job: list[JobContext]) -> None:
        if job:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(cancel(job[0])), 5)

    # --- discovery --------------------------------------------------------------------------

    async def _prepare(self, progress: ProgressCallback = no_progress) -> tuple[AppInfo, Endpoint]:
        async with self._prepare_lock:
            if self.disabled_reason:
                raise ConfigurationError(f"backend disabled: {self.disabled_reason}", backend=self.name)
            if self.app is None or self.endpoint is None:
                app = await self._discover_waiting(progress)
                self._last_app = app
                if self.preset is None and self.config.preset == "auto":
                    self._adopt_preset(find_preset_by_signature(app))
                try:
                    choice = choose_endpoint(app, api_name=self.config.api_name, fn_index=self.config.fn_index,
                                             preset_api_name=self.preset.api_name if self.preset else "",
                                             backend=self.name)
                    for warning in choice.warnings:
                        log.warning("%s: %s", self.name, warning)
                    endpoint = choice.endpoint
                    self.inputs = auto_inputs(endpoint, self._given_inputs)
                    check_inputs(endpoint, self.inputs, self.name)
                    self.reference = self._reference_target(app, endpoint)
                except ConfigurationError as exc:
                    self.disabled_reason = exc.detail
                    raise ConfigurationError(f"backend disabled: {exc.detail}", backend=self.name) from None
                self.app, self.endpoint, self.choice = app, endpoint, choice
            return self.app, self.endpoint

    def _reference_target(self, app: AppInfo, endpoint: Endpoint) -> Optional[tuple[Endpoint, dict[str, Any],
                                                                                     Parameter]]:
        """The chosen endpoint when it has an image input; else the app's image-to-image endpoint with
        inputs bound automatically (the config's inputs belong to the chosen one); else None."""
        parameter = bound_to(endpoint, self.inputs, "{image}")
        if parameter is not None:
            return endpoint, self.inputs, parameter
        other = reference_endpoint(app, endpoint)
        if other is None:
            return None
        inputs = auto_inputs(other, {})
        try:
            check_inputs(other, inputs, self.name)
        except ConfigurationError as exc:
            log.info("%s: %s could take reference images but cannot be called: %s", self.name, other.label,
                     exc.detail)
            return None
        parameter = bound_to(other, inputs, "{image}")
        return (other, inputs, parameter) if parameter is not None else None

    async def takes_references(self) -> bool:
        """Known after discovery: whether an endpoint of the app takes an image (GET /config first)."""
        with self._map_errors():
            await self._prepare()
        return self.reference is not None

    async def _discover_waiting(self, progress: ProgressCallback) -> AppInfo:
        """GET /config, waiting (bounded) while a Space sleeps or builds."""
        give_up = time.monotonic() + self.config.startup_wait
        told = False
        while True:
            try:
                return await discover(self.client, self.base, self.headers, self.name)
            except AppStarting as exc:
                remaining = give_up - time.monotonic()
                if remaining <= 0:
                    raise TransientError(f"the app is still starting after {self.config.startup_wait:g} s: "
                                         f"{exc.detail}", backend=self.name,
                                         user_message=SPACE_STARTING) from None
                if not told:
                    progress(ProgressEvent("log", backend=self.name, message="starting: the Space is waking up"))
                    told = True
                await asyncio.sleep(min(_STARTUP_POLL, remaining))

    def _adopt_preset(self, preset: Optional[Preset]) -> None:
        if preset is None:
            return
        self.preset = preset
        self._given_inputs = {**preset.inputs, **self.config.inputs}
        if not self.config.prompt_languages:
            self.prompt_languages = frozenset(preset.prompt_languages)

    # --- results ----------------------------------------------------------------------------

    def _reject_placeholders(self, refs: list[ResultFile]) -> None:
        if any(ref.name.lower() in PLACEHOLDER_NAMES for ref in refs):
            raise ContentRejectedError("the app returned its NSFW placeholder instead of an image",
                                       backend=self.name)

    async def _download_once_more_if_lost(self, ref: ResultFile, app: AppInfo) -> tuple[bytes, str]:
        try:
            return await self._download(ref, app)
        except TransientError:
            return await self._download(ref, app)

    async def _download(self, ref: ResultFile, app: AppInfo) -> tuple[bytes, str]:
        limit = self.config.max_download_bytes
        if ref.inline is not None:
            if len(ref.inline) > limit:
                raise ProtocolError(f"inline image of {len(ref.inline)} bytes exceeds {limit}", backend=self.name)
            data = ref.inline
        else:
            path = ref.path or ""
            if "://" in path:
                raise ProtocolError("the result points to a file on another host; refused", backend=self.name)
            # Built from the path: the `url` some versions return is wrong (4.44's /call) or foreign.
            url = f"{self.base}{app.api_prefix}/file={path}"
            with map_transport_errors("GET /file=", backend=self.name, redact=lambda text: redact(text, self._secrets)):
                async with self.client.stream("GET", url, headers=self.headers) as response:
                    if response.status_code != 200:
                        raise error_for_status(response, "GET /file=", backend=self.name)
                    data = await read_capped(response, limit, backend=self.name)
        mime = sniff_image_mime(data)
        if mime is None:
            raise ProtocolError(f"the result file {ref.name!r} is not an image", backend=self.name)
        return data, mime

    # --- helpers ----------------------------------------------------------------------------

    def _values(self, request: GenerationRequest, endpoint: Endpoint,
                inputs: Optional[dict[str, Any]] = None) -> TemplateValues:
        width, height = target_size(endpoint, self.inputs if inputs is None else inputs, request)
        seed = request.seed if request.seed is not None and request.seed >= 0 else random.randrange(2**31 - 1)
        divisor = math.gcd(width, height)
        aspect = request.aspect or f"{width // divisor}:{height // divisor}"
        return TemplateValues(request.prompt, request.negative_prompt, width, height, seed, aspect,
                              max(1, request.count))

    def hub_token(self) -> str:
        """The Hugging Face token this backend's ZeroGPU calls spend ("" when none, or not a Space), for the
        quota reading of doctor and /pic status."""
        if not self.quota_group or not (self.config.space or self.host.endswith(".hf.space")):
            return ""
        return self._secrets[0]

    def _token(self, environ: Mapping[str, str]) -> str:
        # A token from the default variable goes to Hugging Face only; to send it to any other host,
        # name the variable (or the token) in this backend's config.
        if "hf_token_env" in self.config.model_fields_set or self.host.endswith(".hf.space"):
            return secret_from(self.config.hf_token, self.config.hf_token_env, environ)
        return secret_from(self.config.hf_token, "", environ)

    def _auth_headers(self, token: str) -> dict[str, str]:
        if not token:
            return {}
        headers = {}
        if self.config.token_header in ("x-hf-authorization", "both"):
            headers["X-HF-Authorization"] = f"Bearer {token}"
        if self.config.token_header in ("authorization", "both"):
            headers["Authorization"] = f"Bearer {token}"
        return headers

    @contextlib.contextmanager
    def _map_errors(self) -> Iterator[None]:
        """httpx failures become taxonomy errors (shared edge mapping); every detail is redacted."""
        try:
            with map_transport_errors("gradio request", backend=self.name,
                                      redact=lambda text: redact(text, self._secrets)):
                yield
        except BackendError as exc:
            exc.detail = redact(exc.detail, self._secrets)
            if self.quota_group and is_zero_gpu_quota(exc):
                exc.quota_group = self.quota_group
            exc.backend = exc.backend or self.name
            raise
        except Exception as exc:  # noqa: BLE001 - a malformed answer must not escape the taxonomy
            log.info("%s: unreadable answer:\n%s", self.name, redacted_traceback(exc, self._secrets))
            raise ProtocolError(redact(f"unreadable answer from the app ({type(exc).__name__}: {str(exc)[:300]})",
                                       self._secrets), backend=self.name) from None

    # --- doctor -----------------------------------------------------------------------------

    async def probe(self) -> BackendReport:
        from .doctor import (SAMPLE_PROMPT, backends_block, describe_app, describe_payload,  # doctor only
                             describe_references)

        lines = [f"target: {self.base}", f"token: {'set' if self._secrets[0] else 'not set'}"]
        try:
            with self._map_errors():
                app, endpoint = await self._prepare()
        except BackendError as exc:
            if self._last_app is None:  # discovery itself failed: its one line says why
                return BackendReport(self.name, False, exc.detail, lines)
            return BackendReport(self.name, False, exc.detail, lines + describe_app(self._last_app, None))
        transport = self.transport or self._transports(app)[0]
        summary = f"ok: gradio {app.version}, endpoint {endpoint.label}, transport {transport}"
        lines += describe_app(app, self.choice)
        lines.append(describe_references(self.reference, endpoint))
        try:
            sample = self._values(GenerationRequest(SAMPLE_PROMPT, aspect="16:9", seed=42), endpoint)
            data = build_data(endpoint, self.inputs, sample, self.name)
            lines += describe_payload(app, endpoint, data, transport)
            lines += size_notes(endpoint, self.inputs, GenerationRequest(SAMPLE_PROMPT, aspect="16:9"), sample, data)
        except BackendError as exc:
            lines.append(f"payload: cannot be built: {exc.detail}")
        lines.append("config block (paste into config.toml to pin this choice):")
        lines += ["    " + line for line in backends_block(self.name, self.config.space, self.config.base_url,
                                                            endpoint, self.inputs, self.config.fn_index >= 0)]
        return BackendReport(self.name, True, summary, lines)
