"""LLM2Pic Space: a text-to-image Gradio app (diffusers locally, or the Hugging Face Inference API).

Run it with `python app.py`; GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose where it listens.
Environment: MODEL_ID, ENGINE (auto | diffusers | inference), DEVICE (auto | cuda | cpu),
MODEL_FAMILY, HF_TOKEN, INFERENCE_API_URL, QUEUE_MAX_SIZE, CONCURRENCY_LIMIT (see README.md).

The API contract (kept on every supported Gradio version): the first event is api_name="predict"
with inputs prompt, negative_prompt, guidance_scale, num_inference_steps, width, height, seed
(-1 = random), num_outputs (1-4), and outputs a gallery and the seed used. `POST /run/predict`
with {"data": [...8 values...]} works as on Gradio 3, here and on a Space.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

try:  # ZeroGPU: `spaces` must be imported before torch touches CUDA
    import spaces
except ImportError:
    spaces = None

import gradio as gr

from app_checks import Admission, NsfwError, UserFacingError, check_job
from app_diffusers import Output
from app_settings import MAX_COUNT, MAX_PROMPT_CHARS, MIN_SIDE, Family, Settings, SettingsError, gpu_seconds

log = logging.getLogger("llm2pic.space")
EXAMPLES = [
    ["a corgi astronaut floating above the earth, digital art"],
    ["a cozy tea house in a rainy Chinese water town at dusk, watercolor"],
    ["portrait of a red fox in a snowy forest, soft light, photograph"],
]
LEGACY_PATHS = ("/run/predict", "/run/predict/", "/api/predict", "/api/predict/")


def zero_gpu() -> bool:
    return spaces is not None and os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def load_engine(settings: Settings) -> Any:
    engine = settings.engine
    if engine == "auto":
        engine = "diffusers" if importlib.util.find_spec("torch") is not None else "inference"
    if engine == "diffusers":
        from app_diffusers import DiffusersEngine
        return DiffusersEngine(settings, zero_gpu=zero_gpu())
    from app_inference import InferenceEngine
    return InferenceEngine(settings)


def make_runner(engine: Any) -> Callable[[Any], Output]:
    """engine.generate, wrapped for ZeroGPU with a duration that fits the job's steps, size and count."""
    if engine.name != "diffusers" or not zero_gpu():
        return engine.generate

    def duration(job: Any) -> int:
        return gpu_seconds(engine.family, job.num_inference_steps, job.width, job.height, job.count)

    return spaces.GPU(duration=duration)(engine.generate)


def make_predict(family: Family, run: Callable[[Any], Output], admission: Admission) -> Callable[..., Any]:
    # The parameter names and defaults are the API: /info shows them and clients fill in the defaults.
    def predict(prompt: str = "", negative_prompt: str = "", guidance_scale: float = family.guidance,
                num_inference_steps: int = family.steps, width: int = family.default_size,
                height: int = family.default_size, seed: int = -1, num_outputs: int = 1):
        try:
            job = check_job(family, prompt, negative_prompt, guidance_scale, num_inference_steps, width, height,
                            seed, num_outputs)
            with admission.enter():
                output = run(job)
            images = [image for image, flagged in zip(output.images, output.nsfw) if not flagged]
            if not images:
                raise NsfwError()
        except UserFacingError as exc:
            raise gr.Error(str(exc)) from None
        return images, job.seed

    return predict


def build_ui(engine: Any, predict: Callable[..., Any]) -> gr.Blocks:
    family: Family = engine.family
    with gr.Blocks(title="LLM2Pic") as demo:
        gr.Markdown(f"## LLM2Pic 文生图 / Text to image\n模型 Model: `{engine.description}`  \n"
                    f"默认 Defaults: {family.steps} 步 steps, CFG {family.guidance:g}; 尺寸 sizes {MIN_SIDE}–"
                    f"{family.max_side} px (×{family.multiple}), ≤ {family.max_pixels / 2**20:.1f} MP")
        with gr.Row():
            prompt = gr.Textbox(label="提示词 / Prompt", value="", lines=2, scale=5,
                                placeholder=f"描述你想要的画面（英文效果最好，最长 {MAX_PROMPT_CHARS} 字） / "
                                            "Describe the picture (English works best)")
            run = gr.Button("生成 / Generate", variant="primary", scale=1)
        with gr.Accordion("高级选项 / Advanced options", open=False):
            negative = gr.Textbox(label="反向提示词 / Negative prompt", value="", lines=1)
            with gr.Row():
                steps = gr.Slider(1, family.max_steps, value=family.steps, step=1, label="步数 / Steps")
                guidance = gr.Slider(0, family.max_guidance, value=family.guidance, step=0.1,
                                     label="引导强度 / Guidance scale (CFG)")
            with gr.Row():
                width = gr.Slider(MIN_SIDE, family.max_side, value=family.default_size, step=family.multiple,
                                  label="宽 / Width")
                height = gr.Slider(MIN_SIDE, family.max_side, value=family.default_size, step=family.multiple,
                                   label="高 / Height")
            with gr.Row():
                seed = gr.Number(value=-1, precision=0, label="种子 / Seed (-1 = 随机 random)")
                count = gr.Number(value=1, precision=0, label=f"图片数量 / Number of images (1–{MAX_COUNT})")
        gallery = gr.Gallery(label="结果 / Images", format="png", columns=2, height="auto")
        seed_used = gr.Number(value=None, label="使用的种子 / Seed used", precision=0, interactive=False)
        # The first event of the app, named "predict": the API contract.
        gr.on(triggers=[run.click, prompt.submit], fn=predict,
              inputs=[prompt, negative, guidance, steps, width, height, seed, count],
              outputs=[gallery, seed_used], api_name="predict")
        gr.Examples(examples=EXAMPLES, inputs=[prompt], cache_examples=False, label="示例 / Examples")
    return demo


class LegacyRoute:
    """`POST /run/predict` outside Gradio 5/6's /gradio_api prefix, as the seed's curl sends it: the
    request is handed to Gradio's own prefixed route, so it behaves exactly like it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = self.prefix + scope["path"]
        await scope["app"].router({**scope, "path": path, "raw_path": path.encode()}, receive, send)


def legacy_routes() -> list[Any]:
    try:
        from gradio.route_utils import API_PREFIX
    except ImportError:  # Gradio 4 serves /run/predict itself
        return []
    if not API_PREFIX:
        return []
    from starlette.routing import Route
    handler = LegacyRoute(API_PREFIX)
    return [Route(path, handler, methods=["POST"]) for path in LEGACY_PATHS]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"LLM2Pic Space: {exc}")
    engine = load_engine(settings)
    admission = Admission(settings.concurrency, settings.queue_max_size)
    demo = build_ui(engine, make_predict(engine.family, make_runner(engine), admission))
    # api_open: on a Space, Gradio closes the direct POST routes unless the app opens them.
    demo.queue(max_size=settings.queue_max_size, default_concurrency_limit=settings.concurrency, api_open=True)
    demo.launch(show_error=True, ssr_mode=False, app_kwargs={"routes": legacy_routes()})


if __name__ == "__main__":
    main()
