"""The local engine: a diffusers text-to-image pipeline on CUDA (half precision) or the CPU (float32).

The pipeline is loaded once, through diffusers' auto pipelines, so SD 1.5, SDXL (Turbo, Lightning),
SD 3.x and FLUX load the same way from a Hugging Face id or a local folder.
"""

from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any

from app_checks import Job
from app_settings import Family, Settings

log = logging.getLogger("llm2pic.space")
GIB = 1024**3


@dataclass
class Output:
    """What one call produced: the images and, per image, whether a safety checker flagged it.

    Plain data, so it crosses ZeroGPU's process boundary; the flags are judged outside the GPU call."""

    images: list[Any]
    nsfw: list[bool]


class DiffusersEngine:
    name = "diffusers"

    def __init__(self, settings: Settings, *, zero_gpu: bool = False) -> None:
        import torch
        from diffusers import AutoPipelineForText2Image, DiffusionPipeline

        self._torch = torch
        started = time.monotonic()
        self.device = _pick_device(settings.device, torch, zero_gpu)
        guess = settings.family()
        dtype = _pick_dtype(self.device, guess, torch)
        try:
            pipe = AutoPipelineForText2Image.from_pretrained(settings.model_id, torch_dtype=dtype)
        except ValueError:  # a pipeline class the auto mapping does not know: load it as it declares itself
            pipe = DiffusionPipeline.from_pretrained(settings.model_id, torch_dtype=dtype)
        self.family: Family = settings.family(type(pipe).__name__)
        if self.family.name != guess.name and self.device == "cuda":
            pipe = pipe.to(_pick_dtype(self.device, self.family, torch))
        self.placement = _place(pipe, self.device, self.family, torch, zero_gpu)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        self._accepted = set(inspect.signature(pipe.__call__).parameters)
        self.description = (f"{settings.model_id} ({type(pipe).__name__}, family {self.family.name}) on "
                            f"{self.device} {str(pipe.dtype).replace('torch.', '')}, {self.placement}")
        log.info("loaded %s in %.1f s", self.description, time.monotonic() - started)

    def generate(self, job: Job) -> Output:
        torch = self._torch
        # CPU generators: the same seed gives the same picture wherever the pipeline runs.
        generators = [torch.Generator("cpu").manual_seed(job.seed + i) for i in range(job.count)]
        wanted = {
            "prompt": job.prompt, "negative_prompt": job.negative_prompt or None,
            "guidance_scale": job.guidance_scale, "num_inference_steps": job.num_inference_steps,
            "width": job.width, "height": job.height, "num_images_per_prompt": job.count, "generator": generators,
        }
        kwargs = {key: value for key, value in wanted.items() if key in self._accepted}
        with torch.inference_mode():
            result = self.pipe(**kwargs)
        images = list(result.images)
        flags = getattr(result, "nsfw_content_detected", None) or [False] * len(images)
        return Output(images, [bool(flag) for flag in flags])


def _pick_device(wanted: str, torch: Any, zero_gpu: bool) -> str:
    if wanted == "cpu":
        return "cpu"
    available = zero_gpu or torch.cuda.is_available()
    if wanted == "cuda" and not available:
        raise RuntimeError("DEVICE=cuda but torch sees no CUDA device (is this the CUDA build of torch?)")
    return "cuda" if available else "cpu"


def _pick_dtype(device: str, family: Family, torch: Any) -> Any:
    if device != "cuda":
        return torch.float32
    if family.name.startswith(("flux", "sd3")):
        return torch.bfloat16  # these overflow in float16
    return torch.float16


def _place(pipe: Any, device: str, family: Family, torch: Any, zero_gpu: bool) -> str:
    """Move the pipeline to its device; on a GPU with too little memory, offload and slice instead."""
    if device == "cpu":
        pipe.to("cpu")
        return "in memory"
    if zero_gpu:
        pipe.to("cuda")  # ZeroGPU attaches a GPU per call; the weights are moved at start-up
        return "ZeroGPU"
    total = torch.cuda.get_device_properties(0).total_memory / GIB
    if total >= family.min_gpu_gib:
        pipe.to("cuda")
        return f"on the GPU ({total:.0f} GiB)"
    pipe.enable_model_cpu_offload()
    if hasattr(pipe, "enable_attention_slicing"):
        pipe.enable_attention_slicing()
    if getattr(pipe, "vae", None) is not None and hasattr(pipe.vae, "enable_tiling"):
        pipe.vae.enable_tiling()
    return (f"model CPU offload, attention slicing and VAE tiling ({total:.0f} GiB GPU, "
            f"{family.min_gpu_gib:g} GiB wanted)")
