"""The remote engine: the Hugging Face Inference API, text-to-image, with the Space secret HF_TOKEN.

POST {INFERENCE_API_URL}/models/{MODEL_ID} with {"inputs": prompt, "parameters": {...}}; the answer
is the image's bytes, or JSON {"error": ..., "estimated_time": ...} (503 while the model loads).
One request per image (the API draws one), seeds counting up from the job's seed.
"""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any, Optional

import httpx
from PIL import Image

from app_checks import EngineError, Job, NsfwError
from app_diffusers import Output
from app_settings import Family, Settings

log = logging.getLogger("llm2pic.space")
MAX_IMAGE_BYTES = 30 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024
LOADING_WAIT = 60.0  # longest wait for a loading model within one call
LOADING_PAUSE = 10.0


class InferenceEngine:
    name = "inference"
    device = "Hugging Face Inference API"

    def __init__(self, settings: Settings) -> None:
        self.family: Family = settings.family()
        self._url = f"{settings.inference_url}/models/{settings.model_id}"
        self._token = settings.hf_token
        self._client = httpx.Client(timeout=httpx.Timeout(120.0, connect=10.0), follow_redirects=False,
                                    trust_env=False)
        self.description = (f"{settings.model_id} through the Inference API at {settings.inference_url} "
                            f"(family {self.family.name}, token {'set' if self._token else 'not set'})")
        log.info("using %s", self.description)

    def generate(self, job: Job) -> Output:
        images = [self._one(job, job.seed + i) for i in range(job.count)]
        return Output(images, [False] * len(images))

    def _one(self, job: Job, seed: int) -> Image.Image:
        parameters: dict[str, Any] = {
            "guidance_scale": job.guidance_scale, "num_inference_steps": job.num_inference_steps,
            "width": job.width, "height": job.height, "seed": seed,
        }
        if job.negative_prompt:
            parameters["negative_prompt"] = job.negative_prompt
        headers = {"accept": "image/png"}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        give_up = time.monotonic() + LOADING_WAIT
        while True:
            status, content_type, body = self._post({"inputs": job.prompt, "parameters": parameters}, headers)
            if status == 200 and not content_type.startswith("application/json"):
                return _image(body)
            message, estimated = _error_fields(body)
            if status == 503 and (estimated is not None or "loading" in message.lower()):
                remaining = give_up - time.monotonic()
                # Wait while the model may be ready within this call; an estimate beyond it fails now.
                if (estimated is None or estimated <= remaining) and remaining > 0:
                    time.sleep(min(estimated if estimated is not None else LOADING_PAUSE, LOADING_PAUSE, remaining))
                    continue
                about = f" (about {estimated:.0f} s more)" if estimated is not None else ""
                raise EngineError(f"模型正在加载，请稍后再试 / The model is still loading on the Inference API{about}; "
                                  "try again shortly.")
            raise _error(status, message)

    def _post(self, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, str, bytes]:
        try:
            with self._client.stream("POST", self._url, json=payload, headers=headers) as response:
                content_type = response.headers.get("content-type", "").lower()
                limit = MAX_IMAGE_BYTES if response.status_code == 200 else MAX_ERROR_BYTES
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise EngineError(f"The Inference API answer is larger than {limit} bytes; refused.")
                return response.status_code, content_type, bytes(body)
        except httpx.TimeoutException:
            raise EngineError("The Inference API did not answer in time; try again later.") from None
        except httpx.TransportError as exc:
            raise EngineError(f"Cannot reach the Inference API ({type(exc).__name__}); try again later.") from None


def _image(body: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(body))
        image.load()
    except Exception:  # PIL raises many kinds for a broken file
        raise EngineError("The Inference API answered with something that is not an image.") from None
    return image.convert("RGB")


def _error_fields(body: bytes) -> tuple[str, Optional[float]]:
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return body[:200].decode("utf-8", "replace"), None
    if not isinstance(data, dict):
        return "", None
    error = data.get("error")
    if isinstance(error, list):
        error = "; ".join(str(item) for item in error)
    estimated = data.get("estimated_time")
    estimated = float(estimated) if isinstance(estimated, (int, float)) and not isinstance(estimated, bool) else None
    return " ".join(str(error or "").split())[:300], estimated


def _error(status: int, message: str) -> Exception:
    detail = f": {message}" if message else ""
    if status in (401, 403):
        return EngineError(f"The Inference API refused the token (HTTP {status}): set the Space secret HF_TOKEN to a "
                           "token with the Inference Providers permission.")
    if status == 402:
        return EngineError(f"Inference API quota exhausted (HTTP 402){detail}; try again later.")
    if status == 429:
        return EngineError(f"Inference API quota exceeded: rate limited (HTTP 429){detail}; try again later.")
    if "nsfw" in message.lower() or "safety checker" in message.lower():
        return NsfwError()
    if status == 404:
        return EngineError(f"The Inference API does not serve this model (HTTP 404){detail}; check MODEL_ID.")
    return EngineError(f"The Inference API failed (HTTP {status}){detail}.")
