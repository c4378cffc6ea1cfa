"""Any text-to-image app draws from its address alone (config: type, name, base_url), on real Gradio
3.50, 4.44, 5.x and 6.x servers: endpoint choice by signature, optional inputs, size and aspect without
templates, notes when the aspect cannot be applied, doctor's listing, payload and config block."""

from __future__ import annotations

import hashlib
import io
import logging
import tomllib

import pytest
from PIL import Image

from any_space_servers import AnySpaces
from gradio_servers import VERSIONS
from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import ConfigurationError
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig

pytestmark = pytest.mark.gradio_server


@pytest.fixture(scope="session", params=VERSIONS, ids=[f"gradio{v}" for v in VERSIONS])
def spaces(request):
    """The Space-shaped apps under one Gradio version (one process, one port per app)."""
    server = AnySpaces(request.param)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def plain(spaces, app, **settings):
    return GradioBackendConfig(type="gradio", name=app, base_url=spaces.url(app), **settings)


async def draw(config, request, requests=None):
    async with make_client(config) as client:
        if requests is not None:
            async def record(r):
                requests.append(f"{r.method} {r.url.path}")
            client.event_hooks["request"].append(record)
        backend = build_backend(config, client, {})
        return await backend.generate(request), backend


def size_of(image) -> tuple[int, int]:
    return Image.open(io.BytesIO(image.data)).size


# What each app must produce for 16:9 (its images are the size it was asked for / 16), and whether
# the job must say that the aspect could not be applied.
EXPECTED = {
    # 16:9 at the sliders' default 1024² pixels is 1365x768, snapped to step 32 from 256.
    "flux": ((1376 // 16, 768 // 16), False),
    "interface": ((512 // 16, 512 // 16), True),  # no size input at all
    "lightning": ((1024 // 16, 1024 // 16), True),
    # step 48 from 256, maximum 1400: 1365 → 1360, 768 → 784.
    "chinese": ((1360 // 16, 784 // 16), False),
    "landscape": ((1360 // 16, 768 // 16), False),  # "1360 × 768 (Landscape)"
    "ratio": ((1664 // 16, 928 // 16), False),  # "16:9"
}


@pytest.mark.parametrize("app", sorted(EXPECTED))
async def test_each_app_draws_from_its_address_alone_and_honours_16_9(spaces, app, caplog):
    caplog.set_level(logging.WARNING, logger="llm2pic")
    (images, _) = await draw(plain(spaces, app), GenerationRequest("a red fox", aspect="16:9"))
    size, noted = EXPECTED[app]
    assert size_of(images[0]) == size
    notes = images[0].metadata["notes"]
    if noted:
        assert notes and "16:9 not applied" in notes[0] and "no size input" in notes[0]
        assert any("16:9 not applied" in r.getMessage() for r in caplog.records)
    else:
        assert notes == []


async def test_seed_negative_prompt_and_empty_image_input_arrive(spaces):
    # The app colours its picture by sha256("prompt|negative|noref|seed"): our seed and negative prompt
    # reached the right inputs and the optional image input was sent empty.
    (images, _) = await draw(plain(spaces, "chinese"),
                             GenerationRequest("一只红狐狸", negative_prompt="blurry", aspect="1:1", seed=5))
    digest = hashlib.sha256("一只红狐狸|blurry|noref|5".encode()).digest()
    picture = Image.open(io.BytesIO(images[0].data)).convert("RGB")
    # 4.x+ save gr.Image as lossy WebP: allow a few levels of colour drift
    assert all(abs(got - want) <= 4 for got, want in zip(picture.getpixel((4, 4)), digest[:3]))
    assert images[0].seed == 5


async def test_first_draw_costs_one_config_one_info_then_the_job(spaces):
    requests: list[str] = []
    async with make_client(plain(spaces, "flux")) as client:
        async def record(r):
            requests.append(f"{r.method} {r.url.path}")
        client.event_hooks["request"].append(record)
        backend = build_backend(plain(spaces, "flux"), client, {})
        await backend.generate(GenerationRequest("a fox", aspect="1:1"))
        first = list(requests)
        await backend.generate(GenerationRequest("a fox", aspect="1:1"))
    prefix = "/gradio_api" if spaces.version in ("5", "6") else ""
    assert first[:2] == ["GET /config", f"GET {prefix}/info"]
    if spaces.version == "3":
        assert first[2:] == ["POST /run/predict"]  # the image comes inline
    else:
        assert first[2:4] == [f"POST {prefix}/queue/join", f"GET {prefix}/queue/data"]
        assert len(first) == 5 and first[4].startswith(f"GET {prefix}/file=")
    assert not any("/config" in r or "/info" in r for r in requests[len(first):])  # cached


async def test_interface_name_drift_uses_the_only_function_with_a_warning(spaces, caplog):
    caplog.set_level(logging.WARNING, logger="llm2pic")
    (images, backend) = await draw(plain(spaces, "interface", api_name="/predict"), GenerationRequest("a fox"))
    assert size_of(images[0]) == (32, 32)
    drifted = spaces.version == "6"  # 6.x names an Interface's endpoint after its function
    assert backend.endpoint.api_name == ("/draw_picture" if drifted else "/predict")
    assert any("only Interface function" in r.getMessage() for r in caplog.records) == drifted


async def test_only_the_image_endpoint_is_chosen_and_duplicates_count_once(spaces):
    (images, backend) = await draw(plain(spaces, "lightning"), GenerationRequest("a fox"))
    assert size_of(images[0]) == (64, 64)
    assert backend.choice.duplicates == 1
    assert "gallery" in backend.choice.reason


async def test_fn_index_from_the_config_selects_the_event(spaces):
    async with make_client(plain(spaces, "chinese")) as client:
        backend = build_backend(plain(spaces, "chinese"), client, {})
        report = await backend.probe()
    chosen = backend.endpoint.fn_index
    (images, backend) = await draw(plain(spaces, "chinese", fn_index=chosen), GenerationRequest("a fox", aspect="1:1"))
    assert backend.endpoint.fn_index == chosen and images[0].data
    with pytest.raises(ConfigurationError) as caught:
        await draw(plain(spaces, "chinese", fn_index=99), GenerationRequest("a fox"))
    assert "no fn_index 99" in caught.value.detail and report.ok


async def test_doctor_prints_callable_endpoints_choice_payload_and_a_block_that_draws_the_same(spaces):
    config = plain(spaces, "flux")
    async with make_client(config) as client:
        report = await build_backend(config, client, {}).probe()
    assert report.ok, report.summary
    text = "\n".join(report.lines)
    assert "hidden events, not called:" in text and "gr.Examples" in text
    assert "the same function as" in text  # the second registration of infer
    assert "chosen: " in text and "takes text (Prompt) and returns an image" in text
    payload = next(line for line in report.lines if line.startswith("payload for"))
    assert '"a red fox in the snow", 42, false, 1376, 768, 4]' in payload
    start = report.lines.index("config block (paste into config.toml to pin this choice):")
    block = tomllib.loads("\n".join(line.strip() for line in report.lines[start + 1:]))
    pinned = GradioBackendConfig(**block["backends"][0])
    assert pinned.inputs["width"] == "{width}" and pinned.inputs["randomize_seed"] is False
    (images, _) = await draw(pinned, GenerationRequest("a red fox", aspect="16:9"))
    assert size_of(images[0]) == EXPECTED["flux"][0]


async def test_a_value_not_in_the_choices_is_a_configuration_error_sent_once(spaces):
    if spaces.version in ("3", "4"):
        pytest.skip("Gradio 3 and 4 do not check an input against its choices (gradio/components/radio.py)")
    config = plain(spaces, "landscape", inputs={"prompt": "{prompt}", "resolution": "999 × 999 (Odd)"})
    requests: list[str] = []
    async with make_client(config) as client:
        async def record(r):
            requests.append(f"{r.method} {r.url.path}")
        client.event_hooks["request"].append(record)
        chain = BackendChain([build_backend(config, client, {})])
        with pytest.raises(ConfigurationError) as caught:
            await chain.generate(GenerationRequest("a fox"))
    assert "not in the list of choices" in caught.value.detail
    assert sum(1 for r in requests if r.startswith("POST")) == 1  # no identical retry


def test_cli_json_notes_say_when_the_aspect_could_not_be_applied(spaces, tmp_path, capsys, caplog):
    import json

    from llm2pic.frontends.cli.main import main

    path = tmp_path / "config.toml"
    path.write_text(f'[[backends]]\ntype = "gradio"\nname = "plain"\nbase_url = "{spaces.url("interface")}"\n',
                    encoding="utf-8")
    out = tmp_path / "out.img"
    assert main(["draw", "a fox", "--no-llm", "--json", "--aspect", "16:9", "--config", str(path),
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    assert any("aspect 16:9 not applied" in note for note in answer["notes"])
    assert any("aspect 16:9 not applied" in r.getMessage() for r in caplog.records)  # and in the log
