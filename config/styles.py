"""[styles.<名字>]: named style presets a chat picks with `/pic style <名字>` or by naming them in a
request ("用水彩风格画…").

    [styles."水彩"]                       # a Chinese name must be quoted in TOML
    description = "水彩画"
    prefix = "watercolor painting, "
    suffix = ", soft pastel colors"
    negative_prompt = "photo, 3d render"
    aspect = "3:4"                        # "" = no opinion
    backend = "my-sd"                     # tried first; "" = the chain's order
    aliases = ["watercolor"]
    inputs = { steps = 30, cfg_scale = 6 } # passed to backends that take free-form inputs (SD WebUI)
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ..aspects import parse_aspect
from .ui import ui

# Words that switch a chat's style off (`/pic style off`); no preset may be called one of them.
OFF_WORDS = frozenset({"off", "none", "无", "关", "关闭", "取消", "清除", "默认", "default"})
MAX_NAME = 20
MAX_INPUTS = 32
_BAD_NAME = re.compile(r"[\s\x00-\x1f]")

InputValue = Union[bool, int, float, str]


class StylePreset(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    description: str = Field(default="", max_length=200, description="一句话说明，/pic styles 显示 (shown by /pic styles)",
                             json_schema_extra=ui("说明", "Description", "一句话说明，/pic styles 显示",
                                                  "One line shown by /pic styles and to the LLM."))
    prefix: str = Field(default="", max_length=500, description="加在提示词前面 (put before the prompt)",
                        json_schema_extra=ui("前缀", "Prefix", "加在提示词前面，如 watercolor painting,",
                                             "Put before the prompt, e.g. 'watercolor painting, '."))
    suffix: str = Field(default="", max_length=500, description="加在提示词后面 (put after the prompt)",
                        json_schema_extra=ui("后缀", "Suffix", "加在提示词后面", "Put after the prompt."))
    negative_prompt: str = Field(default="", max_length=500, description="追加的负面提示词 (added negative prompt)",
                                 json_schema_extra=ui("负面提示词", "Negative prompt", "追加到默认负面提示词后面",
                                                      "Added to the default negative prompt."))
    aspect: str = Field(default="", description="画面比例，空 = 不指定 (aspect; empty: no opinion)",
                        json_schema_extra=ui("画面比例", "Aspect ratio", "如 3:4；空 = 不指定",
                                             "e.g. 3:4; empty = no opinion."))
    backend: str = Field(default="", description="优先使用的后端名，空 = 按顺序 (backend tried first)",
                         json_schema_extra=ui("优先后端", "Preferred backend", "先试这个后端（按 name），失败再按顺序",
                                              "The backend (by name) tried first; the others follow in order."))
    aliases: list[str] = Field(default_factory=list, max_length=10, description="别名 (other names)",
                               json_schema_extra=ui("别名", "Aliases", "也能用这些名字选中", "Other names that pick it."))
    inputs: dict[str, InputValue] = Field(
        default_factory=dict, description="传给后端的额外参数，如 steps (extra backend inputs)",
        json_schema_extra=ui("后端参数", "Backend inputs", "如 { steps = 30 }，只有 SD WebUI 等接受自由参数的后端使用",
                             "e.g. { steps = 30 }; used by backends that take free-form inputs (SD WebUI)."),
    )

    @field_validator("aspect")
    @classmethod
    def _aspect(cls, value: str) -> str:
        value = value.strip().replace("：", ":")
        if value:
            parse_aspect(value)
        return value

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        return [check_style_name(alias) for alias in value]

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_INPUTS:
            raise ValueError(f"at most {MAX_INPUTS} inputs")
        for key in value:
            if not key.strip() or len(key) > 64:
                raise ValueError(f"input names must be 1 to 64 characters, got {key!r}")
        return value


def check_style_name(name: str) -> str:
    """A preset name or alias: 1 to 20 characters, no spaces, not a word that switches styles off."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or _BAD_NAME.search(name):
        raise ValueError(f"style names must be 1 to {MAX_NAME} characters without spaces, got {name!r}")
    if name.lower() in OFF_WORDS:
        raise ValueError(f"{name!r} cannot name a style: it switches the style off ({', '.join(sorted(OFF_WORDS))})")
    return name


def _check_names(value: dict[str, StylePreset]) -> dict[str, StylePreset]:
    seen: dict[str, str] = {}
    for name, preset in value.items():
        for spelled in (check_style_name(name), *preset.aliases):
            other = seen.setdefault(spelled.lower(), name)
            if other != name:
                raise ValueError(f"styles {other!r} and {name!r} are both called {spelled!r}")
    return value


# The root config's `styles`: name → preset, names and aliases unique (case-insensitive).
StylesMap = Annotated[dict[str, StylePreset], AfterValidator(_check_names)]


def styles_field() -> Any:
    """The `styles` field of the root config: `[styles."<名字>"]` tables."""
    return Field(default_factory=dict, description="画风预设，/pic style <名字> 选用 (style presets)",
                 json_schema_extra=ui("画风预设", "Style presets",
                                      "画风预设（[styles.\"名字\"]），/pic style <名字> 选用；请在源码（TOML）模式中编辑",
                                      "Named style presets, picked with /pic style <name>; edit them in the TOML view."))

