"""`python -m llm2pic draw` with the prompt step: a respx-mocked chat endpoint and image backend."""

from __future__ import annotations

import json
import struct
import zlib

import httpx
import respx

from llm2pic.frontends.cli.main import main

CHAT_URL = "http://127.0.0.1:9/v1/chat/completions"
IMAGE_URL = "http://127.0.0.1:9/hf/models/test/model"
SECRET = "sk-test-secret-key-1234567890"


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


def write_config(tmp_path, llm_extra: str = "", selfie: str = "") -> str:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[[backends]]
type = "hf_inference"
name = "fake"
base_url = "http://127.0.0.1:9/hf"
model = "test/model"
token = "hf_notarealtoken123456"

[generation]
custom_prompt_add = ", masterpiece"

[llm]
base_url = "http://127.0.0.1:9/v1"
model = "test-chat"
api_key = "{SECRET}"
persona_nickname = "麦麦"
persona_personality = "喜欢摄影的女大学生"
{llm_extra}

[selfie]
appearance = "long silver hair, red scarf, anime style"
{selfie}
""", encoding="utf-8")
    return str(config)


def chat_answer(content: str) -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": content}}]})


def run_json(capsys, argv) -> tuple[int, dict, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else {}), captured.err


@respx.mock(assert_all_mocked=True)
def test_draw_with_chat_file_and_json(respx_mock, tmp_path, capsys):
    chat = respx_mock.post(CHAT_URL).mock(return_value=chat_answer(
        '<think>聊天说的是海边日落</think>{"prompt": "a calm beach at sunset, golden light", "aspect": "16:9"}'))
    image = respx_mock.post(IMAGE_URL).mock(return_value=httpx.Response(200, content=tiny_png(),
                                                                         headers={"content-type": "image/png"}))
    chat_file = tmp_path / "chat.txt"
    chat_file.write_text("小明: 昨天去海边看了日落\n小红：好羡慕！\n# a comment\n麦麦: 我也想去\n", encoding="utf-8")
    out = tmp_path / "out.png"

    code, result, err = run_json(capsys, ["draw", "画一下小明说的那个地方", "--config", write_config(tmp_path),
                                          "--chat", str(chat_file), "--out", str(out), "--json"])

    assert code == 0, err
    assert result["prompt"] == "a calm beach at sunset, golden light, masterpiece"
    assert (result["aspect"], result["backend"], result["out"], result["source"]) == ("16:9", "fake", str(out), "llm")
    assert {"negative_prompt", "seed"} <= set(result)
    assert out.read_bytes() == tiny_png()
    sent = json.loads(chat.calls[0].request.content)
    assert sent["model"] == "test-chat"
    assert chat.calls[0].request.headers["authorization"] == f"Bearer {SECRET}"
    assert '"小明": "昨天去海边看了日落"' in sent["messages"][1]["content"]
    assert '"麦麦（你自己）": "我也想去"' in sent["messages"][1]["content"]
    assert json.loads(image.calls[0].request.content)["inputs"] == result["prompt"]
    assert SECRET not in err


@respx.mock(assert_all_mocked=True)
def test_selfie_flag(respx_mock, tmp_path, capsys):
    respx_mock.post(CHAT_URL).mock(return_value=chat_answer('{"prompt": "standing in a library, holding a book"}'))
    respx_mock.post(IMAGE_URL).mock(return_value=httpx.Response(200, content=tiny_png()))
    code, result, err = run_json(capsys, ["draw", "你现在在哪", "--selfie", "--config", write_config(tmp_path),
                                          "--out", str(tmp_path / "s.png"), "--json"])
    assert code == 0, err
    assert result["prompt"] == ("a selfie photo of 麦麦, long silver hair, red scarf, anime style, "
                                "standing in a library, holding a book, masterpiece")
    assert (result["selfie"], result["aspect"]) == (True, "3:4")


@respx.mock(assert_all_mocked=True)
def test_chat_endpoint_failure_falls_back_without_leaking_the_key(respx_mock, tmp_path, capsys, caplog):
    respx_mock.post(CHAT_URL).mock(return_value=httpx.Response(401, text=f"invalid key {SECRET}"))
    image = respx_mock.post(IMAGE_URL).mock(return_value=httpx.Response(200, content=tiny_png()))
    code, result, err = run_json(capsys, ["-v", "draw", "帮我画一张猫咪的图片", "--config", write_config(tmp_path),
                                          "--out", str(tmp_path / "c.png"), "--json"])
    assert code == 0, err
    assert (result["prompt"], result["source"]) == ("猫咪, masterpiece", "fallback")
    assert image.called
    assert "prompt LLM failed (ChatLLMError: chat endpoint answered HTTP 401: invalid key ***)" in caplog.text
    assert SECRET not in err and SECRET not in caplog.text


@respx.mock(assert_all_mocked=True, assert_all_called=False)
def test_no_llm_draws_the_text_unchanged(respx_mock, tmp_path, capsys):
    chat = respx_mock.post(CHAT_URL)
    image = respx_mock.post(IMAGE_URL).mock(return_value=httpx.Response(200, content=tiny_png()))
    code, result, err = run_json(capsys, ["draw", "a red fox in snow", "--no-llm", "--config", write_config(tmp_path),
                                          "--out", str(tmp_path / "f.png"), "--json"])
    assert code == 0, err
    assert (result["prompt"], result["source"]) == ("a red fox in snow, masterpiece", "direct")
    assert not chat.called and image.called


@respx.mock(assert_all_mocked=True, assert_all_called=False)
def test_forbidden_word_refuses_before_any_request(respx_mock, tmp_path, capsys):
    chat = respx_mock.post(CHAT_URL)
    image = respx_mock.post(IMAGE_URL)
    code = main(["draw", "画一张ＮＳＦＷ的图", "--config", write_config(tmp_path), "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 4
    assert "这个内容不太合适" in err
    assert not chat.called and not image.called


def test_unreadable_chat_file_is_a_config_error(tmp_path, capsys):
    code = main(["draw", "cat", "--config", write_config(tmp_path), "--chat", str(tmp_path / "missing.txt")])
    assert code == 2
    assert "--chat" in capsys.readouterr().err


@respx.mock(assert_all_mocked=True)
def test_chat_or_selfie_without_a_configured_llm_says_so_in_one_line(respx_mock, tmp_path, capsys):
    respx_mock.post(IMAGE_URL).mock(return_value=httpx.Response(200, content=tiny_png()))
    path = write_config(tmp_path)
    with open(path, encoding="utf-8") as file:
        text = file.read().replace('base_url = "http://127.0.0.1:9/v1"\n', "")
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    config = path
    chat_file = tmp_path / "chat.txt"
    chat_file.write_text("小明: 想看猫\n", encoding="utf-8")
    for extra in (["--chat", str(chat_file)], ["--selfie"]):
        code, _, err = run_json(capsys, ["draw", "画一只猫", "--config", config, "--out", str(tmp_path / "f.png"),
                                         "--json", *extra])
        assert code == 0, err
        notes = [line for line in err.splitlines() if "no [llm] base_url and model are configured" in line]
        assert len(notes) == 1 and extra[0] in notes[0], err
    code, _, err = run_json(capsys, ["draw", "a cat", "--config", config, "--out", str(tmp_path / "f.png"), "--json"])
    assert code == 0 and "configured" not in err
