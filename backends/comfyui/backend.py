"""ComfyUI backend: fill the workflow for the request, POST /prompt with our client_id, follow it
over the websocket (or /history polling), fetch the images through /view.

The seed is always set (random unless the request asks for one): ComfyUI answers an identical
graph from its cache without drawing again. If a graph still comes back without images because
everything was cached (a fixed seed asked twice), it is sent once more with SaveImage's
filename_prefix changed, which makes the output node run again without changing the picture.
On cancellation (deadline) the prompt is removed from the queue or interrupted, whichever applies.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from pathlib import Path
from typing import Any, Mapping, Optional

import httpx

from ...redaction import redact
from ...config.secrets import secret_from
from ..base import Backend, BackendReport, GeneratedImage, GenerationRequest, ProgressCallback, no_progress
from ...errors import BackendError, ConfigurationError, ProtocolError, ReferenceUnsupported
from ..selfhosted import best_effort, encode_base64, random_seed, within_timeout
from .api import ComfyAPI
from .watch import Outcome, Watcher, open_websocket
from .workflow import Workflow, load_workflow

log = logging.getLogger(__name__)

# Relative workflow paths are looked up in the working directory, then in the plugin folder.
_PLUGIN_ROOT = Path(__file__).resolve().parents[2]
_REMEMBERED_GRAPHS = 32


class ComfyUIBackend(Backend):
    def __init__(self, config, client: httpx.AsyncClient, *, environ: Mapping[str, str]) -> None:
        self.config = config
        self.name = config.name
        self.paid = config.paid
        self.prompt_languages = frozenset(config.prompt_languages or ["en"])
        password = secret_from(config.password, config.password_env, environ, strip=False)
        auth = httpx.BasicAuth(config.username, password) if config.username else None
        basic = encode_base64(f"{config.username}:{password}".encode())
        # Sent on the websocket handshake too (a reverse proxy checks it there as well).
        self._auth_header = {"authorization": f"Basic {basic}"} if auth else {}
        secrets = [password, basic] if auth and password else []
        self._redact = lambda text: redact(text, secrets)
        self.api = ComfyAPI(client, config.base_url, backend=self.name, max_image_bytes=config.max_download_bytes,
                            redact=self._redact, connect_timeout=config.connect_timeout, auth=auth)
        self._workflow: Optional[Workflow] = None
        self._earlier_outputs: dict[str, dict[str, Any]] = {}

    @property
    def workflow(self) -> Workflow:
        """The workflow, loaded on first use (a bad file is a ConfigurationError of this backend only)."""
        if self._workflow is None:
            try:
                self._workflow = load_workflow(self.config.workflow, self.config.nodes, search=[_PLUGIN_ROOT])
            except ConfigurationError as exc:
                raise ConfigurationError(exc.detail, backend=self.name) from None
        return self._workflow

    # --- the interface ------------------------------------------------------------------------

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback = no_progress
    ) -> list[GeneratedImage]:
        return await within_timeout(self._generate(request, progress), self.config.timeout, backend=self.name)

    async def _generate(self, request: GenerationRequest, progress: ProgressCallback) -> list[GeneratedImage]:
        workflow = self.workflow
        targets = workflow.roles.targets
        if "prompt" not in targets:
            raise ConfigurationError(f"cannot tell where the prompt goes in workflow {workflow.source}; set "
                                     "nodes.prompt = \"<node id>.<input>\" (e.g. \"6.text\")", backend=self.name)
        count = max(1, request.count)
        values: dict[str, Any] = {"prompt": request.prompt}
        if request.negative_prompt and "negative_prompt" in targets:
            values["negative_prompt"] = request.negative_prompt
        width, height = request.size(pixels=self._pixels(), multiple=self.config.size_multiple)
        values.update(width=width, height=height)
        if self.config.steps:
            values["steps"] = self.config.steps
        if self.config.model:
            values["model"] = self.config.model
        if request.reference_images:
            if "image" in targets:
                values["image"] = await self.api.upload(request.reference_images[0])
            elif request.references_required:
                raise ReferenceUnsupported(f"workflow {workflow.source} has no LoadImage node for the reference",
                                           backend=self.name)
        seed = request.seed if request.seed is not None else random_seed()
        # Without a seed input we can change, a repeated request is the identical graph: ComfyUI
        # answers it from its cache, so it takes the fixed-seed path that never comes back empty.
        repeatable = request.seed is not None or "seed" not in targets
        # One prompt per call: `count` images as one latent batch where the workflow has a batch
        # input, else one (the chain queues another with a new seed for the next).
        batch = count if "batch" in targets else 1
        values.update(seed=seed, batch=batch)
        graph = workflow.fill(values)
        images = await self._images(await self._run(graph, progress, fixed_seed=repeatable), limit=batch)
        for image in images:
            image.seed = seed  # a batch shares one seed (ComfyUI draws the batch's noise from it)
        if not images:
            raise ProtocolError("the workflow finished without any image output (no SaveImage/PreviewImage?)",
                                backend=self.name)
        return images

    async def takes_references(self) -> bool:
        """Whether the workflow has a LoadImage node (reading the workflow file on first use)."""
        return "image" in self.workflow.roles.targets

    def _pixels(self) -> int:
        if self.config.pixels:
            return self.config.pixels
        graph, targets = self.workflow.graph, self.workflow.roles.targets
        try:
            (wn, wi), (hn, hi) = targets["width"][0], targets["height"][0]
            return int(graph[wn]["inputs"][wi]) * int(graph[hn]["inputs"][hi])
        except (KeyError, IndexError, TypeError, ValueError):
            return 1024 * 1024

    async def _run(self, graph: dict[str, Any], progress: ProgressCallback, *, fixed_seed: bool) -> Outcome:
        key = hashlib.sha256(json.dumps(graph, sort_keys=True).encode()).hexdigest()
        outcome = await self._queue_and_follow(graph, progress)
        if _has_images(outcome) or not fixed_seed:
            self._remember(key, outcome)
            return outcome
        # The same graph again (a fixed seed asked twice) came from ComfyUI's cache without images.
        earlier = self._earlier_outputs.get(key)
        if earlier:
            log.info("%s: cached graph gave no image; using the images of its earlier run", self.name)
            return Outcome({**outcome.entry, "outputs": earlier}, [], outcome.cached)
        if self.workflow.bust_output_cache(graph, uuid.uuid4().hex[:8]):
            log.info("%s: cached graph gave no image; sending it again with a new filename_prefix", self.name)
            return await self._queue_and_follow(graph, progress)
        return outcome

    def _remember(self, key: str, outcome: Outcome) -> None:
        """The outputs of a graph we ran, for when ComfyUI answers the same graph from its cache."""
        outputs = outcome.entry.get("outputs")
        if isinstance(outputs, dict) and outputs:
            self._earlier_outputs[key] = outputs
            while len(self._earlier_outputs) > _REMEMBERED_GRAPHS:
                self._earlier_outputs.pop(next(iter(self._earlier_outputs)))

    async def _queue_and_follow(self, graph: dict[str, Any], progress: ProgressCallback) -> Outcome:
        client_id = uuid.uuid4().hex
        ws = None
        if self.config.websocket:
            ws = await open_websocket(self.config.base_url, client_id, timeout=self.config.connect_timeout,
                                      backend=self.name, headers=self._auth_header)
        prompt_id: Optional[str] = None
        try:
            prompt_id = await self.api.queue_prompt(graph, client_id)
            watcher = Watcher(self.api, prompt_id, progress, poll_interval=self.config.poll_interval)
            return await (watcher.over_websocket(ws) if ws is not None else watcher.by_polling())
        except asyncio.CancelledError:
            if prompt_id is not None:
                done = await best_effort("cancel", self.api.cancel(prompt_id), backend=self.name)
                log.info("%s: job cancelled; prompt %s %s", self.name, prompt_id, done or "left on the server")
            raise
        finally:
            if ws is not None:
                await best_effort("websocket close", ws.close(), backend=self.name, timeout=2.0)

    async def _images(self, outcome: Outcome, *, limit: int) -> list[GeneratedImage]:
        """The images of the most downstream output nodes first; saved ("output") before previews
        ("temp"). Only the first `limit` are downloaded: a preview node's copies, or a history entry
        listing thousands of files, cost nothing."""
        outputs = outcome.entry.get("outputs") if isinstance(outcome.entry.get("outputs"), dict) else {}
        merged: dict[str, list] = {node: _image_refs(out) for node, out in outputs.items() if isinstance(out, dict)}
        for node, out in outcome.executed:
            if node not in merged and _image_refs(out):
                merged[node] = _image_refs(out)
        rank = {node: index for index, node in enumerate(self.workflow.roles.outputs)}
        ordered = sorted(merged, key=lambda node: rank.get(node, len(rank)))
        refs = [image for node in ordered for image in merged[node] if isinstance(image, dict)]
        refs.sort(key=lambda image: 0 if image.get("type", "output") == "output" else 1)
        images = []
        for ref in refs[:limit]:
            data, mime = await self.api.view(ref)
            images.append(GeneratedImage(data=data, mime=mime, backend=self.name,
                                         metadata={"filename": ref.get("filename"), "workflow": self.workflow.source}))
        return images

    # --- doctor -------------------------------------------------------------------------------

    async def probe(self) -> BackendReport:
        lines = [f"endpoint: {self.config.base_url}"]
        try:
            workflow = self.workflow
        except ConfigurationError as exc:
            return BackendReport(self.name, False, exc.detail, lines)
        lines.append(f"workflow: {workflow.source}")
        lines.extend("  " + line for line in workflow.roles.describe(workflow.graph))
        problems = [] if "prompt" in workflow.roles.targets else ["no prompt input found: set nodes.prompt"]
        if "seed" not in workflow.roles.targets:
            lines.append("  note: no seed input found, so the same prompt gives the same picture; set nodes.seed")
        try:
            stats = await self.api.system_stats()
            system = stats.get("system") if isinstance(stats, dict) else None
            devices = stats.get("devices") if isinstance(stats, dict) else None
            version = system.get("comfyui_version") if isinstance(system, dict) else None
            device = devices[0].get("name") if isinstance(devices, list) and devices and isinstance(devices[0], dict) else None
            lines.append(f"version: {version or 'unknown'}; device: {device or 'unknown'}")
            try:
                known: Optional[dict[str, Any]] = await self.api.object_info_all()
            except BackendError as exc:
                log.info("%s: GET /object_info failed (%s); asking class by class", self.name, exc)
                known = None
            for class_type in workflow.class_types:
                info = known.get(class_type) if known is not None else await self.api.object_info(class_type)
                if not isinstance(info, dict):
                    problems.append(f"node class {class_type} is not installed on the server")
                    continue
                problems.extend(self._combo_problems(class_type, info, workflow))
        except BackendError as exc:
            return BackendReport(self.name, False, exc.detail, lines)
        lines.extend(problems)
        summary = "; ".join(problems) or f"reachable; {len(workflow.class_types)} node classes present"
        return BackendReport(self.name, not problems, summary, lines)

    def _combo_problems(self, class_type: str, info: dict[str, Any], workflow: Workflow) -> list[str]:
        """Model files and other list choices the workflow names that the server does not have."""
        inputs = info.get("input") if isinstance(info.get("input"), dict) else {}
        spec = {**(inputs.get("optional") or {}), **(inputs.get("required") or {})}
        model_target = (workflow.roles.targets.get("model") or [None])[0]
        problems = []
        for node_id, node in workflow.graph.items():
            if node["class_type"] != class_type:
                continue
            for name, value in node["inputs"].items():
                if (node_id, name) == model_target and self.config.model:
                    value = self.config.model
                choices = spec.get(name)
                if isinstance(value, str) and isinstance(choices, list) and choices and isinstance(choices[0], list):
                    if value not in choices[0] and name not in ("image",):
                        problems.append(f"node {node_id} ({class_type}) {name} = {value!r} is not on the server")
        return problems


def _has_images(outcome: Outcome) -> bool:
    outputs = outcome.entry.get("outputs") if isinstance(outcome.entry.get("outputs"), dict) else {}
    if any(isinstance(out, dict) and _image_refs(out) for out in outputs.values()):
        return True
    return any(_image_refs(out) for _, out in outcome.executed)


def _image_refs(output: dict[str, Any]) -> list:
    """An output node's files that are pictures: its "images", and the GIF/WebP entries of
    "gifs" (Video Helper Suite's VideoCombine lists its animations there, videos too)."""
    images = output.get("images")
    refs = [ref for ref in images if isinstance(ref, dict)] if isinstance(images, list) else []
    gifs = output.get("gifs")
    for ref in gifs if isinstance(gifs, list) else []:
        if isinstance(ref, dict) and (str(ref.get("format", "")).startswith("image/")
                                      or str(ref.get("filename", "")).lower().endswith((".gif", ".webp"))):
            refs.append(ref)
    return refs
