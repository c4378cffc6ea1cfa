"""One Gradio app for every major version (3.50, 4.44, 5.x, 6.x), run by the tests on 127.0.0.1.

Endpoints, shaped like the Spaces the plugin talks to:
  /generate  Z-Image-Turbo: (prompt, resolution dropdown, seed, steps, shift, random_seed, gallery)
             → (gallery of PNG, seed as str, seed as int); a prompt containing "nsfw" gives the
             app's nsfw.png placeholder, as the real Space does
  /infer     FLUX.1-schnell: (prompt, seed, randomize_seed, width, height, steps) → (image, seed)
  /quota     raises gr.Error with a ZeroGPU title and "Try again in 0:09:48"
  /crash     raises ValueError (details hidden by Gradio)
  /slow      reports gr.Progress steps and a gr.Info log line, then returns an image
  /predict   the classic one-textbox Interface shape, called through /run/predict
  /edit      image-to-image: (prompt, input image, strength, seed, number of images) → (gallery, seed):
             the input picture blended with a colour from the prompt and seed, at its own size, as
             many as asked; no input image is a gr.Error

Images are tiny (the requested size / 16) and coloured by the prompt and seed so tests can check
that the inputs really arrived.  Usage: python lab_app.py PORT
"""

import hashlib
import os
import sys
import tempfile
import time

import gradio as gr
from PIL import Image

MAJOR = int(gr.__version__.split(".")[0])
RESOLUTIONS = [
    "1024x1024 ( 1:1 )", "1152x896 ( 9:7 )", "896x1152 ( 7:9 )", "1152x864 ( 4:3 )", "864x1152 ( 3:4 )",
    "1248x832 ( 3:2 )", "832x1248 ( 2:3 )", "1280x720 ( 16:9 )", "720x1280 ( 9:16 )",
    "1344x576 ( 21:9 )", "576x1344 ( 9:21 )",
]


def picture(prompt, seed, width, height):
    digest = hashlib.sha256(f"{prompt}|{int(seed)}".encode()).digest()
    return Image.new("RGB", (max(8, int(width) // 16), max(8, int(height) // 16)), tuple(digest[:3]))


def nsfw_placeholder():
    folder = tempfile.mkdtemp(prefix="lab-nsfw-")
    path = os.path.join(folder, "nsfw.png")
    Image.new("RGB", (8, 8), (0, 0, 0)).save(path)
    return path


def generate(prompt, resolution, seed, steps, shift, random_seed, gallery_images):
    if random_seed:
        seed = int.from_bytes(os.urandom(3), "big")
    width, height = (int(part) for part in resolution.split(" ")[0].split("x"))
    image = nsfw_placeholder() if "nsfw" in prompt.lower() else picture(f"{prompt}|{steps}|{shift}", seed, width, height)
    return [image], str(int(seed)), int(seed)


def infer(prompt, seed, randomize_seed, width, height, steps):
    if randomize_seed:
        seed = int.from_bytes(os.urandom(3), "big")
    return picture(f"{prompt}|{steps}", seed, width, height), int(seed)


def make_error(message, title):
    try:
        return gr.Error(message, title=title)
    except TypeError:  # gr.Error has no title before 5.0
        return gr.Error(message)


def quota(prompt, seed):
    raise make_error(
        "You have exceeded your free GPU quota (60s requested vs. 42s left). Try again in 0:09:48. "
        'Authenticate with a Hugging Face token for more quota <a href="https://huggingface.co/settings/tokens">here</a>',
        "ZeroGPU quota exceeded",
    )


def crash(prompt, seed):
    raise ValueError("internal detail that must stay hidden")


def slow(prompt, seed, progress=gr.Progress()):
    if hasattr(gr, "Info"):
        gr.Info("Waiting for a GPU to become available")
    for step in range(3):
        progress((step + 1, 3), desc=f"denoising step {step + 1}/3")
        time.sleep(0.2)
    return picture(prompt, seed, 256, 256)


def edit(prompt, image, strength, seed, num_images):
    if image is None:
        raise gr.Error("Please upload an input image")
    image = image.convert("RGB")
    results = []
    for index in range(int(num_images)):
        tint = picture(f"{prompt}|edit", int(seed) + index, 128, 128).getpixel((0, 0))
        results.append(Image.blend(image, Image.new("RGB", image.size, tint), float(strength)))
    return results, int(seed)


def predict(prompt):
    return picture(prompt, 0, 256, 256)


def gallery(label):
    try:
        return gr.Gallery(label=label, format="png")
    except TypeError:
        return gr.Gallery(label=label)


with gr.Blocks() as demo:
    prompt = gr.Textbox(label="Prompt")
    resolution = gr.Dropdown(choices=RESOLUTIONS, value=RESOLUTIONS[0], label="Width x Height (Ratio)")
    z_seed = gr.Number(value=42, precision=0, label="Seed")
    z_steps = gr.Slider(1, 100, value=8, step=1, label="Steps")
    z_shift = gr.Slider(1.0, 10.0, value=3.0, step=0.1, label="Time Shift")
    z_random = gr.Checkbox(value=True, label="Random Seed")
    z_gallery = gallery("Generated Images")
    z_seed_text = gr.Textbox(label="Seed Used")
    gr.Button("Generate").click(
        generate, inputs=[prompt, resolution, z_seed, z_steps, z_shift, z_random, z_gallery],
        outputs=[z_gallery, z_seed_text, z_seed], api_name="generate",
    )

    f_seed = gr.Slider(0, 2147483647, value=0, step=1, label="Seed")
    f_random = gr.Checkbox(value=True, label="Randomize seed")
    f_width = gr.Slider(256, 2048, value=1024, step=32, label="Width")
    f_height = gr.Slider(256, 2048, value=1024, step=32, label="Height")
    f_steps = gr.Slider(1, 50, value=4, step=1, label="Number of inference steps")
    f_result = gr.Image(label="Result")
    gr.Button("Run").click(
        infer, inputs=[prompt, f_seed, f_random, f_width, f_height, f_steps], outputs=[f_result, f_seed],
        api_name="infer",
    )

    gr.Button("Quota").click(quota, inputs=[prompt, f_seed], outputs=[f_result], api_name="quota")
    gr.Button("Crash").click(crash, inputs=[prompt, f_seed], outputs=[f_result], api_name="crash")
    gr.Button("Slow").click(slow, inputs=[prompt, f_seed], outputs=[f_result], api_name="slow")
    e_image = gr.Image(label="Input image", type="pil")
    e_strength = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Strength")
    e_count = gr.Slider(1, 4, value=1, step=1, label="Number of images")
    e_gallery = gallery("Edited images")
    gr.Button("Edit").click(
        edit, inputs=[prompt, e_image, e_strength, f_seed, e_count], outputs=[e_gallery, f_seed], api_name="edit",
    )
    p_prompt = gr.Textbox(label="Input")
    p_result = gr.Image(label="Output")
    gr.Button("Predict").click(predict, inputs=[p_prompt], outputs=[p_result], api_name="predict")

if __name__ == "__main__":
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), show_error=False, quiet=True)
