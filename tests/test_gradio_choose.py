"""Endpoint choice, input binding, neutral values and size fitting on /config shapes the real servers
can also produce (the shapes follow shared/research/gradio-wire.md §2.2 and gradio/blocks.py
`get_config`/`get_api_info` of 3.50, 4.44, 5.50 and 6.x: `api_visibility` on 6.x, per-dependency
`show_api` on 4.x/5.x, `backend_fn`, `targets` as [id, event] pairs, 3.x without `id`). Shapes no lab
app has (custom components, 6.x private events) are only reachable here."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import ConfigurationError
from llm2pic.backends.gradio.autobind import auto_inputs, size_controls
from llm2pic.backends.gradio.choose import by_signature, choose_endpoint, prompt_parameter
from llm2pic.backends.gradio.discovery import parse_app, unreachable_cause
from llm2pic.backends.gradio.errors import app_error
from llm2pic.backends.gradio.payload import TemplateValues, build_data, check_inputs, target_size

_ids = iter(range(1, 10_000))


def comp(kind, label="", **props):
    return {"id": next(_ids), "type": kind, "props": {"label": label, **props}}


def dep(inputs, outputs, api_name=None, event="click", **extra):
    return {"inputs": [c["id"] for c in inputs], "outputs": [c["id"] for c in outputs], "api_name": api_name,
            "targets": [[0, event]], "backend_fn": True, **extra}


def app_of(deps, comps, mode="blocks", version="5.50.0"):
    config = {"version": version, "mode": mode, "components": comps, "dependencies": []}
    for index, d in enumerate(deps):
        config["dependencies"].append({"id": index, **d})
    return parse_app(config, {})


def test_hidden_events_are_not_callable():
    prompt, image, dataset, seed = comp("textbox", "Prompt"), comp("image"), comp("dataset"), comp("number", "Seed")
    app = app_of([
        dep([prompt], [image], "infer"),
        dep([prompt], [image], "infer_hidden", api_visibility="undocumented"),  # 6.x
        dep([prompt], [image], "infer_private", api_visibility="private"),
        dep([prompt], [image], "old_hidden", show_api=False),  # 4.x/5.x
        dep([prompt], [image], "js_fn", backend_fn=False),
        dep([dataset], [prompt, image], "load_example"),
        dep([seed], [seed], "lambda_1"),
        dep([], [prompt], "greet", event="load"),
        dep([prompt], [image], "flag"),
    ], [prompt, image, dataset, seed])
    assert [e.api_name for e in app.callable()] == ["/infer"]
    reasons = {e.api_name: e.hidden for e in app.endpoints}
    assert reasons["/infer_hidden"] == reasons["/old_hidden"] == "not in the API docs"
    assert reasons["/infer_private"] == "private (api_name=False)"
    assert reasons["/js_fn"] == "JS-only" and reasons["/load_example"] == "gr.Examples"
    assert reasons["/lambda_1"] == "lambda helper" and reasons["/greet"] == "load handler"


def test_an_app_that_hides_its_only_drawing_function_still_draws_with_a_warning():
    prompt, image, secret = comp("textbox", "Prompt"), comp("image"), comp("textbox")
    app = app_of([dep([prompt], [image], "infer", show_api=False), dep([prompt], [image], "nope", api_visibility="private")],
                 [prompt, image, secret])
    choice = by_signature(app)
    assert choice.endpoint.api_name == "/infer" and choice.warnings


def test_text_to_image_wins_over_img2img_and_text_only_endpoints_registered_first():
    prompt, init, image, out_text = comp("textbox", "Prompt"), comp("image", "Init image"), comp("image"), comp("textbox")
    app = app_of([
        dep([prompt], [out_text], "enhance"),
        dep([prompt, init], [image], "img2img"),
        dep([prompt], [image], "txt2img"),
    ], [prompt, init, image, out_text])
    choice = by_signature(app)
    assert choice.endpoint.api_name == "/txt2img"
    assert "fewer image inputs" in choice.reason


def test_no_image_endpoint_names_the_callable_ones():
    prompt, text = comp("textbox", "Prompt"), comp("textbox")
    app = app_of([dep([prompt], [text], "chat")], [prompt, text])
    with pytest.raises(ConfigurationError) as caught:
        by_signature(app, "b")
    assert "/chat" in caught.value.detail


def test_configured_name_wins_and_interface_drift_only_for_an_interface():
    prompt, image = comp("textbox", "Input"), comp("image")
    interface = app_of([dep([prompt], [image], "draw_picture")], [prompt, image], mode="interface", version="6.31.0")
    choice = choose_endpoint(interface, api_name="/predict")
    assert choice.endpoint.api_name == "/draw_picture" and choice.warnings
    blocks = app_of([dep([prompt], [image], "draw_picture")], [prompt, image])
    with pytest.raises(ConfigurationError):
        choose_endpoint(blocks, api_name="/predict")
    assert choose_endpoint(blocks, fn_index=0).endpoint.api_name == "/draw_picture"


def test_prompt_and_negative_prompt_are_found_by_chinese_and_long_labels():
    style = comp("textbox", "风格 style")
    negative = comp("textbox", "负面提示词")
    prompt = comp("textbox", "提示词（支持中英文，越详细越好）")
    image = comp("image")
    app = app_of([dep([style, negative, prompt], [image])], [style, negative, prompt, image], version="3.50.2")
    endpoint = app.endpoints[0]
    assert prompt_parameter(endpoint).label.startswith("提示词")
    bound = auto_inputs(endpoint, {})
    assert bound == {"arg2": "{prompt}", "arg1": "{negative_prompt}"}  # labels without ASCII name nothing


def test_a_long_label_is_a_prompt_even_when_it_mentions_a_model():
    model = comp("textbox", "Model id")
    prompt = comp("textbox", "Describe what you want the model to draw")
    image = comp("image")
    app = app_of([dep([model, prompt], [image], "go")], [model, prompt, image])
    assert prompt_parameter(app.endpoints[0]).label.startswith("Describe")


@pytest.mark.parametrize("labels", [("宽度", "高度"), ("宽", "高"), ("Image Width", "Image Height"), ("imgW", "imgH")])
def test_width_and_height_found_by_name_or_label(labels):
    prompt, image = comp("textbox", "prompt"), comp("image")
    ratio_box = comp("dropdown", "宽高比", choices=[["a", "a"]], value="a")
    width = comp("slider", labels[0], minimum=256, maximum=1024, step=64, value=768)
    height = comp("slider", labels[1], minimum=256, maximum=1024, step=64, value=768)
    app = app_of([dep([prompt, ratio_box, width, height], [image])], [prompt, ratio_box, width, height, image])
    controls = size_controls(app.endpoints[0])
    assert controls.width.label == labels[0] and controls.height.label == labels[1]


@pytest.mark.parametrize("choices,wanted", [
    (["1024*1024", "1344*768", "768*1344"], "1344*768"),
    (["1024 x 1024", "1280 x 720", "720 x 1280"], "1280 x 720"),
    (["1024 × 1024 (Square)", "768 × 1360 (Portrait)", "1360 × 768 (Landscape)"], "1360 × 768 (Landscape)"),
    (["1024x1024 ( 1:1 )", "1280x720 ( 16:9 )"], "1280x720 ( 16:9 )"),
    (["(512, 512)", "(768, 448)", "(448, 768)"], "(768, 448)"),
])
def test_resolution_choices_in_any_common_format(choices, wanted):
    prompt, image = comp("textbox", "prompt"), comp("image")
    resolution = comp("dropdown", "Resolution", choices=[[c, c] for c in choices], value=choices[0])
    app = app_of([dep([prompt, resolution], [image])], [prompt, resolution, image])
    endpoint = app.endpoints[0]
    inputs = auto_inputs(endpoint, {})
    assert inputs["resolution"] == "{resolution}"
    width, height = target_size(endpoint, inputs, GenerationRequest("p", aspect="16:9"))
    data = build_data(endpoint, inputs, TemplateValues("p", "", width, height, 1, "16:9"), "b")
    assert data[1] == wanted


def test_ratio_choice_gets_the_nearest_listed_ratio():
    prompt, image = comp("textbox", "prompt"), comp("image")
    ratio = comp("radio", "Aspect", choices=[["Square (1:1)", "1:1"], ["Wide (16:9)", "16:9"], ["Tall (9:16)", "9:16"]],
                 value="1:1")
    app = app_of([dep([prompt, ratio], [image])], [prompt, ratio, image])
    endpoint = app.endpoints[0]
    inputs = auto_inputs(endpoint, {})
    data = build_data(endpoint, inputs, TemplateValues("p", "", 1344, 576, 1, "21:9"), "b")
    assert data[1] == "16:9"


def test_orientation_words_count_only_on_a_shape_input():
    prompt, image = comp("textbox", "prompt"), comp("image")
    style = comp("dropdown", "Style", choices=[[c, c] for c in ("Portrait", "Landscape", "Anime")], value="Anime")
    shape = comp("radio", "画幅", choices=[[c, c] for c in ("正方形", "横屏", "竖屏")], value="正方形")
    app = app_of([dep([prompt, style, shape], [image])], [prompt, style, shape, image])
    endpoint = app.endpoints[0]
    inputs = auto_inputs(endpoint, {})
    data = build_data(endpoint, inputs, TemplateValues("p", "", 1365, 768, 1, "16:9"), "b")
    assert data[1:] == ["Anime", "横屏"]


def test_width_and_height_dropdowns_of_numbers_get_the_nearest_size():
    prompt, image = comp("textbox", "prompt"), comp("image")
    sizes = [[str(n), str(n)] for n in (512, 768, 1024, 1280)]
    width = comp("dropdown", "Width", choices=sizes, value="1024")
    height = comp("dropdown", "Height", choices=sizes, value="1024")
    app = app_of([dep([prompt, width, height], [image])], [prompt, width, height, image])
    endpoint = app.endpoints[0]
    inputs = auto_inputs(endpoint, {})
    w, h = target_size(endpoint, inputs, GenerationRequest("p", aspect="16:9"))
    assert build_data(endpoint, inputs, TemplateValues("p", "", w, h, 1, "16:9"), "b")[1:] == ["1280", "768"]


def test_sliders_keep_the_aspect_inside_their_maxima_and_steps():
    prompt, image = comp("textbox", "prompt"), comp("image")
    width = comp("slider", "Width", minimum=256, maximum=1024, step=64, value=1024)
    height = comp("slider", "Height", minimum=256, maximum=1024, step=64, value=1024)
    app = app_of([dep([prompt, width, height], [image])], [prompt, width, height, image])
    endpoint = app.endpoints[0]
    inputs = auto_inputs(endpoint, {})
    w, h = target_size(endpoint, inputs, GenerationRequest("p", aspect="16:9"))
    data = build_data(endpoint, inputs, TemplateValues("p", "", w, h, 1, "16:9"), "b")
    assert data[1:] == [1024, 576]


def test_optional_inputs_without_defaults_get_neutral_values_and_choices_a_valid_one():
    prompt, image = comp("textbox", "prompt"), comp("image")
    init = comp("image", "Init image")
    extra = comp("textbox", "Extra")
    extra["props"].pop("label")
    mode = comp("dropdown", "Mode", choices=[["fast", "fast"], ["slow", "slow"]])  # no value
    files = comp("file", "LoRA file")
    tags = comp("dropdown", "Tags", choices=[["a", "a"], ["b", "b"]], multiselect=True)
    app = app_of([dep([prompt, init, extra, mode, files, tags], [image])],
                 [prompt, init, extra, mode, files, tags, image])
    endpoint = app.endpoints[0]
    for p in endpoint.parameters:
        p.has_default = p.default is not None  # as /info says for components without a value
    inputs = auto_inputs(endpoint, {})
    check_inputs(endpoint, inputs, "b")
    data = build_data(endpoint, inputs, TemplateValues("a fox", "", 1024, 1024, 1, "1:1"), "b")
    assert data == ["a fox", None, "", "fast", None, []]


def test_an_input_that_cannot_be_left_empty_disables_with_its_name_and_type():
    prompt, image, custom = comp("textbox", "prompt"), comp("image"), comp("fancy_canvas", "Canvas")
    app = app_of([dep([prompt, custom], [image])], [prompt, custom, image])
    endpoint = app.endpoints[0]
    endpoint.parameters[1].has_default = False
    with pytest.raises(ConfigurationError) as caught:
        check_inputs(endpoint, auto_inputs(endpoint, {}), "b")
    assert "canvas (fancy_canvas)" in caught.value.detail


def test_not_in_the_list_of_choices_is_a_configuration_error():
    # gradio 5.50 components/radio.py: f"Value: {payload!r} (type: ...) is not in the list of choices: ..."
    error = app_error("Value: '999 × 999' (type: <class 'str'>) is not in the list of choices: ['1:1']", "Error",
                      backend="b")
    assert isinstance(error, ConfigurationError)


def test_unreachable_causes_in_plain_words():
    assert unreachable_cause(httpx.ConnectTimeout("timed out")) == "timed out"
    assert unreachable_cause(httpx.ConnectError("[Errno -2] Name or service not known")) == "name not resolved"
    assert unreachable_cause(httpx.ConnectError("[Errno -3] Temporary failure in name resolution")) \
        == "name not resolved"


async def test_refused_and_tls_failures_name_the_host_once():
    from llm2pic.errors import TransientError
    from llm2pic.backends.gradio.discovery import discover

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()

    async def plain_http(reader, writer):
        await reader.read(1024)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            for url, cause in ((f"http://127.0.0.1:{refused_port}", "connection refused"),
                               (f"https://127.0.0.1:{port}", "TLS")):
                with pytest.raises(TransientError) as caught:
                    await discover(client, url, {}, "b")
                assert caught.value.detail == f"cannot reach 127.0.0.1: {cause}"
    finally:
        server.close()


async def test_a_name_that_does_not_resolve_is_said_once_and_not_retried(caplog):
    # What httpx raises when getaddrinfo fails (httpcore maps socket.gaierror to ConnectError).
    from llm2pic.backends.chain import BackendChain
    from llm2pic.backends.registry import build_backend
    from llm2pic.config.backends import GradioBackendConfig

    calls = []

    def handler(request):
        calls.append(request.url.host)
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    config = GradioBackendConfig(type="gradio", name="zimage", space="Tongyi-MAI/Z-Image-Turbo")
    caplog.set_level(logging.INFO, logger="llm2pic")
    caplog.set_level(logging.INFO, logger="llm2pic.backends.chain")  # an earlier CLI run sets it to ERROR
    # The plugin tests forward this package's records to a host logger without propagating
    # (frontends/log_forwarding.forward_logs): listen on the package logger itself.
    package = logging.getLogger("llm2pic")
    package.addHandler(caplog.handler)
    try:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            chain = BackendChain([build_backend(config, client, {})])
            with pytest.raises(ConfigurationError) as caught:
                await chain.generate(GenerationRequest("a fox"))
    finally:
        package.removeHandler(caplog.handler)
    assert caught.value.detail == "cannot reach tongyi-mai-z-image-turbo.hf.space: name not resolved"
    assert calls == ["tongyi-mai-z-image-turbo.hf.space"]  # no retry
    failed = [r for r in caplog.records if "failed" in r.getMessage()]
    assert failed and all(r.levelno < logging.WARNING for r in failed)  # the caller prints the one line


@pytest.mark.parametrize("config,info", [
    ({"dependencies": [{"inputs": [1], "outputs": [2], "targets": "x"}], "components": [{"id": 1, "props": []}]}, {}),
    ({"dependencies": [{"inputs": "abc", "outputs": None, "api_name": 5}], "components": "no"}, {"named_endpoints": []}),
    ({"dependencies": [None, 3, {"id": "7"}], "components": [{"id": [1]}]}, {"unnamed_endpoints": {"0": []}}),
])
async def test_a_config_of_unexpected_shape_is_a_protocol_error_or_nothing_callable(config, info):
    # Every byte from a server is hostile: parse what makes sense, or fail as a protocol error.
    from llm2pic.errors import ProtocolError
    from llm2pic.backends.gradio.discovery import discover

    def handler(request):
        return httpx.Response(200, json=info if request.url.path.endswith("/info") else config)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        try:
            app = await discover(client, "http://127.0.0.1:1", {}, "b")
        except ProtocolError:
            return
    with pytest.raises(ConfigurationError):
        by_signature(app, "b")


def test_width_and_height_without_a_pixel_step_are_multiples_of_16_inside_the_range():
    # gr.Number boxes (no step) and step-1 sliders feed diffusion pipelines that refuse sizes
    # that are not multiples of 8 or 16 (diffusers' check_inputs); 1365x768 becomes 1360x768.
    prompt, image = comp("textbox", "prompt"), comp("image")
    width = comp("number", "W", value=1024)
    height = comp("slider", "H", value=1024, minimum=300, maximum=700, step=1)
    app = app_of([dep([prompt, width, height], [image])], [prompt, width, height, image])
    endpoint = app.endpoints[0]
    inputs = auto_inputs(endpoint, {})
    data = build_data(endpoint, inputs, TemplateValues("p", "", 1365, 768, 1, "16:9"), "b")
    assert data[1:] == [1360, 688]  # 768 is above the maximum 700: the largest multiple of 16 below it
    data = build_data(endpoint, inputs, TemplateValues("p", "", 1010, 200, 1, "5:1"), "b")
    assert data[1:] == [1008, 304]  # 200 is below the minimum 300: the smallest multiple of 16 above it


def test_ratio_choices_written_with_slashes_or_underscores_are_read():
    prompt, image = comp("textbox", "prompt"), comp("image")
    named = ["square_hd", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"]
    size = comp("dropdown", "Image size", choices=[[c, c] for c in named], value="square_hd")
    slashed = comp("radio", "Ratio", choices=[[c, c] for c in ("1/1", "4/3", "16/9", "9/16")], value="1/1")
    for control, wanted in ((size, ["landscape_16_9", "portrait_16_9"]), (slashed, ["16/9", "9/16"])):
        app = app_of([dep([prompt, control], [image])], [prompt, control, image])
        endpoint = app.endpoints[0]
        inputs = auto_inputs(endpoint, {})
        wide = build_data(endpoint, inputs, TemplateValues("p", "", 1365, 768, 1, "16:9"), "b")
        tall = build_data(endpoint, inputs, TemplateValues("p", "", 768, 1365, 1, "9:16"), "b")
        assert [wide[1], tall[1]] == wanted
