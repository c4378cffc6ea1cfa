"""A loopback fake of ComfyUI's server, written from upstream `server.py`, `execution.py`,
`main.py` and `protocol.py` (Comfy-Org/ComfyUI @ a125cd84; peers-2026-11.md §3.2):

- routes, also mounted under /api (server.py `add_routes`): POST /prompt, GET /history/{id},
  GET|POST /queue, POST /interrupt, GET /view, POST /upload/image, GET /object_info[/{class}],
  GET /system_stats, GET /ws?clientId=;
- POST /prompt validation (execution.py `validate_prompt` / `validate_inputs`): an unknown class is
  400 {"error": {"type": "invalid_prompt", …}, "node_errors": {}}; a missing input or a value not
  in a combo list is 400 {"error": {"type": "prompt_outputs_failed_validation", …},
  "node_errors": {id: {"errors": [{type, message, details, extra_info}], "dependent_outputs",
  "class_type"}}}; otherwise 200 {"prompt_id", "number", "node_errors": {}};
- execution (execution.py `PromptExecutor.execute`, main.py `prompt_worker`): one prompt at a time;
  execution_start, execution_cached (nodes whose inputs did not change since the last run, the
  cache pitfall), executing/progress per node, executed per output node, a binary preview frame
  (protocol.py: 4-byte big-endian type + image), then execution_success, the history entry
  written afterwards (the /history race: main.py writes it in `task_done` after `execute`
  returns), then executing {node: null}; or execution_error / execution_interrupted;
- `status` {"status": {"exec_info": {"queue_remaining"}}, "sid"} first on connect, then broadcast
  without sid on each queue change;
- `old_cache` reproduces servers whose fully cached output nodes report no `executed` and no
  outputs: the job comes back empty-handed unless the client changes the graph.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

CHECKPOINTS = ["v1-5-pruned-emaonly.safetensors", "sd_xl_base_1.0.safetensors", "flux1-dev-fp8.safetensors"]
UNETS = ["flux1-schnell.safetensors", "flux1-dev.safetensors"]

_I = ("INT", {"default": 0})
_F = ("FLOAT", {"default": 1.0})
_S = ("STRING", {"multiline": True})


def _node(required: dict[str, Any], output=(), output_node: bool = False) -> dict[str, Any]:
    return {"input": {"required": required}, "input_order": {"required": list(required)}, "output": list(output),
            "output_node": output_node, "category": "fake"}


NODE_CLASSES: dict[str, dict[str, Any]] = {
    "CheckpointLoaderSimple": _node({"ckpt_name": [CHECKPOINTS]}, ("MODEL", "CLIP", "VAE")),
    "UNETLoader": _node({"unet_name": [UNETS], "weight_dtype": [["default", "fp8_e4m3fn"]]}, ("MODEL",)),
    "DualCLIPLoader": _node({"clip_name1": [["t5xxl_fp8_e4m3fn.safetensors"]], "clip_name2": [["clip_l.safetensors"]],
                             "type": [["flux", "sdxl"]]}, ("CLIP",)),
    "VAELoader": _node({"vae_name": [["ae.safetensors"]]}, ("VAE",)),
    "CLIPTextEncode": _node({"text": _S, "clip": ("CLIP",)}, ("CONDITIONING",)),
    "CLIPTextEncodeFlux": _node({"clip": ("CLIP",), "clip_l": _S, "t5xxl": _S, "guidance": _F}, ("CONDITIONING",)),
    "ConditioningZeroOut": _node({"conditioning": ("CONDITIONING",)}, ("CONDITIONING",)),
    "FluxGuidance": _node({"conditioning": ("CONDITIONING",), "guidance": _F}, ("CONDITIONING",)),
    "PrimitiveStringMultiline": _node({"value": _S}, ("STRING",)),
    "PrimitiveInt": _node({"value": _I}, ("INT",)),
    "Reroute": _node({"input": ("*",)}, ("*",)),
    "EmptyLatentImage": _node({"width": _I, "height": _I, "batch_size": _I}, ("LATENT",)),
    "EmptySD3LatentImage": _node({"width": _I, "height": _I, "batch_size": _I}, ("LATENT",)),
    "LatentUpscale": _node({"samples": ("LATENT",), "upscale_method": [["nearest-exact"]], "width": _I, "height": _I,
                            "crop": [["disabled"]]}, ("LATENT",)),
    "ModelSamplingFlux": _node({"model": ("MODEL",), "max_shift": _F, "base_shift": _F, "width": _I, "height": _I},
                               ("MODEL",)),
    "KSampler": _node({"model": ("MODEL",), "seed": _I, "steps": _I, "cfg": _F, "sampler_name": [["euler", "dpmpp_2m"]],
                       "scheduler": [["normal", "karras", "simple"]], "positive": ("CONDITIONING",),
                       "negative": ("CONDITIONING",), "latent_image": ("LATENT",), "denoise": _F}, ("LATENT",)),
    "KSamplerAdvanced": _node({"model": ("MODEL",), "add_noise": [["enable", "disable"]], "noise_seed": _I, "steps": _I,
                               "cfg": _F, "sampler_name": [["euler", "dpmpp_2m"]], "scheduler": [["normal", "karras"]],
                               "positive": ("CONDITIONING",), "negative": ("CONDITIONING",),
                               "latent_image": ("LATENT",), "start_at_step": _I, "end_at_step": _I,
                               "return_with_leftover_noise": [["disable", "enable"]]}, ("LATENT",)),
    "SamplerCustomAdvanced": _node({"noise": ("NOISE",), "guider": ("GUIDER",), "sampler": ("SAMPLER",),
                                    "sigmas": ("SIGMAS",), "latent_image": ("LATENT",)}, ("LATENT", "LATENT")),
    "RandomNoise": _node({"noise_seed": _I}, ("NOISE",)),
    "KSamplerSelect": _node({"sampler_name": [["euler"]]}, ("SAMPLER",)),
    "BasicScheduler": _node({"model": ("MODEL",), "scheduler": [["simple", "normal"]], "steps": _I, "denoise": _F},
                            ("SIGMAS",)),
    "BasicGuider": _node({"model": ("MODEL",), "conditioning": ("CONDITIONING",)}, ("GUIDER",)),
    "CFGGuider": _node({"model": ("MODEL",), "positive": ("CONDITIONING",), "negative": ("CONDITIONING",), "cfg": _F},
                       ("GUIDER",)),
    "VAEDecode": _node({"samples": ("LATENT",), "vae": ("VAE",)}, ("IMAGE",)),
    "VAEEncode": _node({"pixels": ("IMAGE",), "vae": ("VAE",)}, ("LATENT",)),
    "LoadImage": _node({"image": [["example.png"]]}, ("IMAGE", "MASK")),
    "SaveImage": _node({"images": ("IMAGE",), "filename_prefix": ("STRING", {"default": "ComfyUI"})}, (), True),
    "PreviewImage": _node({"images": ("IMAGE",)}, (), True),
}
SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustomAdvanced")
STEPS_OF = {"KSampler": "steps", "KSamplerAdvanced": "steps"}


def png(width: int, height: int, color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (max(1, width), max(1, height)), color).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class FakeComfyUI:
    websocket: bool = True
    step_delay: float = 0.0
    history_delay: float = 0.3  # between execution_success and the history entry (the race)
    old_cache: bool = False
    previews: bool = True
    fail_class: Optional[str] = None  # a node of this class raises during execution
    fail_message: str = "Error while deserializing header: HeaderTooLarge"
    fail_type: str = "safetensors_rust.SafetensorError"
    object_info_listing: bool = True  # False: only GET /object_info/{class} answers
    queue_listing: bool = True  # False: GET /queue answers 404 (a proxy that only forwards some routes)
    proxy_auth: Optional[str] = None  # "Basic …" a reverse proxy in front (nginx auth_basic) requires
    prompts: list[dict[str, Any]] = field(default_factory=list)  # POST /prompt bodies accepted
    interrupts: list[Any] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    files: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    ws_messages: list[tuple[str, dict]] = field(default_factory=list)  # (client_id, message) delivered

    def __post_init__(self) -> None:
        self.classes = copy.deepcopy(NODE_CLASSES)
        self.sockets: dict[str, WebSocket] = {}
        self.pending: list[tuple[float, str, dict, dict]] = []
        self.running: Optional[tuple[float, str, dict, dict]] = None
        self.number = 0
        self.signatures: dict[str, Any] = {}
        self.ui_cache: dict[str, Any] = {}
        self.interrupted = False
        self.wakeup: Optional[asyncio.Event] = None
        self.worker: Optional[asyncio.Task] = None
        self.counter = 0
        self.authorized = 0

    # --- websocket ------------------------------------------------------------------------------

    async def ws(self, websocket: WebSocket) -> None:
        if not self.websocket:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        sid = websocket.query_params.get("clientId") or uuid.uuid4().hex
        self.sockets[sid] = websocket
        try:
            await self.send("status", {"status": self.queue_info(), "sid": sid}, sid)
            while True:
                await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if self.sockets.get(sid) is websocket:
                self.sockets.pop(sid, None)

    async def send(self, event: str, data: dict, sid: Optional[str] = None) -> None:
        message = {"type": event, "data": data}
        targets = [sid] if sid is not None else list(self.sockets)
        for target in targets:
            socket = self.sockets.get(target)
            if socket is not None:
                self.ws_messages.append((target, message))
                try:
                    await socket.send_text(json.dumps(message))
                except Exception:  # noqa: BLE001 - send_socket_catch_exception
                    pass

    async def send_preview(self, sid: str) -> None:
        socket = self.sockets.get(sid)
        if socket is not None:
            try:
                await socket.send_bytes(struct.pack(">I", 1) + struct.pack(">I", 1) + png(16, 16, (9, 9, 9)))
            except Exception:  # noqa: BLE001
                pass

    def queue_info(self) -> dict:
        return {"exec_info": {"queue_remaining": len(self.pending) + (1 if self.running else 0)}}

    async def queue_updated(self) -> None:
        await self.send("status", {"status": self.queue_info()})

    # --- validation (execution.validate_prompt) -----------------------------------------------------

    def validate(self, prompt: dict[str, Any]) -> tuple[Optional[dict], dict, list[str]]:
        for node_id, node in prompt.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return ({"type": "invalid_prompt", "message": "Cannot execute because a node is missing the "
                         "class_type property.", "details": f"Node ID '#{node_id}'", "extra_info": {}}, {}, [])
            if node["class_type"] not in self.classes:
                return ({"type": "invalid_prompt", "message": f"Cannot execute because node {node['class_type']} "
                         "does not exist.", "details": f"Node ID '#{node_id}'", "extra_info": {}}, {}, [])
        outputs = [i for i, n in prompt.items() if self.classes[n["class_type"]]["output_node"]]
        if not outputs:
            return ({"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": "",
                     "extra_info": {}}, {}, [])
        node_errors: dict[str, Any] = {}
        for node_id, node in prompt.items():
            errors = []
            required = self.classes[node["class_type"]]["input"]["required"]
            for name, spec in required.items():
                if name not in node.get("inputs", {}):
                    errors.append({"type": "required_input_missing", "message": "Required input is missing",
                                   "details": name, "extra_info": {"input_name": name}})
                    continue
                value = node["inputs"][name]
                if isinstance(value, list):
                    if len(value) != 2 or str(value[0]) not in prompt:
                        errors.append({"type": "bad_linked_input", "message": "Bad linked input, must be a length-2 "
                                       "list of [node_id, slot_index]", "details": name,
                                       "extra_info": {"input_name": name, "received_value": value}})
                elif isinstance(spec[0], list) and value not in spec[0]:
                    errors.append({"type": "value_not_in_list", "message": "Value not in list",
                                   "details": f"{name}: '{value}' not in {spec[0]}",
                                   "extra_info": {"input_name": name, "input_config": spec, "received_value": value}})
            if errors:
                node_errors[node_id] = {"errors": errors, "dependent_outputs": outputs, "class_type": node["class_type"]}
        if node_errors:
            return ({"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                     "details": "", "extra_info": {}}, node_errors, outputs)
        return None, {}, outputs

    # --- routes -------------------------------------------------------------------------------------

    async def post_prompt(self, request: Request) -> Response:
        body = await request.json()
        if "prompt" not in body:
            return JSONResponse({"error": {"type": "no_prompt", "message": "No prompt provided", "details": "",
                                           "extra_info": {}}, "node_errors": {}}, status_code=400)
        error, node_errors, outputs = self.validate(body["prompt"])
        if error:
            return JSONResponse({"error": error, "node_errors": node_errors}, status_code=400)
        prompt_id = str(uuid.uuid4())
        number = self.number
        self.number += 1
        self.prompts.append(body)
        self.pending.append((number, prompt_id, body["prompt"], {"client_id": body.get("client_id")}))
        if self.worker is None:
            self.wakeup = asyncio.Event()
            self.worker = asyncio.ensure_future(self.prompt_worker())
        self.wakeup.set()
        await self.queue_updated()
        return JSONResponse({"prompt_id": prompt_id, "number": number, "node_errors": {}})

    async def get_history(self, request: Request) -> Response:
        prompt_id = request.path_params["prompt_id"]
        return JSONResponse({prompt_id: self.history[prompt_id]} if prompt_id in self.history else {})

    async def get_queue(self, request: Request) -> Response:
        if not self.queue_listing:
            return Response(status_code=404)
        item = lambda entry: [entry[0], entry[1], entry[2], entry[3], []]  # noqa: E731
        return JSONResponse({"queue_running": [item(self.running)] if self.running else [],
                             "queue_pending": [item(entry) for entry in self.pending]})

    async def post_queue(self, request: Request) -> Response:
        body = await request.json()
        if body.get("clear"):
            self.pending.clear()
        for prompt_id in body.get("delete") or []:
            self.deletes.append(prompt_id)
            self.pending = [entry for entry in self.pending if entry[1] != prompt_id]
        await self.queue_updated()
        return Response(status_code=200)

    async def post_interrupt(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        self.interrupts.append(body)
        wanted = body.get("prompt_id") if isinstance(body, dict) else None
        if self.running and (wanted is None or wanted == self.running[1]):
            self.interrupted = True
        return Response(status_code=200)

    async def view(self, request: Request) -> Response:
        query = request.query_params
        filename = query.get("filename", "")
        if not filename or filename.startswith("/") or ".." in filename:
            return Response(status_code=400)
        subfolder = query.get("subfolder", "")
        if ".." in subfolder or subfolder.startswith("/"):
            return Response(status_code=403)
        data = self.files.get((query.get("type", "output"), subfolder, filename))
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="image/png", headers={"Content-Disposition": f'filename="{filename}"'})

    async def upload_image(self, request: Request) -> Response:
        form = await request.form()
        image = form.get("image")
        if image is None or not getattr(image, "filename", ""):
            return Response(status_code=400)
        subfolder = str(form.get("subfolder") or "")
        data = await image.read()
        self.uploads[f"{subfolder}/{image.filename}" if subfolder else image.filename] = data
        self.classes["LoadImage"]["input"]["required"]["image"][0].append(image.filename)
        return JSONResponse({"name": image.filename, "subfolder": subfolder, "type": form.get("type") or "input"})

    async def object_info(self, request: Request) -> Response:
        name = request.path_params.get("node_class")
        if name is None:
            return JSONResponse(self.classes) if self.object_info_listing else Response(status_code=404)
        return JSONResponse({name: self.classes[name]} if name in self.classes else {})

    async def system_stats(self, request: Request) -> Response:
        return JSONResponse({"system": {"os": "posix", "comfyui_version": "0.3.64", "python_version": "3.12.3",
                                        "pytorch_version": "2.8.0", "embedded_python": False, "argv": ["main.py"]},
                             "devices": [{"name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", "type": "cuda",
                                          "index": 0, "vram_total": 25386352640, "vram_free": 24000000000}]})

    # --- execution (main.prompt_worker + execution.PromptExecutor) ---------------------------------

    async def prompt_worker(self) -> None:
        while True:
            if not self.pending:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            self.pending.sort(key=lambda entry: entry[0])
            self.running = self.pending.pop(0)
            number, prompt_id, prompt, extra = self.running
            sid = extra.get("client_id")
            self.interrupted = False
            messages, outputs, status = await self.execute(prompt_id, prompt, sid)
            await self.send("execution_success", {"prompt_id": prompt_id, "timestamp": 0}, sid) \
                if status == "success" else None
            messages.append(["execution_success", {"prompt_id": prompt_id}]) if status == "success" else None
            await asyncio.sleep(self.history_delay)  # the window between the message and task_done
            self.history[prompt_id] = {
                "prompt": [number, prompt_id, prompt, extra, []], "outputs": outputs, "meta": {},
                "status": {"status_str": status, "completed": status == "success", "messages": messages}}
            self.running = None
            await self.send("executing", {"node": None, "prompt_id": prompt_id}, sid)
            await self.queue_updated()

    def signature(self, prompt: dict, node_id: str, memo: dict) -> Any:
        if node_id not in memo:
            node = prompt[node_id]
            memo[node_id] = (node["class_type"], tuple(sorted(
                (name, self.signature(prompt, str(value[0]), memo) if isinstance(value, list) else json.dumps(value))
                for name, value in node["inputs"].items())))
        return memo[node_id]

    async def execute(self, prompt_id: str, prompt: dict, sid: Optional[str]):
        messages: list = [["execution_start", {"prompt_id": prompt_id}]]
        await self.send("execution_start", {"prompt_id": prompt_id, "timestamp": 0}, sid)
        memo: dict = {}
        signatures = {node_id: self.signature(prompt, node_id, memo) for node_id in prompt}
        cached = sorted(node_id for node_id, sig in signatures.items() if self.signatures.get(node_id) == sig)
        messages.append(["execution_cached", {"nodes": cached, "prompt_id": prompt_id}])
        await self.send("execution_cached", {"nodes": cached, "prompt_id": prompt_id}, sid)
        outputs: dict[str, Any] = {}
        for node_id in self.order(prompt):
            node = prompt[node_id]
            is_output = self.classes[node["class_type"]]["output_node"]
            if node_id in cached:
                if is_output and not self.old_cache and node_id in self.ui_cache:
                    outputs[node_id] = self.ui_cache[node_id]
                    await self.send("executed", {"node": node_id, "display_node": node_id,
                                                 "output": self.ui_cache[node_id], "prompt_id": prompt_id}, sid)
                continue
            await self.send("executing", {"node": node_id, "display_node": node_id, "prompt_id": prompt_id}, sid)
            if node["class_type"] == self.fail_class:
                error = {"prompt_id": prompt_id, "node_id": node_id, "node_type": node["class_type"],
                         "executed": [], "exception_message": self.fail_message, "exception_type": self.fail_type,
                         "traceback": ["  File \"execution.py\", line 496, in execute\n"], "current_inputs": {},
                         "current_outputs": {}, "timestamp": 0}
                await self.send("execution_error", error, sid)
                messages.append(["execution_error", error])
                self.signatures = {}
                return messages, outputs, "error"
            if node["class_type"] in SAMPLERS:
                steps = self.steps_of(prompt, node_id)
                for step in range(1, steps + 1):
                    if self.interrupted:
                        data = {"prompt_id": prompt_id, "node_id": node_id, "node_type": node["class_type"],
                                "executed": [], "timestamp": 0}
                        await self.send("execution_interrupted", data, sid)
                        messages.append(["execution_interrupted", data])
                        self.signatures = {}
                        return messages, outputs, "error"
                    await asyncio.sleep(self.step_delay)
                    await self.send("progress", {"value": step, "max": steps, "prompt_id": prompt_id,
                                                 "node": node_id}, sid)
                    if self.previews and sid:
                        await self.send_preview(sid)
            if is_output:
                ui = {"images": self.save_images(prompt, node_id)}
                self.ui_cache[node_id] = ui
                outputs[node_id] = ui
                await self.send("executed", {"node": node_id, "display_node": node_id, "output": ui,
                                             "prompt_id": prompt_id}, sid)
        self.signatures = signatures
        return messages, outputs, "success"

    def order(self, prompt: dict) -> list[str]:
        done: list[str] = []

        def visit(node_id: str) -> None:
            if node_id in done:
                return
            for value in prompt[node_id]["inputs"].values():
                if isinstance(value, list):
                    visit(str(value[0]))
            done.append(node_id)

        for node_id in prompt:
            visit(node_id)
        return done

    def upstream(self, prompt: dict, node_id: str, classes) -> Optional[str]:
        stack, seen = [node_id], set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if prompt[current]["class_type"] in classes and current != node_id:
                return current
            stack.extend(str(v[0]) for v in prompt[current]["inputs"].values() if isinstance(v, list))
        return None

    def steps_of(self, prompt: dict, sampler: str) -> int:
        inputs = prompt[sampler]["inputs"]
        if "steps" in inputs:
            return int(self.resolve(prompt, inputs["steps"]))
        sigmas = inputs.get("sigmas")
        return int(self.resolve(prompt, prompt[str(sigmas[0])]["inputs"]["steps"])) if sigmas else 1

    def resolve(self, prompt: dict, value: Any) -> Any:
        while isinstance(value, list):
            value = next(iter(prompt[str(value[0])]["inputs"].values()))
        return value

    def save_images(self, prompt: dict, node_id: str) -> list[dict]:
        latent = self.upstream(prompt, node_id, ("EmptyLatentImage", "EmptySD3LatentImage", "LatentUpscale"))
        width = height = 512
        batch = 1
        if latent:
            inputs = prompt[latent]["inputs"]
            width, height = self.resolve(prompt, inputs["width"]), self.resolve(prompt, inputs["height"])
            batch = self.resolve(prompt, inputs.get("batch_size", 1))
        node = prompt[node_id]
        kind = "output" if node["class_type"] == "SaveImage" else "temp"
        prefix = self.resolve(prompt, node["inputs"].get("filename_prefix", "ComfyUI_temp"))
        images = []
        for _ in range(batch):
            self.counter += 1
            filename = f"{prefix}_{self.counter:05}_.png"
            self.files[(kind, "", filename)] = png(width // 8, height // 8, (self.counter * 40 % 255, 90, 200))
            images.append({"filename": filename, "subfolder": "", "type": kind})
        return images

    def app(self) -> Starlette:
        routes = [
            ("/prompt", self.post_prompt, ["POST"]), ("/history/{prompt_id}", self.get_history, ["GET"]),
            ("/queue", self.get_queue, ["GET"]), ("/queue", self.post_queue, ["POST"]),
            ("/interrupt", self.post_interrupt, ["POST"]), ("/view", self.view, ["GET"]),
            ("/upload/image", self.upload_image, ["POST"]), ("/object_info", self.object_info, ["GET"]),
            ("/object_info/{node_class}", self.object_info, ["GET"]), ("/system_stats", self.system_stats, ["GET"]),
        ]
        table = []
        for prefix in ("", "/api"):
            table += [Route(prefix + path, handler, methods=methods) for path, handler, methods in routes]
            table.append(WebSocketRoute(prefix + "/ws", self.ws))
        app = Starlette(routes=table)

        async def reverse_proxy(scope, receive, send):
            if self.proxy_auth and scope["type"] in ("http", "websocket"):
                headers = dict(scope.get("headers") or [])
                if headers.get(b"authorization", b"").decode() != self.proxy_auth:
                    if scope["type"] == "websocket":
                        await send({"type": "websocket.close", "code": 1008})
                        return
                    response = Response("401 Authorization Required", status_code=401,
                                        headers={"WWW-Authenticate": 'Basic realm="comfy"'})
                    await response(scope, receive, send)
                    return
                self.authorized += 1
            await app(scope, receive, send)

        return reverse_proxy
