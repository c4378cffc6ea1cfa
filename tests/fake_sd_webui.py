"""A loopback fake of the AUTOMATIC1111 / Forge `--api`, written from the upstream source:

- AUTOMATIC1111 `modules/api/api.py` (routes, `api_middleware.handle_exception` error shape
  {error, detail, body, errors}, `auth` → 401 "Incorrect username or password" with
  WWW-Authenticate: Basic, `text2imgapi`/`img2imgapi` under one `queue_lock`, `progressapi`,
  `validate_sampler_name` → 404 "Sampler not found", `init_script_args` → 422 "always on script …
  not found", `img2imgapi` → 404 "Init image not found", `decode_base64_to_image` → 500 "Invalid
  encoded image", `encode_pil_to_base64` → bare base64 PNG);
- `modules/api/models.py` (TextToImageResponse {images, parameters, info: JSON string of
  `processed.js()`}, ProgressResponse {progress, eta_relative, state, current_image, textinfo,
  current_task});
- FastAPI's request validation (422 {"detail": [{"loc": ["body", field], "msg", "type"}]}) and
  HTTPBasic (401 {"detail": "Not authenticated"} without credentials);
- a CUDA out-of-memory during processing, which the middleware returns as a 500 with
  error "OutOfMemoryError" and the torch message in `errors`;
- Forge (`lllyasviel/stable-diffusion-webui-forge` `modules/api/api.py`): middleware commented
  out, so an unexpected exception is a plain-text 500 "Internal Server Error", and
  /sdapi/v1/progress needs no auth.
peers-2026-11.md §3.1 summarises these.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

SAMPLERS = [{"name": "Euler a", "aliases": ["k_euler_a"], "options": {}},
            {"name": "DPM++ 2M", "aliases": ["k_dpmpp_2m"], "options": {}}]
CHECKPOINTS = ["sd_xl_base_1.0.safetensors [31e35c80fc]", "v1-5-pruned-emaonly.safetensors [6ce0161689]"]
_INT_FIELDS = ("steps", "width", "height", "batch_size", "n_iter", "seed")
_NUMBER_FIELDS = ("cfg_scale", "denoising_strength")
_DICT_FIELDS = ("override_settings", "alwayson_scripts")


def png(width: int, height: int, color=(200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class FakeSDWebUI:
    auth: Optional[tuple[str, str]] = None
    forge: bool = False
    api: bool = True
    step_delay: float = 0.0  # seconds per sampling step
    default_steps: int = 20
    oom_pixels: int = 10**12  # width * height * batch_size above this → CUDA out of memory
    extra_script_images: int = 0  # e.g. ControlNet detected maps appended after the results
    reports_current_task: bool = True  # A1111 1.6+ has ProgressResponse.current_task
    lists_schedulers: bool = True  # GET /sdapi/v1/schedulers arrived in A1111 1.9; older ones answer 404
    always_on_scripts: tuple[str, ...] = ("controlnet",)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    interrupts: int = 0
    current_checkpoint: str = CHECKPOINTS[0]
    # shared.state, as progressapi reads it
    job_count: int = 0
    sampling_step: int = 0
    sampling_steps: int = 0
    current_task: Optional[str] = None
    time_start: float = 0.0
    interrupted: bool = False

    def __post_init__(self) -> None:
        self.queue_lock = asyncio.Lock()

    # --- helpers --------------------------------------------------------------------------------

    def _error(self, status: int, name: str, detail: str = "", errors: str = "", headers=None) -> Response:
        if self.forge and name != "HTTPException":
            return PlainTextResponse("Internal Server Error", status_code=500)
        body = {"error": name, "detail": detail, "body": "", "errors": errors or (f"{status}: {detail}" if detail else "")}
        return JSONResponse(body, status_code=status, headers=headers)

    def _check_auth(self, request: Request) -> Optional[Response]:
        if not self.auth:
            return None
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return JSONResponse({"detail": "Not authenticated"}, status_code=401,
                                headers={"WWW-Authenticate": "Basic"})
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        if (user, password) != self.auth:
            return self._error(401, "HTTPException", "Incorrect username or password",
                               headers={"WWW-Authenticate": "Basic"})
        return None

    def _guard(self, request: Request, *, auth: bool = True) -> Optional[Response]:
        if not self.api:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return self._check_auth(request) if auth else None

    @staticmethod
    def _validate(body: Any) -> Optional[Response]:
        """FastAPI + pydantic v1 request validation, for the fields our client sends."""
        if not isinstance(body, dict):
            return JSONResponse({"detail": [{"loc": ["body"], "msg": "value is not a valid dict",
                                             "type": "type_error.dict"}]}, status_code=422)
        problems = []
        for name in _INT_FIELDS:
            if name in body and (not isinstance(body[name], int) or isinstance(body[name], bool)):
                problems.append({"loc": ["body", name], "msg": "value is not a valid integer",
                                 "type": "type_error.integer"})
        for name in _NUMBER_FIELDS:
            if name in body and body[name] is not None and not isinstance(body[name], (int, float)):
                problems.append({"loc": ["body", name], "msg": "value is not a valid float", "type": "type_error.float"})
        for name in _DICT_FIELDS:
            if name in body and not isinstance(body[name], dict):
                problems.append({"loc": ["body", name], "msg": "value is not a valid dict", "type": "type_error.dict"})
        if problems:
            return JSONResponse({"detail": problems}, status_code=422)
        return None

    # --- routes ---------------------------------------------------------------------------------

    async def txt2img(self, request: Request) -> Response:
        return await self._process(request, "txt2img")

    async def img2img(self, request: Request) -> Response:
        return await self._process(request, "img2img")

    async def _process(self, request: Request, mode: str) -> Response:
        refused = self._guard(request)
        if refused:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"detail": [{"loc": ["body"], "msg": "invalid json", "type": "value_error"}]},
                                status_code=422)
        self.requests.append((mode, request.headers.get("authorization", ""), body))
        invalid = self._validate(body)
        if invalid:
            return invalid
        sampler = body.get("sampler_name") or body.get("sampler_index") or "Euler"
        if sampler not in [s["name"] for s in SAMPLERS] + ["Euler"]:
            return self._error(404, "HTTPException", "Sampler not found")
        for script in (body.get("alwayson_scripts") or {}):
            if script.lower() not in self.always_on_scripts:
                return self._error(422, "HTTPException", f"always on script {script} not found")
        if mode == "img2img":
            if not body.get("init_images"):
                return self._error(404, "HTTPException", "Init image not found")
            for encoded in body["init_images"]:
                try:
                    Image.open(io.BytesIO(base64.b64decode(encoded.split(",")[-1]))).verify()
                except Exception:  # noqa: BLE001 - what decode_base64_to_image does
                    return self._error(500, "HTTPException", "Invalid encoded image")
        width, height = body.get("width", 512), body.get("height", 512)
        batch = body.get("batch_size", 1) * body.get("n_iter", 1)
        steps = body.get("steps", self.default_steps)
        seed = body.get("seed", -1)
        seed = random.randint(0, 2**32 - 1) if seed in (-1, None) else seed
        checkpoint = (body.get("override_settings") or {}).get("sd_model_checkpoint") or self.current_checkpoint
        if not any(title.startswith(checkpoint) for title in CHECKPOINTS):
            # Forge's text2imgapi → main_entry.checkpoint_change; A1111's opts.set → RuntimeError
            return self._error(500, "RuntimeError", errors=f"model {checkpoint!r} not found")
        async with self.queue_lock:  # `with self.queue_lock:` around process_images
            self.job_count, self.sampling_step, self.sampling_steps = 1, 0, steps
            self.current_task = body.get("force_task_id") or f"task({random.randrange(10**9)})"
            self.time_start, self.interrupted = time.time(), False
            try:
                if width * height * batch > self.oom_pixels:
                    await asyncio.sleep(self.step_delay)
                    return self._error(500, "OutOfMemoryError", errors=(
                        "CUDA out of memory. Tried to allocate 2.50 GiB (GPU 0; 7.79 GiB total capacity; "
                        "4.12 GiB already allocated; 1.02 GiB free; 5.40 GiB reserved in total by PyTorch)"))
                for step in range(1, steps + 1):
                    if self.interrupted:
                        break
                    await asyncio.sleep(self.step_delay)
                    self.sampling_step = step
            finally:
                self.job_count, self.current_task = 0, None
        images = [base64.b64encode(png(width // 8, height // 8)).decode() for _ in range(batch)]
        images += [base64.b64encode(png(8, 8, (0, 0, 0))).decode() for _ in range(self.extra_script_images)]
        info = {
            "prompt": body.get("prompt", ""), "all_prompts": [body.get("prompt", "")] * batch,
            "negative_prompt": body.get("negative_prompt", ""), "seed": seed,
            "all_seeds": [seed + index for index in range(batch)], "subseed": 1234, "width": width,
            "height": height, "sampler_name": sampler, "cfg_scale": body.get("cfg_scale", 7.0), "steps": steps,
            "batch_size": body.get("batch_size", 1), "sd_model_name": checkpoint.split(".")[0],
            "index_of_first_image": 0, "infotexts": [f"{body.get('prompt', '')}\nSteps: {steps}"] * batch,
        }
        echo = {key: value for key, value in body.items() if key != "init_images"}
        return JSONResponse({"images": images, "parameters": echo, "info": json.dumps(info)})

    async def progress(self, request: Request) -> Response:
        refused = self._guard(request, auth=not self.forge)
        if refused:
            return refused
        state = {"skipped": False, "interrupted": self.interrupted, "job": "", "job_count": self.job_count,
                 "job_timestamp": "20261127000000", "job_no": 0, "sampling_step": self.sampling_step,
                 "sampling_steps": self.sampling_steps}
        answer: dict[str, Any] = {"progress": 0, "eta_relative": 0, "state": state, "current_image": None,
                                  "textinfo": None}
        if self.job_count:
            done = 0.01 + (self.sampling_step / self.sampling_steps if self.sampling_steps else 0)
            elapsed = time.time() - self.time_start
            answer["progress"] = min(done, 1)
            answer["eta_relative"] = elapsed / done - elapsed
        if self.reports_current_task:
            answer["current_task"] = self.current_task
        return JSONResponse(answer)

    async def interrupt(self, request: Request) -> Response:
        refused = self._guard(request)
        if refused:
            return refused
        self.interrupts += 1
        self.interrupted = True
        return JSONResponse({})

    async def options(self, request: Request) -> Response:
        return self._guard(request) or JSONResponse({"sd_model_checkpoint": self.current_checkpoint,
                                                     "samples_format": "png"})

    async def sd_models(self, request: Request) -> Response:
        return self._guard(request) or JSONResponse([
            {"title": title, "model_name": title.split(".")[0], "hash": title[-11:-1], "sha256": None,
             "filename": f"/models/Stable-diffusion/{title.split(' ')[0]}", "config": None} for title in CHECKPOINTS])

    async def samplers(self, request: Request) -> Response:
        return self._guard(request) or JSONResponse(SAMPLERS)

    async def schedulers(self, request: Request) -> Response:
        # api.py get_schedulers: [SchedulerItem{name, label, aliases, default_rho, need_inner_model}]
        if not self.lists_schedulers:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return self._guard(request) or JSONResponse([
            {"name": name, "label": label, "aliases": aliases, "default_rho": -1, "need_inner_model": False}
            for name, label, aliases in (("automatic", "Automatic", None), ("karras", "Karras", None),
                                         ("exponential", "Exponential", None), ("sgm_uniform", "SGM Uniform",
                                                                                ["SGMUniform"]))])

    async def sysinfo(self, request: Request) -> Response:
        if self.forge:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return JSONResponse({"Platform": "Linux", "Version": "v1.10.1", "Commit": "82a973c04367123ae98bd9abdf80d9eda9b910e2"})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/sdapi/v1/txt2img", self.txt2img, methods=["POST"]),
            Route("/sdapi/v1/img2img", self.img2img, methods=["POST"]),
            Route("/sdapi/v1/progress", self.progress, methods=["GET"]),
            Route("/sdapi/v1/interrupt", self.interrupt, methods=["POST"]),
            Route("/sdapi/v1/options", self.options, methods=["GET"]),
            Route("/sdapi/v1/sd-models", self.sd_models, methods=["GET"]),
            Route("/sdapi/v1/samplers", self.samplers, methods=["GET"]),
            Route("/sdapi/v1/schedulers", self.schedulers, methods=["GET"]),
            Route("/internal/sysinfo", self.sysinfo, methods=["GET"]),
        ])
