"""Every backend type config.toml knows, in one table: `type = "…"` → its config class and the class
that implements it (a "module:Class" path inside the `backends` package, imported only when such a
backend is built, so this package never imports `backends`).

A new backend type is one config class (a `_BackendBase` subclass with a `type: Literal["…"]` key)
and one line here; the loader, the config model and `backends.registry` read this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backends import GradioBackendConfig, HFInferenceBackendConfig, OpenAIBackendConfig, _BackendBase
from .backends_selfhosted import ComfyUIBackendConfig, SDWebUIBackendConfig


@dataclass(frozen=True)
class BackendType:
    config: type[_BackendBase]
    implementation: str  # "module:Class", relative to the backends package
    title_zh: str  # how the WebUI names this kind
    title_en: str

    @property
    def name(self) -> str:
        """The `type` value of this kind, from its config class's `type` literal."""
        return self.config.model_fields["type"].default


_TYPES = (
    BackendType(GradioBackendConfig, "gradio.backend:GradioBackend", "Gradio / HF Space", "Gradio / HF Space"),
    BackendType(OpenAIBackendConfig, "openai:OpenAIBackend", "OpenAI 兼容接口", "OpenAI-compatible API"),
    BackendType(HFInferenceBackendConfig, "hf_inference:HFInferenceBackend", "HF Inference API",
                "HF Inference API"),
    BackendType(SDWebUIBackendConfig, "sd_webui:SDWebUIBackend", "SD WebUI", "SD WebUI"),
    BackendType(ComfyUIBackendConfig, "comfyui.backend:ComfyUIBackend", "ComfyUI", "ComfyUI"),
)
BACKEND_TYPES: dict[str, BackendType] = {kind.name: kind for kind in _TYPES}
