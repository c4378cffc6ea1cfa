"""`python -m llm2pic draw … --config FILE` with an OpenAI-compatible and an HF Inference backend
(both respx-mocked): success, fallback from one to the other, and the content-refusal stop."""

from __future__ import annotations

import base64
import io
import json

import httpx
import respx
from PIL import Image

from llm2pic.frontends.cli.main import main

OPENAI = "https://api.openai.com/v1/images/generations"
HF = "https://router.huggingface.co/hf-inference/models/black-forest-labs/FLUX.1-schnell"


def png(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, "PNG")
    return buffer.getvalue()


OPENAI_BACKEND = """
[[backends]]
type = "openai"
name = "gpt-image"
api_key = "sk-cli-test-0000000000"
model = "gpt-image-1"
"""
HF_BACKEND = """
[[backends]]
type = "hf_inference"
name = "hf-flux"
token = "hf_clitest000000000000"
"""


def write_config(tmp_path, *backends: str):
    path = tmp_path / "config.toml"
    path.write_text('[plugin]\nenabled = true\nconfig_version = "1.0.0"\n' + "".join(backends), encoding="utf-8")
    return path


def test_draw_with_an_openai_backend(tmp_path, capsys):
    config, out = write_config(tmp_path, OPENAI_BACKEND), tmp_path / "out.png"
    image = png()
    with respx.mock() as router:
        route = router.post(OPENAI).respond(200, json={"created": 1, "data": [
            {"b64_json": base64.b64encode(image).decode()}]})
        code = main(["draw", "a red fox in the snow", "--no-llm", "--config", str(config), "--out", str(out),
                     "--aspect", "16:9"])
    assert code == 0, capsys.readouterr().err
    body = json.loads(route.calls.last.request.content)
    assert "red fox" in body["prompt"] and body["model"] == "gpt-image-1" and body["size"] == "1536x1024"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "gpt-image" in capsys.readouterr().err


def test_draw_with_an_hf_backend(tmp_path, capsys):
    config, out = write_config(tmp_path, HF_BACKEND), tmp_path / "out.png"
    with respx.mock() as router:
        route = router.post(HF).respond(200, content=png("blue"), headers={"content-type": "image/png"})
        code = main(["draw", "a blue bird", "--no-llm", "--config", str(config), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert route.calls.last.request.headers["authorization"] == "Bearer hf_clitest000000000000"
    assert "blue bird" in json.loads(route.calls.last.request.content)["inputs"]
    assert out.exists() and out.stat().st_size > 0


def test_draw_falls_back_from_openai_quota_to_hf(tmp_path, capsys):
    config, out = write_config(tmp_path, OPENAI_BACKEND, HF_BACKEND), tmp_path / "out.png"
    with respx.mock() as router:
        router.post(OPENAI).respond(429, json={"error": {"message": "You exceeded your current quota",
                                                         "type": "insufficient_quota", "code": "insufficient_quota"}})
        hf = router.post(HF).respond(200, content=png(), headers={"content-type": "image/png"})
        code = main(["draw", "a fox", "--no-llm", "--config", str(config), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert hf.call_count == 1 and "hf-flux" in err and "sk-cli-test" not in err


def test_draw_stops_on_a_content_refusal(tmp_path, capsys):
    config = write_config(tmp_path, OPENAI_BACKEND, HF_BACKEND)
    with respx.mock(assert_all_called=False) as router:
        router.post(OPENAI).respond(400, json={"error": {
            "message": "Your request was rejected by the safety system.", "type": "image_generation_user_error",
            "code": "moderation_blocked"}})
        hf = router.post(HF).respond(200, content=png(), headers={"content-type": "image/png"})
        code = main(["draw", "a fox", "--no-llm", "--config", str(config), "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 3 and hf.call_count == 0
    lines = err.strip().splitlines()
    assert lines[-1].startswith("llm2pic: every backend failed; last: gpt-image: "), lines
    assert "rejected by the safety system" in lines[-1], lines
    assert sum("rejected" in line for line in lines) == 1, lines
