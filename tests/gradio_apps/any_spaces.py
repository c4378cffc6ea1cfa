"""Text-to-image apps shaped like popular Spaces, one per shape class, for "draws from its address
alone" tests. The same source runs on Gradio 3.50, 4.44, 5.x and 6.x; no app passes `api_name`
except where the Space it imitates does (so on Gradio 3 most events have no API name at all).

  flux        FLUX.1-schnell: Prompt, seed slider + randomize checkbox, width/height sliders (256..2048
              step 32), steps; gr.Examples with cache_examples; button click and prompt submit
              registered as two events of the same function; → (image, seed)
  interface   a gr.Interface (one textbox → image) with cached examples: flag and example events
  lightning   SDXL-Lightning: a text→text "enhance" endpoint, the image function registered twice,
              a step dropdown, a demo.load handler, a lambda helper; no size control → gallery
  chinese     Chinese labels, function arguments that say nothing (text_in, w, h), a negative prompt,
              an optional reference image without default, width/height sliders with step 48 and a
              maximum of 1400 (not a multiple of the step), 种子 + 随机种子
  landscape   HiDream: a "1360 × 768 (Landscape)" resolution radio and a model radio, api_name
              "generate", gr.Examples without caching; → (image, seed as text)
  ratio       Qwen-Image: an aspect-ratio radio ("16:9") only, seed + randomize, api_name "infer"

Each image is the requested size / 16, coloured by its inputs, so tests can read back what arrived.
Usage: python any_spaces.py NAME=PORT [NAME=PORT ...]
"""

import hashlib
import os
import sys
import time

import gradio as gr
from PIL import Image

MAJOR = int(gr.__version__.split(".")[0])


def picture(text, seed, width, height):
    digest = hashlib.sha256(f"{text}|{int(seed)}".encode()).digest()
    return Image.new("RGB", (max(8, int(width) // 16), max(8, int(height) // 16)), tuple(digest[:3]))


def random_seed():
    return int.from_bytes(os.urandom(3), "big")


def examples(**kwargs):
    """gr.Examples with caching where this Gradio version supports it without a running queue."""
    return gr.Examples(**kwargs)


def flux_app():
    def infer(prompt, seed=42, randomize_seed=False, width=1024, height=1024, num_inference_steps=4):
        if randomize_seed:
            seed = random_seed()
        return picture(f"{prompt}|{num_inference_steps}", seed, width, height), seed

    with gr.Blocks() as demo:
        gr.Markdown("# FLUX.1 [schnell]")
        prompt = gr.Textbox(label="Prompt", show_label=False, max_lines=1, placeholder="Enter your prompt")
        run_button = gr.Button("Run")
        result = gr.Image(label="Result", show_label=False)
        seed = gr.Slider(label="Seed", minimum=0, maximum=2147483647, step=1, value=0)
        randomize_seed = gr.Checkbox(label="Randomize seed", value=True)
        width = gr.Slider(label="Width", minimum=256, maximum=2048, step=32, value=1024)
        height = gr.Slider(label="Height", minimum=256, maximum=2048, step=32, value=1024)
        steps = gr.Slider(label="Number of inference steps", minimum=1, maximum=50, step=1, value=4)
        examples(examples=["a tiny astronaut hatching from an egg on the moon", "a cat holding a sign"],
                 fn=infer, inputs=[prompt], outputs=[result, seed], cache_examples=True)
        inputs = [prompt, seed, randomize_seed, width, height, steps]
        run_button.click(infer, inputs=inputs, outputs=[result, seed])
        prompt.submit(infer, inputs=inputs, outputs=[result, seed])
    return demo


def interface_app():
    def draw_picture(description):
        return picture(description, 0, 512, 512)

    return gr.Interface(fn=draw_picture, inputs=gr.Textbox(label="Describe the picture"),
                        outputs=gr.Image(label="Picture"), examples=[["a lighthouse"]], cache_examples=True)


def lightning_app():
    def enhance_prompt(prompt):
        return f"{prompt}, highly detailed, 8k"

    def generate_image(prompt, ckpt):
        steps = int(ckpt.split("-")[0])
        return [picture(f"{prompt}|{steps}", 0, 1024, 1024)]

    def greet():
        return "ready"

    with gr.Blocks() as demo:
        status = gr.Textbox(label="Status")
        with gr.Row():
            prompt = gr.Textbox(label="Enter your prompt (English)", scale=8)
            ckpt = gr.Dropdown(label="Select inference steps", choices=["1-Step", "2-Step", "4-Step", "8-Step"],
                               value="4-Step", interactive=True)
            submit = gr.Button("Run", scale=1)
        enhance = gr.Button("Enhance prompt")
        fast = gr.Checkbox(label="Fast mode", value=True)
        gallery = gr.Gallery(label="Generated images")
        enhance.click(enhance_prompt, inputs=[prompt], outputs=[prompt])
        prompt.submit(generate_image, inputs=[prompt, ckpt], outputs=gallery)
        submit.click(generate_image, inputs=[prompt, ckpt], outputs=gallery)
        fast.change(lambda on: "fast" if on else "slow", inputs=[fast], outputs=[status])
        demo.load(greet, inputs=None, outputs=[status])
    return demo


def chinese_app():
    def generate(text_in, neg, ref_image, w, h, seed, randomize):
        if randomize:
            seed = random_seed()
        mark = "ref" if ref_image is not None else "noref"
        return picture(f"{text_in}|{neg}|{mark}", seed, w, h), seed

    with gr.Blocks() as demo:
        text = gr.Textbox(label="提示词（支持中英文，越详细越好）", lines=3)
        negative = gr.Textbox(label="反向提示词", value="")
        reference = gr.Image(label="参考图（可选）", type="pil")
        width = gr.Slider(label="宽度", minimum=256, maximum=1400, step=48, value=1024)
        height = gr.Slider(label="高度", minimum=256, maximum=1400, step=48, value=1024)
        seed = gr.Number(label="种子", value=7, precision=0)
        randomize = gr.Checkbox(label="随机种子", value=True)
        result = gr.Image(label="生成结果")
        button = gr.Button("生成")
        button.click(generate, inputs=[text, negative, reference, width, height, seed, randomize],
                     outputs=[result, seed])
    return demo


LANDSCAPE = ["1024 × 1024 (Square)", "768 × 1360 (Portrait)", "1360 × 768 (Landscape)",
             "880 × 1168 (Portrait)", "1168 × 880 (Landscape)"]


def landscape_app():
    def generate(model_type, prompt, resolution, seed):
        if seed < 0:
            seed = random_seed()
        width, height = (int(part) for part in resolution.split(" (")[0].split(" × "))
        return picture(f"{prompt}|{model_type}", seed, width, height), str(int(seed))

    with gr.Blocks() as demo:
        model_type = gr.Radio(["fast", "dev", "full"], value="fast", label="Model Type")
        prompt = gr.Textbox(label="Prompt", placeholder="A cat holding a sign that says \"Hi-Dreams.ai\".")
        resolution = gr.Radio(choices=LANDSCAPE, value=LANDSCAPE[0], label="Resolution")
        seed = gr.Number(label="Seed (use -1 for random)", value=-1, precision=0)
        button = gr.Button("Generate")
        output = gr.Image(label="Generated Image")
        seed_used = gr.Textbox(label="Seed used")
        examples(examples=[["fast", "a cat", LANDSCAPE[0], 1]], inputs=[model_type, prompt, resolution, seed])
        button.click(generate, inputs=[model_type, prompt, resolution, seed], outputs=[output, seed_used],
                     api_name="generate")
    return demo


RATIOS = {"1:1": (1328, 1328), "16:9": (1664, 928), "9:16": (928, 1664), "4:3": (1472, 1140),
          "3:4": (1140, 1472), "3:2": (1584, 1056), "2:3": (1056, 1584)}


def ratio_app():
    def infer(prompt, seed, randomize_seed, aspect_ratio, guidance_scale, num_inference_steps, prompt_enhance):
        if randomize_seed:
            seed = random_seed()
        width, height = RATIOS[aspect_ratio]
        return picture(f"{prompt}|{guidance_scale}", seed, width, height), seed

    with gr.Blocks() as demo:
        prompt = gr.Textbox(label="Prompt", show_label=False, placeholder="Enter your prompt")
        run = gr.Button("Run")
        result = gr.Image(label="Result", show_label=False)
        seed = gr.Slider(label="Seed", minimum=0, maximum=2147483647, step=1, value=0)
        randomize_seed = gr.Checkbox(label="Randomize seed", value=True)
        aspect = gr.Radio(label="Aspect ratio (width:height)", choices=list(RATIOS), value="1:1")
        guidance = gr.Slider(label="Guidance scale", minimum=1.0, maximum=10.0, step=0.1, value=4.0)
        steps = gr.Slider(label="Number of inference steps", minimum=1, maximum=50, step=1, value=50)
        enhance = gr.Checkbox(label="Prompt Enhance", value=True)
        run.click(infer, inputs=[prompt, seed, randomize_seed, aspect, guidance, steps, enhance],
                  outputs=[result, seed], api_name="infer")
    return demo


APPS = {"flux": flux_app, "interface": interface_app, "lightning": lightning_app, "chinese": chinese_app,
        "landscape": landscape_app, "ratio": ratio_app}

if __name__ == "__main__":
    for argument in sys.argv[1:]:
        name, port = argument.split("=")
        app = APPS[name]()
        app.queue()
        app.launch(server_name="127.0.0.1", server_port=int(port), show_error=False, quiet=True,
                   prevent_thread_lock=True)
    while True:
        time.sleep(3600)
