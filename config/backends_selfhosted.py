"""Config models of the self-hosted backends: SD WebUI (AUTOMATIC1111 / Forge) and ComfyUI."""

from __future__ import annotations

import re
from typing import Any, Literal, Optional
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator, model_validator

from .backends import _BackendBase
from .section import setting

COMFYUI_ROLES = ("prompt", "negative_prompt", "seed", "width", "height", "steps", "batch", "image", "model")
_NODE_INPUT = re.compile(r"^([^.\s]+)\.([A-Za-z0-9_][A-Za-z0-9_ \-]*)$")


class _SelfHostedBase(_BackendBase):
    """What both self-hosted backends share: a URL on the user's own machine and a pixel budget."""

    timeout: float = setting(
        600.0, "总时限", "Timeout",
        "单次生成的总时限（含排队等待其他人的任务），秒；任务总时限 [chain] deadline 同样生效",
        "Deadline of one generation including the wait behind other jobs, seconds; [chain] deadline applies too.",
        gt=0, le=3600,
    )
    pixels: int = setting(
        1024 * 1024, "像素预算", "Pixel budget",
        "按画面比例算宽高时的像素总数，如 SDXL/FLUX 1048576 (1024×1024)，SD 1.5 262144 (512×512)",
        "Width × height when the size comes from the aspect ratio: 1048576 for SDXL/FLUX, 262144 for SD 1.5.",
        ge=64 * 64, le=4096 * 4096,
    )
    size_multiple: int = setting(
        64, "尺寸倍数", "Size multiple",
        "宽高取整到该倍数",
        "Width and height are rounded to a multiple of this.",
        ge=8, le=128,
    )
    prompt_languages: list[Literal["en", "zh"]] = setting(
        label_zh="提示词语言", label_en="Prompt languages",
        hint_zh="模型能理解的提示词语言；留空 = en",
        hint_en="Languages the model understands; empty = en.",
        factory=list,
    )

    @model_validator(mode="after")
    def _url_and_name(self) -> "_SelfHostedBase":
        if not self.base_url:
            raise ValueError(f"base_url is required for type = \"{self.type}\", e.g. http://127.0.0.1:7860")
        if not self.name:
            self.name = f"{self.type}-{urlsplit(self.base_url).netloc}".lower()
        return self


class SDWebUIBackendConfig(_SelfHostedBase):
    """AUTOMATIC1111 stable-diffusion-webui or Forge started with --api."""

    type: Literal["sd_webui"] = setting("sd_webui", "类型", "Type")
    base_url: str = setting(
        "", "WebUI 地址", "WebUI URL",
        "WebUI 地址（启动时需加 --api），如 http://127.0.0.1:7860",
        "URL of the WebUI started with --api, e.g. http://127.0.0.1:7860.",
        placeholder_zh="http://127.0.0.1:7860", placeholder_en="http://127.0.0.1:7860",
    )
    username: str = setting(
        "", "用户名", "Username",
        "--api-auth 的用户名，留空不认证",
        "User name of --api-auth; empty = no authentication.",
    )
    password: SecretStr = setting(
        SecretStr(""), "密码", "Password",
        "--api-auth 的密码，也可用 password_env",
        "Password of --api-auth; may instead come from password_env.",
        secret=True,
    )
    password_env: str = setting(
        "", "密码环境变量", "Password env variable",
        "从该环境变量读取密码",
        "Environment variable the password is read from.",
    )
    model: str = setting(
        "", "模型", "Checkpoint",
        "模型（checkpoint）名，如 sd_xl_base_1.0.safetensors；留空用 WebUI 当前选中的模型",
        "Checkpoint name such as sd_xl_base_1.0.safetensors; empty = the one selected in the WebUI.",
    )
    sampler_name: str = setting(
        "", "采样器", "Sampler",
        "采样器，如 DPM++ 2M、Euler a；留空用 WebUI 默认",
        "Sampler such as DPM++ 2M or Euler a; empty = the WebUI default.",
    )
    scheduler: str = setting(
        "", "调度器", "Scheduler",
        "调度器，如 Karras、Automatic（WebUI 1.9+）；留空用 WebUI 默认",
        "Scheduler such as Karras or Automatic (WebUI 1.9+); empty = the WebUI default.",
    )
    steps: Optional[int] = setting(
        None, "步数", "Steps",
        "步数，留空用 WebUI 默认",
        "Sampling steps; empty = the WebUI default.",
        ge=1, le=150,
    )
    cfg_scale: Optional[float] = setting(
        None, "CFG", "CFG scale",
        "CFG 引导强度，留空用 WebUI 默认",
        "CFG scale; empty = the WebUI default.",
        ge=0, le=30,
    )
    denoising_strength: Optional[float] = setting(
        None, "重绘幅度", "Denoising strength",
        "有参考图（img2img）时的重绘幅度 0–1，留空用 WebUI 默认 0.75",
        "Denoising strength of img2img (with a reference image), 0–1; empty = the WebUI default 0.75.",
        ge=0, le=1,
    )
    extra: dict[str, Any] = setting(
        label_zh="额外请求字段", label_en="Extra body",
        hint_zh="原样并入 txt2img/img2img 请求体的字段，如 alwayson_scripts、enable_hr、hr_scale",
        hint_en="Fields merged into the txt2img/img2img body as they are, e.g. alwayson_scripts, enable_hr, hr_scale.",
        factory=dict,
    )
    progress_interval: float = setting(
        1.0, "进度查询间隔", "Progress interval",
        "生成时查询 /sdapi/v1/progress 的间隔，秒",
        "How often /sdapi/v1/progress is polled while drawing, seconds.",
        ge=0.2, le=30,
    )

    def secret_values(self) -> list[str]:
        return [self.password.get_secret_value()]


class ComfyUIBackendConfig(_SelfHostedBase):
    """ComfyUI running an API-format workflow."""

    type: Literal["comfyui"] = setting("comfyui", "类型", "Type")
    base_url: str = setting(
        "", "ComfyUI 地址", "ComfyUI URL",
        "ComfyUI 地址，如 http://127.0.0.1:8188",
        "URL of ComfyUI, e.g. http://127.0.0.1:8188.",
        placeholder_zh="http://127.0.0.1:8188", placeholder_en="http://127.0.0.1:8188",
    )
    username: str = setting(
        "", "用户名", "Username",
        "ComfyUI 本身没有登录；放在带 HTTP Basic 认证的反向代理后面时填写，留空不认证",
        "ComfyUI has no login of its own; fill in when it sits behind a reverse proxy with HTTP Basic auth.",
    )
    password: SecretStr = setting(
        SecretStr(""), "密码", "Password",
        "反向代理的 HTTP Basic 密码，也可用 password_env",
        "HTTP Basic password of the reverse proxy; may instead come from password_env.",
        secret=True,
    )
    password_env: str = setting(
        "", "密码环境变量", "Password env variable",
        "从该环境变量读取密码",
        "Environment variable the password is read from.",
    )
    workflow: str = setting(
        "", "工作流文件", "Workflow file",
        "API 格式（Export (API)）工作流 JSON 的路径；留空 = 内置 checkpoint 工作流，builtin:flux = 内置 FLUX 工作流",
        "Path of an API-format workflow JSON (Export (API)); empty = the built-in checkpoint workflow, "
            "builtin:flux = the built-in FLUX one.",
    )
    nodes: dict[str, str] = setting(
        label_zh="节点映射", label_en="Node mapping",
        hint_zh="角色 → \"节点id.输入名\"，如 { prompt = \"6.text\", seed = \"3.seed\" }；角色：" + " ".join(COMFYUI_ROLES)
            + "；不填的角色从工作流自动识别",
        hint_en="Role → \"node_id.input\", e.g. { prompt = \"6.text\", seed = \"3.seed\" }; roles: " + " ".join(COMFYUI_ROLES)
            + "; roles left out are found from the workflow.",
        factory=dict,
    )
    pixels: Optional[int] = setting(
        None, "像素预算", "Pixel budget",
        "按画面比例算宽高时的像素总数；留空 = 工作流里空白 latent 的宽×高",
        "Width × height when the size comes from the aspect ratio; empty = the workflow's empty-latent size.",
        ge=64 * 64, le=4096 * 4096,
    )
    model: str = setting(
        "", "模型", "Model file",
        "模型文件名，写入工作流的 checkpoint/UNET 加载器；留空用工作流里写的",
        "Model file name put into the workflow's checkpoint/UNET loader; empty = the workflow's own.",
    )
    steps: Optional[int] = setting(
        None, "步数", "Steps",
        "步数，留空用工作流里的",
        "Sampling steps; empty = the workflow's own.",
        ge=1, le=150,
    )
    websocket: bool = setting(
        True, "使用 WebSocket", "Use websocket",
        "用 websocket 接收进度和完成通知；关闭或连不上时改为轮询 /history",
        "Receive progress and completion over the websocket; off or unreachable = poll /history.",
    )
    poll_interval: float = setting(
        1.0, "轮询间隔", "Poll interval",
        "不用 websocket 时轮询 /history 的间隔，秒",
        "How often /history is polled without the websocket, seconds.",
        ge=0.2, le=30,
    )

    @field_validator("workflow")
    @classmethod
    def _workflow(cls, value: str) -> str:
        return value.strip()

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, value: dict[str, str]) -> dict[str, str]:
        for role, target in value.items():
            if role not in COMFYUI_ROLES:
                raise ValueError(f"nodes.{role}: unknown role; roles are {', '.join(COMFYUI_ROLES)}")
            if not isinstance(target, str) or not _NODE_INPUT.match(target.strip()):
                raise ValueError(f"nodes.{role} must look like \"node_id.input\", e.g. \"6.text\"")
        return {role: target.strip() for role, target in value.items()}

    def secret_values(self) -> list[str]:
        return [self.password.get_secret_value()]
