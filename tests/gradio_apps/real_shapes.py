"""More text-to-image apps shaped like real public Spaces (second round of "draws from its address
alone"), each built on a shape the first set (any_spaces.py) lacks. The same source runs on Gradio
3.50, 4.44, 5.x and 6.x; `gr.on` and tuple choices are used where the version has them.

  lora        multimodalart's LoRA explorers: a gr.Gallery of LoRAs with a select event, a gr.State
              holding the selection, an optional input image + strength, a generator that yields
              previews, gr.on(triggers=[run.click, prompt.submit]) → (image, seed, progress markdown)
  models      a gr.Dropdown of model names before the prompt, a "number of images" slider,
              width/height sliders step 64 max 1536, a random-prompt helper with api_name=False and a
              clear lambda → (gallery, info textbox)
  tabs        two tabs, each with its own button: img2img (a required image) registered before
              txt2img; txt2img's prompt has no label (lines=3 under a gr.Markdown) and a resolution
              dropdown of ("Square", "1024x1024") pairs → gr.Image(type="filepath")
  chat        a chatbot: (message, history, format) → (history, image); the format radio offers words
              only ("Square", "Landscape", "Portrait")
  sd3x        stabilityai/stable-diffusion (Gradio 3 era): label-less prompt and negative boxes,
              prompt.submit and button.click on the same function with postprocess=False returning
              data: URLs into a gallery, a JS-only share button; no size control
  iface       a gr.Interface with several unlabelled inputs (text, two sliders step 64 to 2048, a seed
              number) → gr.Image(type="filepath")
  midjourney  prithivMLmods' Midjourney-style apps: a "Quality Style" radio whose choices include
              "3840 x 2160" (a style, not a size), a "1x1"/"2x2" grid dropdown, a negative prompt
              behind a checkbox with a visibility helper (api_name=False), width/height sliders, a
              number-of-images slider, api_name "run" → (gallery, seed)
  custom      a resolution dropdown of "1024×1024" strings plus "Custom", and width/height numbers
              labelled W and H used only for "Custom"
  mmtext      the prompt in a gr.MultimodalTextbox (text plus files; a Textbox on 3.x) and an
              "Aspect ratio" dropdown
  ifacestate  a gr.Interface with a "state" input and output, unlabelled prompt and negative prompt
              boxes, width/height sliders whose minimum is 1024 (16:9 must grow, not shrink)
  slashratio  a ratio radio written with slashes ("16/9")

Each image is the size the app drew / 16, coloured by its inputs, so tests can read back what arrived.
Usage: python real_shapes.py NAME=PORT [NAME=PORT ...]
"""

import base64
import hashlib
import io
import os
import sys
import tempfile
import time

import gradio as gr
from PIL import Image

MAJOR = int(gr.__version__.split(".")[0])


def picture(text, seed, width, height):
    digest = hashlib.sha256(f"{text}|{int(seed)}".encode()).digest()
    return Image.new("RGB", (max(8, int(width) // 16), max(8, int(height) // 16)), tuple(digest[:3]))


def saved(image):
    path = os.path.join(tempfile.mkdtemp(), "out.png")
    image.save(path)
    return path


def data_url(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def on(triggers, fn, inputs, outputs, **kwargs):
    """gr.on where the version has it (4.x+), else one event per trigger (the same function twice)."""
    if MAJOR >= 4:
        return gr.on(triggers=[getattr(c, e) for c, e in triggers], fn=fn, inputs=inputs, outputs=outputs, **kwargs)
    for component, event in triggers:
        getattr(component, event)(fn, inputs=inputs, outputs=outputs, **kwargs)


def js_only(button, code):
    if MAJOR >= 4:
        button.click(None, [], [], js=code)
    else:
        button.click(None, [], [], _js=code)


LORAS = [{"title": "Pixel art", "trigger": "pixel art"}, {"title": "Watercolor", "trigger": "watercolor"}]


def lora_app():
    def update_selection(evt: gr.SelectData, width, height):
        return f"Selected {LORAS[evt.index]['title']}", evt.index, width, height

    def run_lora(prompt, image_input, image_strength, cfg_scale, steps, selected_index, randomize_seed, seed,
                 width, height, lora_scale, progress=gr.Progress(track_tqdm=True)):
        if selected_index is None:
            raise gr.Error("You must select a LoRA before proceeding.")
        if randomize_seed:
            seed = int.from_bytes(os.urandom(3), "big")
        text = f"{LORAS[selected_index]['trigger']} {prompt}|{'img' if image_input is not None else 'noimg'}"
        for step in range(2):  # previews, a quarter of the size
            yield picture(f"preview{step}", seed, width // 4, height // 4), seed, f"step {step}"
        yield picture(text, seed, width, height), seed, "done"

    with gr.Blocks() as demo:
        gr.Markdown("# FLUX LoRA the Explorer")
        selected_index = gr.State(0)
        prompt = gr.Textbox(label="Prompt", lines=1, placeholder="Type a prompt after selecting a LoRA")
        generate_button = gr.Button("Generate")
        selected_info = gr.Markdown("")
        gallery = gr.Gallery([(Image.new("RGB", (8, 8)), lora["title"]) for lora in LORAS], label="LoRA Gallery",
                             allow_preview=False, columns=2)
        progress_bar = gr.Markdown(visible=False)
        result = gr.Image(label="Generated Image")
        with gr.Accordion("Advanced Settings", open=False):
            input_image = gr.Image(label="Input image", type="filepath")
            image_strength = gr.Slider(label="Denoise Strength", minimum=0.1, maximum=1.0, step=0.01, value=0.75)
            cfg_scale = gr.Slider(label="CFG Scale", minimum=1, maximum=20, step=0.5, value=3.5)
            steps = gr.Slider(label="Steps", minimum=1, maximum=50, step=1, value=28)
            width = gr.Slider(label="Width", minimum=256, maximum=1536, step=64, value=1024)
            height = gr.Slider(label="Height", minimum=256, maximum=1536, step=64, value=1024)
            randomize_seed = gr.Checkbox(True, label="Randomize seed")
            seed = gr.Slider(label="Seed", minimum=0, maximum=2**32 - 1, step=1, value=0, randomize=True)
            lora_scale = gr.Slider(label="LoRA Scale", minimum=0, maximum=3, step=0.01, value=0.95)
        gallery.select(update_selection, inputs=[width, height], outputs=[selected_info, selected_index, width, height])
        on([(generate_button, "click"), (prompt, "submit")], run_lora,
           inputs=[prompt, input_image, image_strength, cfg_scale, steps, selected_index, randomize_seed, seed,
                   width, height, lora_scale],
           outputs=[result, seed, progress_bar])
    return demo


MODELS = ["stabilityai/sdxl-turbo", "black-forest-labs/FLUX.1-schnell", "playgroundai/playground-v2.5"]


def models_app():
    def generate(model, prompt, num_images, width, height):
        images = [picture(f"{model}|{prompt}|{i}", 0, width, height) for i in range(int(num_images))]
        return images, f"{model}: {len(images)} image(s) at {int(width)}x{int(height)}"

    def random_prompt():
        return "a lighthouse at dusk"

    with gr.Blocks() as demo:
        model = gr.Dropdown(MODELS, value=MODELS[0], label="Model")
        prompt = gr.Textbox(label="Your prompt", lines=2)
        with gr.Row():
            surprise = gr.Button("Surprise me")
            clear = gr.Button("Clear")
            run = gr.Button("Generate")
        num_images = gr.Slider(label="Number of images", minimum=1, maximum=4, step=1, value=2)
        width = gr.Slider(label="Image width", minimum=256, maximum=1536, step=64, value=768)
        height = gr.Slider(label="Image height", minimum=256, maximum=1536, step=64, value=768)
        gallery = gr.Gallery(label="Images")
        info = gr.Textbox(label="Info")
        surprise.click(random_prompt, inputs=None, outputs=prompt, api_name=False)
        clear.click(lambda: (None, ""), inputs=None, outputs=[gallery, prompt])
        run.click(generate, inputs=[model, prompt, num_images, width, height], outputs=[gallery, info])
    return demo


def tabs_app():
    def run(image, prompt, strength):  # img2img, registered first
        return saved(picture(f"i2i|{prompt}|{strength}", 0, 1024, 1024))

    def process(p, resolution):
        width, height = (int(x) for x in resolution.lower().split("x"))
        return saved(picture(f"t2i|{p}", 0, width, height))

    sizes = [("Square", "1024x1024"), ("Landscape", "1344x768"), ("Portrait", "768x1344")]
    with gr.Blocks() as demo:
        with gr.Tab("Image to image"):
            init = gr.Image(label="Init image", type="pil")
            i2i_prompt = gr.Textbox(label="Prompt")
            strength = gr.Slider(label="Strength", minimum=0, maximum=1, value=0.6)
            i2i_button = gr.Button("Transform")
            i2i_out = gr.Image(type="filepath")
        with gr.Tab("Text to image"):
            gr.Markdown("Describe the picture you want:")
            p = gr.Textbox(show_label=False, lines=3)
            if MAJOR >= 4:
                resolution = gr.Dropdown(sizes, value="1024x1024", label="Size")
            else:
                resolution = gr.Dropdown([v for _, v in sizes], value="1024x1024", label="Size")
            t2i_button = gr.Button("Draw")
            t2i_out = gr.Image(type="filepath", show_label=False)
        i2i_button.click(run, inputs=[init, i2i_prompt, strength], outputs=i2i_out)
        t2i_button.click(process, inputs=[p, resolution], outputs=t2i_out)
    return demo


FORMATS = {"Square": (1024, 1024), "Landscape": (1216, 704), "Portrait": (704, 1216)}


def chat_app():
    def respond(message, history, shape):
        width, height = FORMATS[shape]
        reply = f"drawing at {width}x{height}"
        if MAJOR >= 6:  # 6.x only takes the messages format
            history = (history or []) + [{"role": "user", "content": message}, {"role": "assistant", "content": reply}]
        else:
            history = (history or []) + [[message, reply]]
        return history, picture(f"chat|{message}", 0, width, height)

    with gr.Blocks() as demo:
        chatbot = gr.Chatbot(label="Chat")
        message = gr.Textbox(label="Message", placeholder="Tell me what to draw")
        shape = gr.Radio(list(FORMATS), value="Square", label="Format")
        image = gr.Image(label="Picture")
        message.submit(respond, inputs=[message, chatbot, shape], outputs=[chatbot, image])
    return demo


def sd3x_app():
    def infer(prompt, negative, scale):
        return [data_url(picture(f"sd|{prompt}|{negative}|{scale}", i, 768, 768)) for i in range(2)]

    with gr.Blocks() as demo:
        gr.HTML("<h1>Stable Diffusion 2.1 Demo</h1>")
        with gr.Row():
            text = gr.Textbox(label="Enter your prompt", show_label=False, max_lines=1)
            negative = gr.Textbox(label="Enter your negative prompt", show_label=False, max_lines=1)
            btn = gr.Button("Generate image")
        gallery = gr.Gallery(label="Generated images", show_label=False)
        share_button = gr.Button("Share to community")
        with gr.Accordion("Advanced settings", open=False):
            guidance_scale = gr.Slider(label="Guidance Scale", minimum=0, maximum=50, value=9, step=0.1)
        gr.Examples(examples=[["a squirrel", "", 9]], inputs=[text, negative, guidance_scale])
        text.submit(infer, inputs=[text, negative, guidance_scale], outputs=[gallery], postprocess=False)
        btn.click(infer, inputs=[text, negative, guidance_scale], outputs=[gallery], postprocess=False)
        js_only(share_button, "() => { console.log('share'); }")
    return demo


def iface_app():
    def txt2img(prompt, width, height, seed):
        return saved(picture(f"iface|{prompt}", seed, width, height))

    return gr.Interface(
        fn=txt2img,
        inputs=["text", gr.Slider(256, 2048, value=1024, step=64), gr.Slider(256, 2048, value=1024, step=64),
                gr.Number(value=0, precision=0)],
        outputs=gr.Image(type="filepath"),
        **({"flagging_mode": "never"} if MAJOR >= 5 else {"allow_flagging": "never"}))


STYLES = ["3840 x 2160", "2560 x 1440", "HD+", "Style Zero"]
GRIDS = ["1x1", "2x1", "1x2", "2x2"]


def midjourney_app():
    def generate(prompt, negative_prompt, use_negative_prompt, style, grid, seed, width, height, guidance,
                 num_images, randomize_seed):
        images = [picture(f"mj|{prompt}|{style}|{grid}", seed, width, height) for _ in range(int(num_images))]
        return images, seed

    with gr.Blocks() as demo:
        prompt = gr.Text(label="Prompt", show_label=False, max_lines=1, placeholder="Enter your prompt")
        run_button = gr.Button("Run")
        result = gr.Gallery(label="Result", columns=1)
        with gr.Accordion("Advanced options", open=False):
            use_negative_prompt = gr.Checkbox(label="Use negative prompt", value=True)
            negative_prompt = gr.Text(label="Negative prompt", max_lines=5, value="(deformed, blurry)")
            num_images = gr.Slider(label="Number of Images", minimum=1, maximum=4, step=1, value=1)
            seed = gr.Slider(label="Seed", minimum=0, maximum=2**31 - 1, step=1, value=0)
            randomize_seed = gr.Checkbox(label="Randomize seed", value=True)
            width = gr.Slider(label="Width", minimum=512, maximum=2048, step=8, value=1024)
            height = gr.Slider(label="Height", minimum=512, maximum=2048, step=8, value=1024)
            guidance_scale = gr.Slider(label="Guidance Scale", minimum=0.1, maximum=6, step=0.1, value=3.0)
        style = gr.Radio(choices=STYLES, value="3840 x 2160", label="Quality Style")
        grid = gr.Dropdown(choices=GRIDS, value="1x1", label="Grid Size")
        use_negative_prompt.change(lambda x: gr.update(visible=x), inputs=use_negative_prompt,
                                   outputs=negative_prompt, api_name=False)
        on([(prompt, "submit"), (negative_prompt, "submit"), (run_button, "click")], generate,
           inputs=[prompt, negative_prompt, use_negative_prompt, style, grid, seed, width, height, guidance_scale,
                   num_images, randomize_seed],
           outputs=[result, seed], api_name="run")
    return demo


CUSTOM = ["1024×1024", "1280×720", "720×1280", "Custom"]


def custom_app():
    def generate(prompt, size, w, h):
        if size == "Custom":
            width, height = int(w), int(h)
        else:
            width, height = (int(x) for x in size.split("×"))
        return picture(f"custom|{prompt}", 0, width, height)

    with gr.Blocks() as demo:
        prompt = gr.Textbox(label="Prompt")
        size = gr.Dropdown(CUSTOM, value="1024×1024", label="Resolution")
        w = gr.Number(label="W", value=1024, precision=0)
        h = gr.Number(label="H", value=1024, precision=0)
        out = gr.Image()
        gr.Button("Go").click(generate, inputs=[prompt, size, w, h], outputs=out)
    return demo


def mmtext_app():
    sizes = {"1:1": (1024, 1024), "16:9": (1344, 768), "9:16": (768, 1344)}

    def generate(message, aspect):
        text = message["text"] if isinstance(message, dict) else message
        return picture(f"mm|{text}", 0, *sizes[aspect])

    with gr.Blocks() as demo:
        if MAJOR >= 5 or (MAJOR == 4 and hasattr(gr, "MultimodalTextbox")):
            message = gr.MultimodalTextbox(label="Message", file_types=["image"])
        else:
            message = gr.Textbox(label="Message")  # 3.x has no MultimodalTextbox
        aspect = gr.Dropdown(list(sizes), value="1:1", label="Aspect ratio")
        out = gr.Image(label="Image")
        message.submit(generate, inputs=[message, aspect], outputs=out)
    return demo


def ifacestate_app():
    def generate(pipeline, prompt, negative_prompt, width, height):
        pipeline = (pipeline or 0) + 1
        return [picture(f"state|{prompt}|{negative_prompt}|{pipeline}", 0, width, height)], pipeline

    return gr.Interface(
        fn=generate,
        inputs=["state", gr.Textbox(lines=3), gr.Textbox(lines=3), gr.Slider(1024, 2048, value=1024, step=16),
                gr.Slider(1024, 2048, value=1024, step=16)],
        outputs=[gr.Gallery(), "state"])


SLASH = {"1/1": (1024, 1024), "4/3": (1152, 864), "16/9": (1280, 720), "9/16": (720, 1280)}


def slashratio_app():
    def generate(prompt, ratio, steps):
        return picture(f"slash|{prompt}|{steps}", 0, *SLASH[ratio])

    with gr.Blocks() as demo:
        prompt = gr.Textbox(label="Prompt")
        ratio = gr.Radio(list(SLASH), value="1/1", label="Ratio")
        steps = gr.Slider(1, 8, value=4, step=1, label="Steps")
        out = gr.Image()
        gr.Button("Generate").click(generate, inputs=[prompt, ratio, steps], outputs=out)
    return demo


APPS = {"lora": lora_app, "models": models_app, "tabs": tabs_app, "chat": chat_app, "sd3x": sd3x_app,
        "iface": iface_app, "midjourney": midjourney_app, "custom": custom_app,
        "mmtext": mmtext_app, "ifacestate": ifacestate_app, "slashratio": slashratio_app}

if __name__ == "__main__":
    for argument in sys.argv[1:]:
        name, port = argument.split("=")
        app = APPS[name]()
        app.queue()
        app.launch(server_name="127.0.0.1", server_port=int(port), show_error=False, quiet=True,
                   prevent_thread_lock=True)
    while True:
        time.sleep(3600)
