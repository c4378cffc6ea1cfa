"""Config models of the backends. The `type` key picks the model; the list order is the fallback chain."""

from __future__ import annotations

import re
from typing import Any, Literal, Optional
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator, model_validator

from .section import Section, setting

TEMPLATE_NAMES = ("prompt", "negative_prompt", "width", "height", "seed", "resolution", "aspect", "count")
_TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SPACE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class _BackendBase(Section):
    """What every `[[backends]]` entry has; each type adds its own keys and a `type` literal."""

    name: str = setting("", "名称", "Name", "后端名称，日志和 /pic status 中显示", "Shown in logs and /pic status.")
    enabled: bool = setting(True, "启用", "Enabled", "是否启用", "Use this backend.")
    timeout: float = setting(
        180.0, "总时限", "Timeout",
        "单次生成的总时限，秒",
        "Deadline of one generation, seconds.",
        gt=0, le=3600,
    )
    connect_timeout: float = setting(
        10.0, "连接超时", "Connect timeout",
        "连接超时，秒",
        "Connect timeout, seconds.",
        gt=0, le=120,
    )
    max_download_bytes: int = setting(
        20 * 1024 * 1024, "下载上限", "Download cap",
        "图片下载上限，字节",
        "Largest image downloaded, bytes.",
        ge=1024, le=200 * 1024 * 1024,
    )
    paid: bool = setting(
        False, "按次计费", "Paid",
        "按次计费：结果未知时绝不自动重发",
        "Paid per image: never resent automatically when the outcome is unknown.",
    )

    @field_validator("base_url", check_fields=False)
    @classmethod
    def _url(cls, value: str) -> str:
        return check_http_url(value, "base_url")


def check_http_url(value: str, key: str) -> str:
    value = value.strip().rstrip("/")
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{key} must be an http(s) URL like https://host[:port][/path]")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError(f"{key} has an invalid port (expected a number from 1 to 65535)")
    return value


class GradioBackendConfig(_BackendBase):
    """A Gradio app: a Hugging Face Space by id, or any Gradio server by URL."""

    type: Literal["gradio"] = setting("gradio", "类型", "Type")
    space: str = setting(
        "", "Space", "Space",
        "Hugging Face Space id，如 Tongyi-MAI/Z-Image-Turbo",
        "Hugging Face Space id, e.g. Tongyi-MAI/Z-Image-Turbo.",
        placeholder_zh="Tongyi-MAI/Z-Image-Turbo", placeholder_en="Tongyi-MAI/Z-Image-Turbo",
    )
    base_url: str = setting(
        "", "Gradio 地址", "Gradio URL",
        "或直接填 Gradio 地址，如 http://127.0.0.1:7860",
        "Or the URL of any Gradio app, e.g. http://127.0.0.1:7860.",
        placeholder_zh="http://127.0.0.1:7860", placeholder_en="http://127.0.0.1:7860",
    )
    preset: str = setting(
        "auto", "预设", "Preset",
        "内置预设：auto 按 Space 或接口自动选择 / z-image-turbo / flux-schnell / llm2pic-space / none",
        "Built-in preset: auto (by Space or endpoint) / z-image-turbo / flux-schnell / llm2pic-space / none.",
    )
    api_name: str = setting(
        "", "接口名", "Endpoint",
        "接口名，如 /generate；留空用预设",
        "Endpoint api_name such as /generate; empty = the preset's.",
    )
    fn_index: int = setting(
        -1, "事件序号", "fn_index",
        "按序号调用事件（Gradio 3 无接口名的应用）；-1 自动选择",
        "Call the event with this index (Gradio 3 apps without API names); -1 = choose automatically.",
        ge=-1,
    )
    inputs: dict[str, Any] = setting(
        label_zh="输入参数", label_en="Inputs",
        hint_zh="按参数名填写的输入，可用 {prompt} {negative_prompt} {width} {height} {seed} {resolution} {aspect} {count}；未填写的参数取接口默认值",
        hint_en="Inputs by parameter name, may use {prompt} {negative_prompt} {width} {height} {seed} {resolution} {aspect} {count}; others take the endpoint defaults.",
        factory=dict,
    )
    transport: Literal["auto", "queue", "call", "run"] = setting(
        "auto", "调用方式", "Transport",
        "auto / queue (4.x+) / call (4.20+) / run (3.x 的 /run/predict)",
        "auto / queue (4.x+) / call (4.20+) / run (3.x /run/predict).",
    )
    hf_token: SecretStr = setting(
        SecretStr(""), "HF Token", "HF token",
        "HF token，可留空",
        "Optional Hugging Face token.",
        secret=True,
    )
    hf_token_env: str = setting(
        "HF_TOKEN", "HF Token 环境变量", "HF token env variable",
        "从该环境变量读取 HF token",
        "Environment variable the token is read from.",
    )
    token_header: Literal["x-hf-authorization", "authorization", "both"] = setting(
        "x-hf-authorization", "Token 请求头", "Token header",
        "token 放在哪个请求头",
        "Which request header carries the token.",
    )
    zero_gpu: Literal["auto", "yes", "no"] = setting(
        "auto", "ZeroGPU", "ZeroGPU",
        "是否 ZeroGPU Space：auto = *.hf.space 视为是；同一 token（或匿名）的 ZeroGPU 额度用完时一起暂停",
        "ZeroGPU Space? auto = any *.hf.space; backends on one token's (or the anonymous) quota pause together.",
    )
    startup_wait: float = setting(
        90.0, "启动等待", "Startup wait",
        "Space 休眠/启动中时最多等待的秒数",
        "Longest wait for a sleeping or starting Space, seconds.",
        ge=0, le=900,
    )
    read_timeout: float = setting(
        45.0, "读取超时", "Read timeout",
        "两次服务器消息之间的最长间隔，秒；心跳每 15 秒一次",
        "Longest gap between two server messages, seconds; heartbeats come every 15 s.",
        ge=20, le=600,
    )
    prompt_languages: list[Literal["en", "zh"]] = setting(
        label_zh="提示词语言", label_en="Prompt languages",
        hint_zh="模型能理解的提示词语言；留空用预设",
        hint_en="Languages the model understands; empty = the preset's.",
        factory=list,
    )

    @field_validator("space")
    @classmethod
    def _space(cls, value: str) -> str:
        value = value.strip().strip("/")
        if value and not _SPACE_ID.match(value):
            raise ValueError("space must look like owner/name, e.g. Tongyi-MAI/Z-Image-Turbo")
        return value

    @field_validator("api_name")
    @classmethod
    def _api_name(cls, value: str) -> str:
        value = value.strip()
        return "/" + value.lstrip("/") if value else ""

    @field_validator("inputs")
    @classmethod
    def _templates(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            if isinstance(item, str):
                for name in _TEMPLATE.findall(item):
                    if name not in TEMPLATE_NAMES:
                        allowed = ", ".join("{" + n + "}" for n in TEMPLATE_NAMES)
                        raise ValueError(f"inputs.{key} uses unknown template {{{name}}}; allowed: {allowed}")
        return value

    @model_validator(mode="after")
    def _target(self) -> "GradioBackendConfig":
        if bool(self.space) == bool(self.base_url):
            raise ValueError("set exactly one of space (owner/name) or base_url")
        if not self.name:
            # host[:port] only: a user:password@ in the URL must not become the name shown everywhere
            netloc = urlsplit(self.base_url).netloc.rpartition("@")[2]
            self.name = (self.space or netloc).split("/")[-1].lower()
        return self

    def secret_values(self) -> list[str]:
        return [self.hf_token.get_secret_value()]


class OpenAIBackendConfig(_BackendBase):
    """An OpenAI-compatible images API (or an images-through-chat provider)."""

    type: Literal["openai"] = setting("openai", "类型", "Type")
    base_url: str = setting(
        "https://api.openai.com/v1", "API 地址", "API base URL",
        "API 地址，含 /v1",
        "API base URL including /v1.",
        placeholder_zh="https://api.openai.com/v1", placeholder_en="https://api.openai.com/v1",
    )
    api_key: SecretStr = setting(
        SecretStr(""), "API Key", "API key",
        "API key，也可用 api_key_env",
        "API key; may instead come from api_key_env.",
        secret=True,
    )
    api_key_env: str = setting(
        "OPENAI_API_KEY", "API Key 环境变量", "API key env variable",
        "从该环境变量读取 key",
        "Environment variable the key is read from.",
    )
    model: str = setting("gpt-image-1", "模型", "Model")
    mode: Literal["images", "chat"] = setting(
        "images", "接口类型", "Endpoint kind",
        "images = /images/generations；chat = 经 /chat/completions 出图",
        "images = /images/generations; chat = images through /chat/completions.",
    )
    family: Literal["auto", "gpt-image", "gpt-image-2", "dall-e-2", "dall-e-3", "xai", "other"] = setting(
        "auto", "模型家族", "Model family",
        "模型家族，决定尺寸和返回格式；auto 按模型名判断",
        "Decides sizes and answer format; auto = from the model name.",
    )
    size: str = setting(
        "auto", "尺寸", "Size",
        "auto 按画面比例选择，或固定如 1024x1024",
        "auto = from the aspect ratio, or fixed such as 1024x1024.",
    )
    quality: str = setting("", "画质", "Quality", "画质参数，留空不发送", "Quality parameter; empty = not sent.")
    response_format: Literal["auto", "b64_json", "url", "none"] = setting(
        "auto", "返回格式", "Response format",
        "dall-e / 其他模型的返回格式；gpt-image 总是 b64_json",
        "Answer format of dall-e and other models; gpt-image always answers b64_json.",
    )
    output_format: Literal["png", "jpeg", "webp", ""] = setting(
        "png", "输出格式", "Output format",
        "gpt-image 的输出格式，留空不发送",
        "Output format of gpt-image; empty = not sent.",
    )
    extra_body: dict[str, Any] = setting(
        label_zh="额外请求字段", label_en="Extra body",
        hint_zh="原样并入请求体的额外字段",
        hint_en="Extra JSON fields merged into the request body as they are.",
        factory=dict,
    )
    chat_modalities: list[str] = setting(
        label_zh="chat modalities", label_en="Chat modalities",
        hint_zh="chat 模式发送的 modalities，留空不发送",
        hint_en="Modalities sent in chat mode; empty = not sent.",
        factory=lambda: ["image", "text"],
    )
    chat_image_config: Literal["auto", "on", "off"] = setting(
        "auto", "chat 比例参数", "Chat image_config",
        "chat 模式是否发送 image_config.aspect_ratio；auto = 仅 OpenRouter",
        "Whether chat mode sends image_config.aspect_ratio; auto = only to OpenRouter.",
    )
    chat_instruction: str = setting(
        "", "chat 前缀说明", "Chat instruction",
        "chat 模式放在提示词前的说明，如 \"Generate an image:\"",
        "Text put before the prompt in chat mode, e.g. \"Generate an image:\".",
    )
    prompt_languages: list[Literal["en", "zh"]] = setting(
        label_zh="提示词语言", label_en="Prompt languages",
        hint_zh="模型能理解的提示词语言；留空 = en 和 zh",
        hint_en="Languages the model understands; empty = en and zh.",
        factory=list,
    )
    paid: bool = setting(
        True, "按次计费", "Paid",
        "按次计费：结果未知时绝不自动重发",
        "Paid per image: never resent automatically when the outcome is unknown.",
    )

    @field_validator("size")
    @classmethod
    def _size(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("auto", "") and not re.fullmatch(r"\d{2,5}x\d{2,5}", value):
            raise ValueError("size must be auto or WIDTHxHEIGHT, e.g. 1024x1024")
        return value or "auto"

    @model_validator(mode="after")
    def _name(self) -> "OpenAIBackendConfig":
        if not self.name:
            self.name = f"openai-{self.model}".lower()
        return self

    def secret_values(self) -> list[str]:
        return [self.api_key.get_secret_value()]


class HFInferenceBackendConfig(_BackendBase):
    """The Hugging Face Inference API (text-to-image through the HF router)."""

    type: Literal["hf_inference"] = setting("hf_inference", "类型", "Type")
    base_url: str = setting("https://router.huggingface.co/hf-inference", "Inference 地址", "Inference base URL")
    model: str = setting("black-forest-labs/FLUX.1-schnell", "模型 id", "Model id")
    token: SecretStr = setting(SecretStr(""), "HF Token", "HF token", "HF token", "Hugging Face token.", secret=True)
    token_env: str = setting(
        "HF_TOKEN", "HF Token 环境变量", "HF token env variable",
        "从该环境变量读取 token",
        "Environment variable the token is read from.",
    )
    num_inference_steps: Optional[int] = setting(
        None, "步数", "Steps",
        "步数，留空用模型默认",
        "Inference steps; empty = the model default.",
        ge=1, le=150,
    )
    guidance_scale: Optional[float] = setting(
        None, "引导强度", "Guidance scale",
        "引导强度，留空用模型默认",
        "Guidance scale; empty = the model default.",
        ge=0, le=50,
    )
    size_multiple: int = setting(
        64, "尺寸倍数", "Size multiple",
        "宽高取整到该倍数",
        "Width and height are rounded to a multiple of this.",
        ge=8, le=128,
    )
    model_wait: float = setting(
        120.0, "模型加载等待", "Model load wait",
        "模型加载中 (503) 时最多等待的秒数",
        "Longest wait while the model is loading (503), seconds.",
        ge=0, le=600,
    )
    prompt_languages: list[Literal["en", "zh"]] = setting(
        label_zh="提示词语言", label_en="Prompt languages",
        hint_zh="模型能理解的提示词语言；留空 = en",
        hint_en="Languages the model understands; empty = en.",
        factory=list,
    )
    paid: bool = setting(
        True, "消耗额度", "Paid",
        "消耗额度：结果未知时绝不自动重发",
        "Uses up credit: never resent automatically when the outcome is unknown.",
    )

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not value or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-/]*", value) or ".." in value:
            raise ValueError("model must be a Hugging Face model id like black-forest-labs/FLUX.1-schnell")
        return value

    @model_validator(mode="after")
    def _name(self) -> "HFInferenceBackendConfig":
        if not self.name:
            self.name = "hf-" + self.model.split("/")[-1].lower()
        return self

    def secret_values(self) -> list[str]:
        return [self.token.get_secret_value()]


def default_backends() -> list[GradioBackendConfig]:
    return [GradioBackendConfig(name="z-image-turbo", space="Tongyi-MAI/Z-Image-Turbo")]
