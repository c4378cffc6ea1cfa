"""A ComfyUI API-format workflow: loading it, finding which node input takes which role, and
filling a copy in for one request.

API format ("Export (API)") is `{node_id: {"class_type": str, "inputs": {name: value | [node_id, slot]}}}`;
a list value is a link to another node's output. Roles come from the `nodes` config table
("node_id.input") or are found from the graph: the sampler (KSampler, KSamplerAdvanced,
SamplerCustom, SamplerCustomAdvanced + guider/noise/sigmas nodes), the text encoders wired to
its positive and negative inputs (through conditioning pass-through nodes, reroutes and
primitive/string nodes), the empty-latent node that sets the size and batch, the model loader and
LoadImage.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Optional

from ...errors import ConfigurationError

BUILTIN = {"": "checkpoint_txt2img.json", "builtin:checkpoint": "checkpoint_txt2img.json",
           "builtin:flux": "flux_txt2img.json"}
ROLES = ("prompt", "negative_prompt", "seed", "width", "height", "steps", "batch", "image", "model")
MAX_WORKFLOW_BYTES = 4 * 1024 * 1024
_TEXT_INPUTS = ("text", "text_g", "text_l", "clip_l", "t5xxl", "clip_g", "prompt", "bert", "mt5xl", "llama")
_STRING_SOURCE_INPUTS = ("value", "text", "string", "prompt", "STRING", "Text", "text_positive")
_INT_SOURCE_INPUTS = ("value", "int", "seed", "noise_seed", "number", "INT")
_SEED_INPUTS = ("seed", "noise_seed")
# Node classes that exist only in ComfyUI's web editor. "Export (API)" leaves them out, but
# hand-edited or tool-converted files keep them, and the server refuses any graph naming a class it
# does not have ("Cannot execute because node Note does not exist", execution.validate_prompt).
_FRONTEND_ONLY = frozenset({"Note", "MarkdownNote", "PrimitiveNode", "Reroute"})
_SIZE_INPUTS = (("width", "height"), ("empty_latent_width", "empty_latent_height"))
_DEPTH = 12

Target = tuple[str, str]  # (node_id, input name)


@dataclass
class Roles:
    """Where each role goes (a role may fill several inputs, e.g. CLIPTextEncodeFlux clip_l and t5xxl)."""

    targets: dict[str, list[Target]] = field(default_factory=dict)
    sampler: Optional[str] = None
    outputs: list[str] = field(default_factory=list)  # output node ids, the most downstream first
    explicit: frozenset[str] = frozenset()

    def describe(self, graph: dict[str, Any]) -> list[str]:
        lines = []
        for role in ROLES:
            found = self.targets.get(role)
            if not found:
                lines.append(f"{role}: not found")
                continue
            where = ", ".join(f"{node}.{name} ({graph[node]['class_type']})" for node, name in found)
            lines.append(f"{role}: {where}{' (from nodes)' if role in self.explicit else ''}")
        if self.outputs:
            lines.append("outputs: " + ", ".join(f"{node} ({graph[node]['class_type']})" for node in self.outputs))
        return lines


class Workflow:
    """A loaded workflow and its roles. `fill` returns a new graph; the template is never changed."""

    def __init__(self, graph: dict[str, Any], source: str, mapping: Optional[dict[str, str]] = None) -> None:
        self.graph = graph
        self.source = source
        self.roles = find_roles(graph, mapping or {}, source)

    @property
    def class_types(self) -> list[str]:
        return sorted({node["class_type"] for node in self.graph.values()})

    def fill(self, values: dict[str, Any]) -> dict[str, Any]:
        graph = copy.deepcopy(self.graph)
        for role, value in values.items():
            for node, name in self.roles.targets.get(role, []):
                graph[node]["inputs"][name] = value
        return graph

    def bust_output_cache(self, graph: dict[str, Any], token: str) -> bool:
        """Change an input of each output node that does not change the image (SaveImage's
        filename_prefix), so that ComfyUI runs the output node again instead of answering from
        its cache. False when no output node has such an input."""
        changed = False
        for node in self.roles.outputs:
            inputs = graph[node]["inputs"]
            if isinstance(inputs.get("filename_prefix"), str):
                inputs["filename_prefix"] = f"{inputs['filename_prefix']}_{token}"
                changed = True
        return changed


def load_workflow(path: str, mapping: Optional[dict[str, str]] = None, *, search: Iterable[Path] = ()) -> Workflow:
    """The workflow at `path` (relative paths: the working directory, then `search`), or a built-in
    one for "" / "builtin:checkpoint" / "builtin:flux". Raises ConfigurationError naming the problem."""
    if path in BUILTIN:
        name = BUILTIN[path]
        text = resources.files(__package__).joinpath("workflows", name).read_text(encoding="utf-8")
        return Workflow(parse_workflow(text, name), f"built-in {name}", mapping)
    if path.startswith("builtin:"):
        raise ConfigurationError(f"workflow = {path!r}: unknown built-in workflow; use builtin:checkpoint or builtin:flux")
    candidate = Path(path).expanduser()
    tried = [candidate] if candidate.is_absolute() else [candidate, *(Path(folder) / candidate for folder in search)]
    for file in tried:
        if file.is_file():
            if file.stat().st_size > MAX_WORKFLOW_BYTES:
                raise ConfigurationError(f"workflow {file} is larger than {MAX_WORKFLOW_BYTES} bytes")
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigurationError(f"workflow {file} cannot be read: {exc}") from None
            return Workflow(parse_workflow(text, str(file)), str(file), mapping)
    raise ConfigurationError(f"workflow file not found: {path} (looked in {', '.join(str(f) for f in tried)})")


def parse_workflow(text: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"workflow {source} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict) and "class_type" not in data.get("prompt", {}):
        data = data["prompt"]  # a saved POST /prompt body
    if isinstance(data, dict) and isinstance(data.get("nodes"), list) and "links" in data:
        raise ConfigurationError(f"workflow {source} is in the UI format; in ComfyUI use Workflow → Export (API) "
                                 "(older menus: enable dev mode, then Save (API Format))")
    if not isinstance(data, dict) or not data:
        raise ConfigurationError(f"workflow {source} is not an API-format workflow (expected an object of nodes)")
    graph: dict[str, Any] = {}
    for node_id, node in data.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) \
                or not isinstance(node.get("inputs", {}), dict):
            raise ConfigurationError(f"workflow {source}: node {node_id} has no class_type/inputs "
                                     "(is this an API-format export?)")
        graph[str(node_id)] = {**node, "inputs": dict(node.get("inputs") or {})}
    graph = _without_frontend_nodes(graph, source)
    for node_id, node in graph.items():
        for name, value in node["inputs"].items():
            if _is_link(value) and str(value[0]) not in graph:
                raise ConfigurationError(f"workflow {source}: node {node_id} input {name} links to missing node {value[0]}")
    return graph


def _without_frontend_nodes(graph: dict[str, Any], source: str) -> dict[str, Any]:
    """The graph without editor-only nodes: unlinked ones (notes) are dropped, and links through
    a Reroute (or a PrimitiveNode that forwards a link) go straight to what it forwards."""
    frontend = {node_id for node_id, node in graph.items() if node["class_type"] in _FRONTEND_ONLY}
    if not frontend:
        return graph

    def resolve(value: Any) -> Any:
        seen: set[str] = set()
        while _is_link(value) and str(value[0]) in frontend:
            node_id = str(value[0])
            forwarded = [v for v in graph[node_id]["inputs"].values() if _is_link(v)]
            if node_id in seen or len(forwarded) != 1:
                raise ConfigurationError(f"workflow {source}: node {node_id} ({graph[node_id]['class_type']}) "
                                         "exists only in the ComfyUI editor and cannot be sent to the server; "
                                         "use Workflow → Export (API)")
            seen.add(node_id)
            value = forwarded[0]
        return value

    return {node_id: {**node, "inputs": {name: resolve(value) for name, value in node["inputs"].items()}}
            for node_id, node in graph.items() if node_id not in frontend}


# --- role detection -----------------------------------------------------------------------------


def find_roles(graph: dict[str, Any], mapping: dict[str, str], source: str) -> Roles:
    roles = Roles(explicit=frozenset(mapping))
    for role, target in mapping.items():
        node, _, name = target.partition(".")
        if node not in graph:
            raise ConfigurationError(f"nodes.{role} = {target!r}: workflow {source} has no node {node}")
        if name not in graph[node]["inputs"]:
            known = ", ".join(graph[node]["inputs"]) or "none"
            raise ConfigurationError(f"nodes.{role} = {target!r}: node {node} ({graph[node]['class_type']}) "
                                     f"has no input {name!r} (inputs: {known})")
        roles.targets[role] = [(node, name)]
    finder = _Finder(graph)
    sampler = finder.sampler()
    roles.sampler = sampler
    found: dict[str, list[Target]] = {}
    if sampler:
        # Every sampler's text encoders get the prompt (an SDXL refiner has its own); the first
        # pass sampler gives the seed, steps and size.
        positive: list[Target] = []
        negative: list[Target] = []
        for node in [sampler, *(other for other in finder.samplers() if other != sampler)]:
            more_positive, more_negative = finder.conditioning(node)
            positive += [target for target in more_positive if target not in positive]
            negative += [target for target in more_negative if target not in negative]
        found["prompt"] = positive
        found["negative_prompt"] = [t for t in negative if t not in positive]
        found["seed"] = finder.seed(sampler)
        found["steps"] = finder.steps(sampler)
        found["steps"] += finder.continued_steps(sampler, found["steps"])
        latent = finder.latent(sampler)
        if latent:
            width, height = finder.size_names(latent)
            for role, name in (("width", width), ("height", height), ("batch", "batch_size")):
                found[role] = finder.literal(latent, name, int)
            found["width"] += finder.companion_sizes(latent, "width")
            found["height"] += finder.companion_sizes(latent, "height")
    else:
        found.update(finder.pipe_roles())
    found["model"] = finder.model_loader()
    found["image"] = finder.load_image()
    for role, targets in found.items():
        if role not in roles.targets and targets:
            roles.targets[role] = targets
    roles.outputs = finder.output_nodes()
    return roles


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int)) \
        and isinstance(value[1], int) and not isinstance(value[1], bool)


def _order(node_id: str) -> tuple:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in node_id.split(":"))


class _Finder:
    def __init__(self, graph: dict[str, Any]) -> None:
        self.graph = graph
        self.ids = sorted(graph, key=_order)

    def cls(self, node: str) -> str:
        return self.graph[node]["class_type"]

    def inputs(self, node: str) -> dict[str, Any]:
        return self.graph[node]["inputs"]

    def link(self, node: str, name: str) -> Optional[str]:
        value = self.inputs(node).get(name)
        return str(value[0]) if _is_link(value) else None

    def linked_inputs(self, node: str) -> list[tuple[str, str]]:
        return [(name, str(value[0])) for name, value in self.inputs(node).items() if _is_link(value)]

    # samplers --------------------------------------------------------------------------------

    def is_sampler(self, node: str) -> bool:
        inputs = self.inputs(node)
        return ("Sampler" in self.cls(node) and ("latent_image" in inputs or "guider" in inputs)) or \
            ("positive" in inputs and "latent_image" in inputs)

    def samplers(self) -> list[str]:
        return [node for node in self.ids if self.is_sampler(node)]

    def sampler(self) -> Optional[str]:
        samplers = self.samplers()
        # The first pass is the sampler that starts from an empty latent (a hires-fix second pass
        # starts from an upscaled latent); among several, the first by id.
        for node in samplers:
            if self.latent(node):
                return node
        return samplers[0] if samplers else None

    def latent(self, sampler: str) -> Optional[str]:
        node = self.link(sampler, "latent_image")
        for _ in range(_DEPTH):
            if node is None:
                return None
            inputs = self.inputs(node)
            if self.size_names(node) and not any(name in inputs for name in ("samples", "pixels", "image")):
                return node
            linked = self.linked_inputs(node)
            node = linked[0][1] if len(linked) == 1 else None
        return None

    def size_names(self, node: str) -> tuple[str, str]:
        """The inputs that set a latent's size: width/height, or an all-in-one loader's
        empty_latent_width/empty_latent_height (Efficiency Nodes, Easy-Use); () when none."""
        inputs = self.inputs(node)
        for width, height in _SIZE_INPUTS:
            if width in inputs and height in inputs:
                return width, height
        return ()  # type: ignore[return-value]

    def companion_sizes(self, latent: str, name: str) -> list[Target]:
        """Size inputs that must match the latent (FLUX's ModelSamplingFlux width/height)."""
        found = []
        for node in self.ids:
            if node != latent and "ModelSampling" in self.cls(node) and isinstance(self.inputs(node).get(name), int):
                found.append((node, name))
        return found

    # conditioning → text -----------------------------------------------------------------------

    def conditioning(self, sampler: str) -> tuple[list[Target], list[Target]]:
        source = sampler
        if "positive" not in self.inputs(sampler):
            guider = self.link(sampler, "guider")
            if guider is None:
                return [], []
            source = guider
        inputs = self.inputs(source)
        positive_name = next((n for n in ("positive", "conditioning", "cond1") if n in inputs), None)
        positive = self.texts(self.link(source, positive_name), "positive") if positive_name else []
        negative = self.texts(self.link(source, "negative"), "negative") if "negative" in inputs else []
        return positive, negative

    def texts(self, node: Optional[str], branch: str) -> list[Target]:
        seen: set[str] = set()
        for _ in range(_DEPTH):
            if node is None or node in seen:
                return []
            seen.add(node)
            if isinstance(self.inputs(node).get(branch), str):
                # An all-in-one loader that encodes its own "positive"/"negative" text.
                return [(node, branch)]
            if "TextEncode" in self.cls(node) or any(name in self.inputs(node) for name in ("text", "text_g", "t5xxl")):
                targets = []
                for name in _TEXT_INPUTS:
                    if name in self.inputs(node):
                        targets += [t for t in self.literal(node, name, str) if t not in targets]
                if targets:
                    return targets
            preferred = [branch, "conditioning", "conditioning_to", "conditioning_1", "cond1", "positive", "input"]
            linked = dict(self.linked_inputs(node))
            follow = next((linked[name] for name in preferred if name in linked), None)
            if follow is None:
                conditioning = [target for name, target in linked.items() if "cond" in name]
                follow = conditioning[0] if conditioning else (next(iter(linked.values())) if len(linked) == 1 else None)
            node = follow
        return []

    def literal(self, node: str, name: str, kind: type) -> list[Target]:
        """Where the value of `node.name` really lives: the input itself, or the primitive,
        string or reroute node it is wired to. A source node holding several values (an aspect
        ratio node with width, height and batch_size) is read by the same input name."""
        wanted = name
        for _ in range(_DEPTH):
            value = self.inputs(node).get(name)
            if not _is_link(value):
                return [(node, name)] if isinstance(value, kind) and not isinstance(value, bool) else []
            node = str(value[0])
            inputs = self.inputs(node)
            names = (wanted, *(_STRING_SOURCE_INPUTS if kind is str else _INT_SOURCE_INPUTS))
            literal = [n for n in names if isinstance(inputs.get(n), kind) and not isinstance(inputs.get(n), bool)]
            if literal:
                return [(node, literal[0])]
            plain = [n for n, v in inputs.items() if isinstance(v, kind) and not isinstance(v, bool)]
            if len(plain) == 1 and not self.linked_inputs(node):
                return [(node, plain[0])]
            linked = self.linked_inputs(node)
            if len(linked) != 1:
                return []
            name = linked[0][0]
        return []

    # seed, steps, model, image, outputs ---------------------------------------------------------

    def seed(self, sampler: str) -> list[Target]:
        for name in _SEED_INPUTS:
            if name in self.inputs(sampler):
                return self.literal(sampler, name, int)
        noise = self.link(sampler, "noise")
        if noise:
            for name in _SEED_INPUTS:
                if name in self.inputs(noise):
                    return self.literal(noise, name, int)
        return []

    def steps(self, sampler: str) -> list[Target]:
        if "steps" in self.inputs(sampler):
            return self.literal(sampler, "steps", int)
        sigmas = self.link(sampler, "sigmas")
        if sigmas and "steps" in self.inputs(sigmas):
            return self.literal(sigmas, "steps", int)
        return []

    def continued_steps(self, sampler: str, first: list[Target]) -> list[Target]:
        """The steps of samplers that continue the first one's schedule (an SDXL refiner's
        KSamplerAdvanced with start_at_step, set to the same total): they must keep matching."""
        if len(first) != 1:
            return []
        node, name = first[0]
        total = self.inputs(node)[name]
        found = []
        for other in self.samplers():
            if other != sampler and "start_at_step" in self.inputs(other):
                for target in self.literal(other, "steps", int):
                    if target not in first and target not in found and self.inputs(target[0])[target[1]] == total:
                        found.append(target)
        return found

    def pipe_roles(self) -> dict[str, list[Target]]:
        """Without a sampler that takes conditioning and a latent (packs that pass a "pipe" from
        an all-in-one loader to their own sampler: Easy-Use, tinyterra), the loader's own
        positive/negative text and latent size, and the first literal seed."""
        found: dict[str, list[Target]] = {}
        loader = next((node for node in self.ids if isinstance(self.inputs(node).get("positive"), str)), None)
        if loader:
            found["prompt"] = [(loader, "positive")]
            if isinstance(self.inputs(loader).get("negative"), str):
                found["negative_prompt"] = [(loader, "negative")]
            names = self.size_names(loader)
            if names:
                found["width"] = self.literal(loader, names[0], int)
                found["height"] = self.literal(loader, names[1], int)
                found["batch"] = self.literal(loader, "batch_size", int) if "batch_size" in self.inputs(loader) else []
        for node in self.ids:
            seeds = [name for name in _SEED_INPUTS if name in self.inputs(node)]
            if seeds and "Sampler" in self.cls(node):
                found["seed"] = self.literal(node, seeds[0], int)
                found["steps"] = self.literal(node, "steps", int) if "steps" in self.inputs(node) else []
                break
        return found

    def model_loader(self) -> list[Target]:
        for name in ("ckpt_name", "unet_name"):
            for node in self.ids:
                if isinstance(self.inputs(node).get(name), str):
                    return [(node, name)]
        return []

    def load_image(self) -> list[Target]:
        for node in self.ids:
            cls = self.cls(node)
            if "LoadImage" in cls and "Mask" not in cls and "image" in self.inputs(node):
                return [(node, "image")]
        return []

    def output_nodes(self) -> list[str]:
        # SaveImage, PreviewImage and custom savers ("Image Save", "SaveImageExtended", …) that take images.
        outputs = [node for node in self.ids if "SaveImage" in self.cls(node) or "PreviewImage" in self.cls(node)
                   or (("Save" in self.cls(node) or "Preview" in self.cls(node)) and self.link(node, "images"))]
        return sorted(outputs, key=lambda node: (-len(self.ancestors(node)), _order(node)))

    def ancestors(self, node: str) -> set[str]:
        found: set[str] = set()
        stack = [node]
        while stack:
            for _, source in self.linked_inputs(stack.pop()):
                if source not in found:
                    found.add(source)
                    stack.append(source)
        return found
