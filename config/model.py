"""The whole config.toml as one pydantic model. Every key has a default."""

from __future__ import annotations

from typing import Annotated, Any, Mapping, Union

from pydantic import Field, field_validator, model_validator

from ..aspects import parse_aspect
from .backend_types import BACKEND_TYPES
from .backend_forms import fold_forms
from .backends import default_backends
from .llm import LLMSection
from .safety import SafetySection
from .selfie import SelfieSection
from .chain import ChainSection
from .chat import ComponentsSection, JobsSection
from .output import OutputSection
from .limits import LimitsSection
from .section import Section, setting
from .styles import StylesMap, styles_field
from .ui import section_i18n

CONFIG_VERSION = "1.0.0"

# one `[[backends]]` entry: the `type` key picks the config class (see backend_types.py)
BackendConfig = Annotated[Union[tuple(kind.config for kind in BACKEND_TYPES.values())], Field(discriminator="type")]


class PluginSection(Section):
    __ui_label__ = "插件"
    __ui_icon__ = "power"
    __ui_order__ = 0
    __ui_i18n__ = section_i18n("Plugin")

    enabled: bool = setting(True, "启用插件", "Enable plugin", "是否启用插件", "Turn the whole plugin on or off.")
    config_version: str = setting(
        CONFIG_VERSION, "配置版本", "Config version",
        "配置版本，勿改",
        "Version of this config layout; do not change it.",
        min_length=1,
    )


MAX_IMAGES_LIMIT = 10  # a chat message with more images than this is a flood, not a picture


class GenerationSection(Section):
    __ui_label__ = "生成"
    __ui_icon__ = "sliders-horizontal"
    __ui_order__ = 50
    __ui_i18n__ = section_i18n("Generation")

    aspect: str = setting(
        "1:1", "默认画面比例", "Default aspect ratio",
        "默认画面比例，如 1:1、16:9、3:4",
        "Default aspect ratio, e.g. 1:1, 16:9, 3:4.",
        placeholder_zh="1:1", placeholder_en="1:1",
    )
    width: int = setting(
        0, "固定宽度", "Fixed width",
        "固定宽度，0 = 按比例自动",
        "Fixed width in pixels; 0 = derived from the aspect ratio.",
        ge=0, le=4096,
    )
    height: int = setting(
        0, "固定高度", "Fixed height",
        "固定高度，0 = 按比例自动",
        "Fixed height in pixels; 0 = derived from the aspect ratio.",
        ge=0, le=4096,
    )
    negative_prompt: str = setting(
        "", "负面提示词", "Negative prompt",
        "默认负面提示词",
        "Default negative prompt sent to backends that take one.",
        textarea=3,
    )
    custom_prompt_add: str = setting(
        "", "追加提示词", "Prompt suffix",
        "追加到每个提示词末尾的内容",
        "Text appended to every prompt.",
        textarea=3,
    )
    seed: int = setting(-1, "随机种子", "Seed", "固定种子，-1 = 随机", "Fixed seed; -1 = random.", ge=-1, le=2**32 - 1)
    max_images: int = setting(
        4, "最多张数", "Max images per request",
        f"一次请求最多画几张（“画两张”、/draw -n 3），1–{MAX_IMAGES_LIMIT}；每张都算一次额度",
        f"Most images one request may ask for, 1-{MAX_IMAGES_LIMIT}; each image counts against the quotas.",
        ge=1, le=MAX_IMAGES_LIMIT,
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
    backends: list[BackendConfig] = setting(
        label_zh="画图后端", label_en="Image backends",
        hint_zh="后端列表，按顺序依次尝试，第一个成功的出图；请在源码（TOML）模式中编辑",
        hint_en="Backends tried in order; the first that succeeds draws the image. Edit them in the source (TOML) view.",
        factory=default_backends,
        hidden=True,  # a form cannot edit a list of mixed types: the WebUI shows the sections of backend_forms.py
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
    styles: StylesMap = styles_field()

    @model_validator(mode="before")
    @classmethod
    def _fold_backend_forms(cls, data: Any) -> Any:
        """Edits made in the WebUI's backend sections become `[[backends]]` entries (backend_forms.py)."""
        return fold_forms(data, default_backends)[0] if isinstance(data, Mapping) else data

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
