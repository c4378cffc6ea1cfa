"""Gradio backend pieces that need no server: error mapping, dropdown choice, SSE parsing, results."""

from __future__ import annotations

import base64

import httpx
import pytest

from llm2pic.errors import ConfigurationError, ContentRejectedError, QuotaError, TransientError
from llm2pic.backends.gradio.discovery import AppInfo, Endpoint, Parameter
from llm2pic.backends.gradio.errors import app_error, clean_message
from llm2pic.backends.gradio.payload import TemplateValues, build_data, nearest_choice
from llm2pic.backends.gradio.presets import find_preset, find_preset_by_signature, space_host
from llm2pic.backends.gradio.results import find_images, find_seed
from llm2pic.backends.gradio.sse import read_events

Z_CHOICES = ["1024x1024 ( 1:1 )", "1152x896 ( 9:7 )", "896x1152 ( 7:9 )", "1152x864 ( 4:3 )", "864x1152 ( 3:4 )",
             "1248x832 ( 3:2 )", "832x1248 ( 2:3 )", "1280x720 ( 16:9 )", "720x1280 ( 9:16 )",
             "1344x576 ( 21:9 )", "576x1344 ( 9:21 )", "1280x1280 ( 1:1 )", "1536x1536 ( 1:1 )"]


@pytest.mark.parametrize("message, title, kind, retry_after", [
    ("You have exceeded your ZeroGPU quota (60s requested vs. 42s left). Try again in 0:09:48. Authenticate",
     "ZeroGPU quota exceeded", QuotaError, 588),
    ("'You have exceeded your GPU quota (46s left vs. 60s requested). Sign-up on Hugging Face to get more quotas "
     "or retry in 1:02:03 <a href=\"https://huggingface.co/join\">Create a free account</a>'", None, QuotaError, 3723),
    ("Space app has reached its GPU limit.", "ZeroGPU quota exceeded", QuotaError, None),
    ("No GPU was available after 60s", "ZeroGPU queue timeout", TransientError, None),
    ("Expired ZeroGPU proxy token", "ZeroGPU client error", TransientError, None),
    ("RuntimeError", "ZeroGPU worker error", TransientError, None),
    ("GPU task aborted", "Error", TransientError, None),
    ("The requested GPU duration (300s) is larger than the maximum allowed", "ZeroGPU illegal duration",
     ConfigurationError, None),
    ("NSFW content detected", "Error", ContentRejectedError, None),
    ("Value -5 is less than minimum value 0.", "Error", ConfigurationError, None),
    (None, None, TransientError, None),
    ("'quota exceeded'", None, QuotaError, None),
])
def test_app_errors_map_to_the_taxonomy(message, title, kind, retry_after):
    error = app_error(message, title, backend="space")
    assert type(error) is kind
    assert error.retry_after == retry_after


def test_repr_quotes_and_html_are_stripped():
    assert clean_message("'quota exceeded'") == "quota exceeded"
    assert clean_message('retry later <a href="x">Create a free account</a>') == "retry later"


def nearest(width, height, choices=Z_CHOICES):
    parameter = Parameter("resolution", "Resolution", "Dropdown", choices=choices)
    return nearest_choice(parameter, TemplateValues("p", "", width, height, 0, ""), backend="b")


@pytest.mark.parametrize("size, expected", [
    ((1024, 1024), "1024x1024 ( 1:1 )"),
    ((1536, 1536), "1536x1536 ( 1:1 )"),
    ((1365, 768), "1280x720 ( 16:9 )"),
    ((768, 1365), "720x1280 ( 9:16 )"),
    ((888, 1184), "864x1152 ( 3:4 )"),
    ((1000, 800), "1152x896 ( 9:7 )"),
    ((2000, 600), "1344x576 ( 21:9 )"),
])
def test_the_nearest_dropdown_size_is_chosen_by_aspect_then_area(size, expected):
    assert nearest(*size) == expected


def test_a_dropdown_without_sizes_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="no WxH choices"):
        nearest(1024, 1024, ["fast", "slow"])


def test_presets_are_found_by_space_id_or_host():
    assert find_preset("auto", "Tongyi-MAI/Z-Image-Turbo", "").api_name == "/generate"
    assert find_preset("auto", "", "black-forest-labs-flux-1-schnell.hf.space").api_name == "/infer"
    assert find_preset("auto", "someone/other", "") is None
    assert space_host("black-forest-labs/FLUX.1-schnell") == "black-forest-labs-flux-1-schnell.hf.space"
    with pytest.raises(ValueError, match="unknown preset"):
        find_preset("sdxl", "", "")


def test_the_llm2pic_space_preset_is_found_by_its_endpoint_signature_not_by_host():
    assert find_preset("auto", "", "127.0.0.1") is None  # a base_url alone matches no Space preset
    assert find_preset("llm2pic-space", "", "").api_name == "/predict"
    names = ["prompt", "negative_prompt", "guidance_scale", "num_inference_steps", "width", "height", "seed",
             "num_outputs"]

    def app(api_name, parameter_names):
        params = [Parameter(name, name, "textbox") for name in parameter_names]
        return AppInfo("6.31.0", "/gradio_api", "sse_v3", [Endpoint(api_name, 0, 1, params)])

    assert find_preset_by_signature(app("/predict", names)).name == "llm2pic-space"
    assert find_preset_by_signature(app("/predict", names[:-1])) is None
    assert find_preset_by_signature(app("/generate", names)) is None


def test_count_template_fits_the_slider():
    count = Parameter("num_outputs", "n", "slider", minimum=1, maximum=4, step=1)
    values = TemplateValues("p", "", 64, 64, 0, "1:1", count=9)
    assert build_data(Endpoint("/predict", 0, 1, [count]), {"num_outputs": "{count}"}, values, "b") == [4]


def test_images_are_found_in_every_output_shape():
    png = b"\x89PNG\r\n\x1a\nxx"
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    outputs = [
        [{"image": {"path": "/tmp/gradio/a/image.png", "url": "http://x", "orig_name": "image.png",
                    "meta": {"_type": "gradio.FileData"}}, "caption": None}],  # 4.x+ gallery
        {"path": "/tmp/gradio/b/image.webp", "url": None, "orig_name": None},  # FileData without meta
        [{"name": "/tmp/gradio/c/image.png", "data": None, "is_file": True}],  # 3.x gallery
        data_url,  # 3.x gr.Image
        "731422", 731422,
    ]
    refs = find_images(outputs)
    assert [r.path for r in refs[:3]] == ["/tmp/gradio/a/image.png", "/tmp/gradio/b/image.webp",
                                          "/tmp/gradio/c/image.png"]
    assert refs[3].inline == png
    assert find_seed(outputs) == 731422
    assert find_seed(["731422"]) == 731422
    assert find_seed([True, "x"]) is None


async def test_sse_reader_handles_events_comments_and_missing_spaces():
    body = b": comment\nevent: heartbeat\ndata: null\n\nevent:complete\ndata:[1, 2]\n\ndata: not json\n\n"
    response = httpx.Response(200, content=body)
    events = [(e.event, e.data) async for e in read_events(response)]
    assert events == [("heartbeat", None), ("complete", [1, 2]), ("message", "not json")]
