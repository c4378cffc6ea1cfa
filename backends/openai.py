"""OpenAI-compatible image backend: /images/generations, /images/edits, and images through
/chat/completions for providers that offer only that (OpenRouter, Gemini proxies, the classic
plugin's `api_type = "openai"`). Wire shapes: backends.md §3.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

import httpx

from .addresses import Resolver
from ..config.secrets import secret_from
from ..reasons import one_line
from ..redaction import redact
from .base import Backend, BackendReport, GeneratedImage, GenerationRequest, ProgressCallback, no_progress
from ..errors import ConfigurationError, ContentRejectedError, ProtocolError, QuotaError
from .decode import decode_base64, decode_json
from .edge import download_image, map_transport_errors, send_capped
from ..imaging.formats import sniff_image_mime
from .openai_errors import OpenAIErrorBody, classify_error, is_quota, is_rejection, parse_error_body, refused_params
from .openai_extract import AnswerImage, content_text, looks_like_refusal, refs_from_chat_message, refs_from_images_body
from .openai_params import images_body, max_n, model_family
from .openai_chat import chat_body

log = logging.getLogger(__name__)

# Optional fields a strict provider may refuse with a 400 naming them; dropped once, then resent.
_DROPPABLE = ("response_format", "output_format", "quality", "style", "size", "aspect_ratio", "background",
              "moderation")
_CHAT_DROPPABLE = ("modalities", "image_config")
# Fields a server refused, per (base_url, model, route), for the rest of the process: later draws
# (and engines rebuilt by a config reload) leave them out from the start instead of paying a 400 each time.
_REFUSED_FIELDS: dict[tuple[str, str, str], set[str]] = {}


class OpenAIBackend(Backend):
    def __init__(self, config, client: httpx.AsyncClient, *, environ: Mapping[str, str],
                 resolver: Optional[Resolver] = None) -> None:
        self.config = config
        # DNS for image URL downloads (the SSRF guard checks every address); None: the system's.
        self.resolver = resolver
        self.name = config.name
        self.paid = config.paid
        self._client = client
        self._base = config.base_url.rstrip("/")
        self._api_key = secret_from(config.api_key, config.api_key_env, environ)
        self.family = model_family(config.model, config.base_url, config.family)
        languages = config.prompt_languages or ["en", "zh"]
        self.prompt_languages = frozenset(languages)

    # --- small helpers ------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, [self._api_key])

    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    async def _send(self, path: str, what: str, *, n: int = 1, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        """POST to this backend's own host (the only place the key goes); the body is size-capped."""
        limit = self.config.max_download_bytes * 2 * max(1, n) + 65536
        return await send_capped(self._client, "POST", f"{self._base}{path}", limit=limit, timeout=self.config.timeout,
                                 what=what, backend=self.name, redact=self._redact, headers=self._auth(), **kwargs)

    async def _json(self, raw: bytes, what: str) -> Any:
        return await decode_json(raw, what, backend=self.name)

    def _fail(self, response: httpx.Response, raw: bytes, what: str):
        return classify_error(response, raw, what, backend=self.name, redact=self._redact)

    def _refused(self, path: str) -> set[str]:
        return _REFUSED_FIELDS.setdefault((self._base, self.config.model, path), set())

    def _without_refused(self, body: dict[str, Any], path: str) -> dict[str, Any]:
        refused = self._refused(path)
        return {key: value for key, value in body.items() if key not in refused}

    def _drop_refused(self, status: int, error: OpenAIErrorBody, body: dict[str, Any], path: str,
                      droppable: tuple[str, ...]) -> bool:
        """True when a 400/422 refuses optional fields this body has: they are remembered as refused
        and the caller resends once without them (such a 400 was not charged)."""
        if status not in (400, 422) or is_rejection(error) or is_quota(error):
            return False
        names = refused_params(error, [key for key in body if key in droppable])
        if not names:
            return False
        self._refused(path).update(names)
        log.info("%s refused optional field(s) %s; resending without them (remembered for this process)",
                 self.name, ", ".join(names))
        return True

    # --- the interface ------------------------------------------------------------------------

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback = no_progress
    ) -> list[GeneratedImage]:
        """One request: up to `count` images where the model takes `n` (the chain asks again for the rest)."""
        wanted = max(1, request.count)
        if self.config.mode == "chat":
            images = await self._chat(request)
        elif request.reference_images:
            images = await self._edit(request, min(wanted, max_n(self.family)))
        else:
            images = await self._generations(request, min(wanted, max_n(self.family)))
        return images[:wanted]

    async def takes_references(self) -> bool:
        """Chat mode sends them as image parts; images mode through /images/edits, which dall-e-3 lacks."""
        return self.config.mode == "chat" or self.family != "dall-e-3"

    async def probe(self) -> BackendReport:
        what = "GET /models"
        lines = [f"endpoint: {self._base} ({self.config.mode}, model {self.config.model}, family {self.family})",
                 f"API key: {'set' if self._api_key else 'not set'} (env {self.config.api_key_env or '-'})"]
        try:
            with map_transport_errors(what, backend=self.name, redact=self._redact):
                response = await self._client.get(f"{self._base}/models", headers=self._auth())
            if response.status_code != 200:
                raise self._fail(response, response.content, what)
            body = await self._json(response.content, what)
        except (ConfigurationError, QuotaError, ContentRejectedError) as exc:
            return BackendReport(self.name, False, exc.detail, lines)
        except Exception as exc:  # noqa: BLE001 - doctor reports, never raises
            return BackendReport(self.name, False, one_line(self._redact(str(exc))), lines)
        ids = [str(item.get("id")) for item in (body.get("data") or []) if isinstance(item, dict)] \
            if isinstance(body, dict) else []
        if ids and self.config.model not in ids:
            lines.append(f"model {self.config.model!r} is not in the provider's model list")
        return BackendReport(self.name, True, f"reachable, {len(ids)} models listed", lines)

    # --- /images/generations ------------------------------------------------------------------

    def _fields(self, request: GenerationRequest, n: int) -> dict[str, Any]:
        config = self.config
        return images_body(family=self.family, model=config.model, request=request, n=n, size=config.size,
                           quality=config.quality, response_format=config.response_format,
                           output_format=config.output_format, extra=config.extra_body)

    async def _generations(self, request: GenerationRequest, n: int) -> list[GeneratedImage]:
        what = f"POST /images/generations ({self.config.model})"
        path = "/images/generations"
        while True:
            body = self._without_refused(self._fields(request, n), path)
            response, raw = await self._send(path, what, n=n, json=body)
            if response.status_code < 300:
                break
            if self._drop_refused(response.status_code, parse_error_body(raw), body, path, _DROPPABLE):
                continue
            raise self._fail(response, raw, what)
        return await self._images_answer(raw, what)

    # --- /images/edits (reference images) -----------------------------------------------------

    async def _edit(self, request: GenerationRequest, n: int) -> list[GeneratedImage]:
        what = f"POST /images/edits ({self.config.model})"
        path = "/images/edits"
        all_fields = {key: str(value) for key, value in self._fields(request, n).items()
                      if not isinstance(value, (dict, list))}
        field_name = "image[]"
        while True:
            fields = self._without_refused(all_fields, path)
            files = [(field_name, (f"reference{index}.{_extension(data)}", data, sniff_image_mime(data) or
                                   "application/octet-stream"))
                     for index, data in enumerate(request.reference_images, 1)]
            response, raw = await self._send("/images/edits", what, n=n, data=fields, files=files)
            if response.status_code < 300:
                break
            error = parse_error_body(raw)
            if self._drop_refused(response.status_code, error, fields, path, _DROPPABLE):
                continue
            if (response.status_code == 400 and field_name == "image[]" and not is_rejection(error)
                    and not is_quota(error) and "image" in (error.param + " " + error.message).lower()):
                log.info("%s refused the image[] form field; retrying once with image", self.name)
                field_name = "image"
                continue
            raise self._fail(response, raw, what)
        return await self._images_answer(raw, what)

    async def _images_answer(self, raw: bytes, what: str) -> list[GeneratedImage]:
        """The images of an /images/generations or /images/edits answer."""
        answer = await self._json(raw, what)
        refs = refs_from_images_body(answer)
        if not refs:
            raise ProtocolError(f"{what}: answer has no data[].b64_json or url", backend=self.name)
        return await self._materialize(refs, _revised_prompts(answer))

    # --- /chat/completions --------------------------------------------------------------------

    async def _chat(self, request: GenerationRequest) -> list[GeneratedImage]:
        what = f"POST /chat/completions ({self.config.model})"
        host = urlsplit(self._base).hostname or ""
        path = "/chat/completions"
        while True:
            body = self._without_refused(chat_body(self.config, request, host), path)
            response, raw = await self._send(path, what, json=body)
            if response.status_code < 300:
                break
            if self._drop_refused(response.status_code, parse_error_body(raw), body, path, _CHAT_DROPPABLE):
                continue
            raise self._fail(response, raw, what)
        answer = await self._json(raw, what)
        if not isinstance(answer, dict):
            raise ProtocolError(f"{what}: answer is not a JSON object", backend=self.name)
        choices = answer.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            if "error" in answer:
                raise self._fail(_as_failed(response, raw), raw, what)
            raise ProtocolError(f"{what}: answer has no choices", backend=self.name)
        choice = choices[0]
        message = choice.get("message") or {}
        if choice.get("finish_reason") == "content_filter":
            raise ContentRejectedError(f"{what}: finish_reason content_filter", backend=self.name)
        refs = refs_from_chat_message(message, answer)
        text = content_text(message.get("content")) if isinstance(message, dict) else ""
        if not refs:
            refusal = message.get("refusal") if isinstance(message, dict) else None
            if refusal or looks_like_refusal(text):
                said = self._redact(str(refusal or text)[:200])
                raise ContentRejectedError(f"{what}: refused without an image: {said}", backend=self.name)
            said = self._redact(text[:200])
            raise ProtocolError(f"{what}: no image in the answer (text: {said!r})", backend=self.name)
        return await self._materialize(refs, [])

    # --- answers → images ---------------------------------------------------------------------

    async def _materialize(self, refs: list[AnswerImage], revised: list[str]) -> list[GeneratedImage]:
        images = []
        for index, ref in enumerate(refs):
            if ref.data is not None:
                data = await self._decode(ref.data)
                mime = sniff_image_mime(data)
                if not mime:
                    raise ProtocolError("inline image is not a PNG, JPEG, WebP or GIF", backend=self.name)
            else:
                assert ref.url is not None
                data, mime = await download_image(self._client, ref.url, max_bytes=self.config.max_download_bytes,
                                                  backend=self.name, redact=self._redact,
                                                  allowed_origins=[self._base], resolver=self.resolver)
            metadata: dict[str, Any] = {"model": self.config.model}
            if index < len(revised) and revised[index]:
                metadata["revised_prompt"] = revised[index]
            images.append(GeneratedImage(data=data, mime=mime, backend=self.name, metadata=metadata))
        return images

    async def _decode(self, text: str) -> bytes:
        return await decode_base64(text, self.config.max_download_bytes, "inline image", backend=self.name,
                                   strict=False)


def _revised_prompts(answer: Any) -> list[str]:
    items = answer.get("data") if isinstance(answer, dict) else None
    return [str(item.get("revised_prompt") or "") if isinstance(item, dict) else "" for item in items or []]


def _extension(data: bytes) -> str:
    mime = sniff_image_mime(data) or "image/png"
    return {"image/jpeg": "jpg"}.get(mime, mime.split("/")[1])


def _as_failed(response: httpx.Response, raw: bytes) -> httpx.Response:
    """A 200 that carries an error object (OpenRouter does this) is classified like a failed
    answer: with the status its numeric `code` names, else as a 400."""
    code = parse_error_body(raw).code
    status = int(code) if code.isascii() and code.isdigit() and 400 <= int(code) <= 599 else 400
    return httpx.Response(status, headers=response.headers)
