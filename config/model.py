"""The whole config.toml as one pydantic model. Every key has a default."""

from __future__ import annotations

from typing import Annotated, ClassVar, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..aspects import parse_aspect
from .backends import GradioBackendConfig, HFInferenceBackendConfig, OpenAIBackendConfig, default_backends
from .backends_selfhosted import ComfyUIBackendConfig, SDWebUIBackendConfig
from .llm import LLMSection
from .safety import SafetySection
from .selfie import SelfieSection
from .chain import ChainSection
from .chat import ComponentsSection, JobsSection
from .output import OutputSection
from .limits import LimitsSection
from .ui import section_i18n, ui

CONFIG_VERSION = "1.0.0"

BackendConfig = Annotated[
    Union[GradioBackendConfig, OpenAIBackendConfig, HFInferenceBackendConfig, SDWebUIBackendConfig,
          ComfyUIBackendConfig],
    Field(discriminator="type"),
]


class Section(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True, defer_build=True)
    __ui_label__: ClassVar[str] = ""
    __ui_icon__: ClassVar[str] = ""
    __ui_order__: ClassVar[int] = 0
    __ui_i18n__: ClassVar[dict[str, dict[str, str]]] = {}


class PluginSection(Section):
    __ui_label__ = "插件"
    __ui_icon__ = "power"
    __ui_order__ = 0
    __ui_i18n__ = section_i18n("Plugin")

    enabled: bool = Field(
        default=True, description="是否启用插件 (enable the plugin)",
        json_schema_extra=ui("启用插件", "Enable plugin", "是否启用插件", "Turn the whole plugin on or off."),
    )
    config_version: str = Field(
        default=CONFIG_VERSION, min_length=1, description="配置版本，勿改 (config version)",
        json_schema_extra=ui("配置版本", "Config version", "配置版本，勿改", "Version of this config layout; do not change it."),
    )


MAX_IMAGES_LIMIT = 10  # a chat message with more images than this is a flood, not a picture


class GenerationSection(Section):
    __ui_label__ = "生成"
    __ui_icon__ = "sliders-horizontal"
    __ui_order__ = 5
    __ui_i18n__ = section_i18n("Generation")

    aspect: str = Field(
        default="1:1", description="默认画面比例，如 1:1、16:9、3:4 (default aspect ratio)",
        json_schema_extra=ui(
            "默认画面比例", "Default aspect ratio",
            "默认画面比例，如 1:1、16:9、3:4",
            "Default aspect ratio, e.g. 1:1, 16:9, 3:4.",
            placeholder_zh="1:1", placeholder_en="1:1",
        ),
    )
    width: int = Field(
        default=0, ge=0, le=4096, description="固定宽度，0 = 按比例自动 (fixed width; 0: from aspect)",
        json_schema_extra=ui(
            "固定宽度", "Fixed width",
            "固定宽度，0 = 按比例自动",
            "Fixed width in pixels; 0 = derived from the aspect ratio.",
        ),
    )
    height: int = Field(
        default=0, ge=0, le=4096, description="固定高度，0 = 按比例自动 (fixed height; 0: from aspect)",
        json_schema_extra=ui(
            "固定高度", "Fixed height",
            "固定高度，0 = 按比例自动",
            "Fixed height in pixels; 0 = derived from the aspect ratio.",
        ),
    )
    negative_prompt: str = Field(
        default="", description="默认负面提示词 (default negative prompt)",
        json_schema_extra=ui(
            "负面提示词", "Negative prompt",
            "默认负面提示词",
            "Default negative prompt sent to backends that take one.",
            textarea=3,
        ),
    )
    custom_prompt_add: str = Field(
        default="", description="追加到每个提示词末尾的内容 (appended to every prompt)",
        json_schema_extra=ui("追加提示词", "Prompt suffix", "追加到每个提示词末尾的内容", "Text appended to every prompt.", textarea=3),
    )
    seed: int = Field(
        default=-1, ge=-1, le=2**32 - 1, description="固定种子，-1 = 随机 (seed; -1: random)",
        json_schema_extra=ui("随机种子", "Seed", "固定种子，-1 = 随机", "Fixed seed; -1 = random."),
    )

    max_images: int = Field(
        default=4, ge=1, le=MAX_IMAGES_LIMIT,
        description=f"一次请求最多画几张（画两张、/draw -n 3），1–{MAX_IMAGES_LIMIT} (most images one request may ask for)",
        json_schema_extra=ui("最多张数", "Max images per request",
                             f"一次请求最多画几张（“画两张”、/draw -n 3），1–{MAX_IMAGES_LIMIT}；每张都算一次额度",
                             f"Most images one request may ask for, 1-{MAX_IMAGES_LIMIT}; each image counts against the quotas."),
    )

    @field_validator("aspect")
    @classmethod
    def _aspect(cls, value: str) -> str:
        parse_aspect(value)
        return value.strip()

    @model_validator(mode="after")
    def _both_or_neither(self) -> "GenerationSection":
        if bool(self.width) != bool(self.height):
            raise ValueError("set both width and height, or neither (0 = from aspect)")
        return self


class Config(Section):
    """Root of config.toml."""

    plugin: PluginSection = Field(default_factory=PluginSection)
    backends: list[BackendConfig] = Field(
        default_factory=default_backends, description="后端列表，按顺序依次尝试 (backends, tried in order)",
        json_schema_extra=ui(
            "画图后端", "Image backends",
            "后端列表，按顺序依次尝试，第一个成功的出图；请在源码（TOML）模式中编辑",
            "Backends tried in order; the first that succeeds draws the image. Edit them in the source (TOML) view.",
        ),
    )
    generation: GenerationSection = Field(default_factory=GenerationSection)
    llm: LLMSection = Field(default_factory=LLMSection)
    selfie: SelfieSection = Field(default_factory=SelfieSection)
    safety: SafetySection = Field(default_factory=SafetySection)
    chain: ChainSection = Field(default_factory=ChainSection)
    output: OutputSection = Field(default_factory=OutputSection)
    limits: LimitsSection = Field(default_factory=LimitsSection)
    components: ComponentsSection = Field(default_factory=ComponentsSection)
    jobs: JobsSection = Field(default_factory=JobsSection)

    @field_validator("backends")
    @classmethod
    def _unique_names(cls, value: list) -> list:
        seen: set[str] = set()
        for backend in value:
            if backend.name in seen:
                raise ValueError(f"two backends are named {backend.name!r}; names must be unique")
            seen.add(backend.name)
        return value

    def enabled_backends(self) -> list:
        return [b for b in self.backends if b.enabled]
