"""Images through /chat/completions: every place providers put the image (backends.md §3.4, in
that order), refusals, and the classic plugin's `api_type = "openai"` config."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import respx

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import ContentRejectedError, ProtocolError, QuotaError
from llm2pic.backends.openai import OpenAIBackend
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import OpenAIBackendConfig
from llm2pic.config.load import load_config_data

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(40)
OPENROUTER = "https://openrouter.ai/api/v1"
RELAY = "https://relay.example.com/v1"


async def public_dns(host: str, port: int) -> list[str]:
    """Tests never resolve names: every image host "resolves" to one fixed public address."""
    return ["93.184.216.34"]


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def completion(message: dict, finish_reason: str = "stop") -> dict:
    return {"id": "gen-1", "object": "chat.completion", "created": 1760000000, "model": "m",
            "choices": [{"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", **message}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 1290, "total_tokens": 1300}}


async def chat(message: dict, *, base_url: str = RELAY, finish_reason: str = "stop", request=None,
               downloads: dict | None = None, **fields):
    config = OpenAIBackendConfig(mode="chat", base_url=base_url, api_key="k-123456", model="m", **fields)
    client = httpx.AsyncClient()
    backend = OpenAIBackend(config, client, environ={}, resolver=public_dns)
    try:
        with respx.mock() as router:
            route = router.post(f"{base_url}/chat/completions").respond(
                200, json=completion(message, finish_reason))
            for url, content in (downloads or {}).items():
                router.get(url).respond(200, content=content, headers={"content-type": "image/jpeg"})
            images = await backend.generate(request or GenerationRequest("a fox", aspect="16:9"))
        return images, json.loads(route.calls.last.request.content)
    finally:
        await client.aclose()


async def test_openrouter_message_images_and_request_shape():
    message = {"content": "Here is your fox.",
               "images": [{"type": "image_url", "image_url": {"url": data_url(PNG)}}]}
    images, body = await chat(message, base_url=OPENROUTER)
    assert [i.mime for i in images] == ["image/png"] and images[0].data == PNG
    assert body["model"] == "m" and body["messages"] == [{"role": "user", "content": "a fox"}]
    assert body["modalities"] == ["image", "text"]
    assert body["image_config"] == {"aspect_ratio": "16:9"} and body["stream"] is False


async def test_camel_case_image_url_and_several_images():
    message = {"content": "", "images": [{"imageUrl": {"url": data_url(PNG)}}, {"url": data_url(JPEG, "image/jpeg")}]}
    images, body = await chat(message, request=GenerationRequest("a fox", count=2))
    assert [i.mime for i in images] == ["image/png", "image/jpeg"]
    assert "image_config" not in body  # only OpenRouter gets it by default


@pytest.mark.parametrize("part", [
    {"type": "image_url", "image_url": {"url": data_url(WEBP, "image/webp")}},
    {"type": "output_image", "b64_json": base64.b64encode(WEBP).decode()},
    {"type": "image", "image_base64": base64.b64encode(WEBP).decode(), "mime_type": "image/webp"},
])
async def test_content_parts(part):
    images, _ = await chat({"content": [{"type": "text", "text": "done"}, part]})
    assert images[0].mime == "image/webp"


async def test_markdown_image_url_is_downloaded_without_the_key():
    url = "https://files.relay.example.net/gen/abc.jpg"
    images, _ = await chat({"content": f"好的！\n\n![image]({url} \"fox\")"}, downloads={url: JPEG})
    assert images[0].data == JPEG


async def test_markdown_data_url():
    images, _ = await chat({"content": f"![]({data_url(PNG)})"})
    assert images[0].data == PNG


async def test_html_img_tag():
    images, _ = await chat({"content": f'<p>fox</p><img alt="x" src="{data_url(PNG)}">'})
    assert images[0].data == PNG


async def test_bare_data_url():
    images, _ = await chat({"content": f"result: {data_url(PNG)} enjoy"})
    assert images[0].data == PNG


async def test_bare_image_url():
    url = "https://cdn.relay.example.net/out/fox.jpeg?expires=1"
    images, _ = await chat({"content": f"Your image: {url}"}, downloads={url: JPEG})
    assert images[0].data == JPEG


async def test_message_images_win_over_markdown_in_the_content():
    never = "https://cdn.relay.example.net/never.png"
    message = {"content": f"![]({never})", "images": [{"image_url": {"url": data_url(PNG)}}]}
    images, _ = await chat(message)  # the markdown URL is not mocked: downloading it would fail
    assert len(images) == 1 and images[0].data == PNG


async def test_images_style_body_from_a_chat_endpoint():
    config = OpenAIBackendConfig(mode="chat", base_url=RELAY, api_key="k-123456", model="m")
    async with httpx.AsyncClient() as client:
        with respx.mock() as router:
            router.post(f"{RELAY}/chat/completions").respond(200, json={
                "choices": [{"message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}],
                "data": [{"b64_json": base64.b64encode(PNG).decode()}]})
            images = await OpenAIBackend(config, client, environ={}).generate(GenerationRequest("fox"))
    assert images[0].data == PNG


async def test_content_filter_finish_reason_is_a_rejection():
    with pytest.raises(ContentRejectedError):
        await chat({"content": None}, finish_reason="content_filter")


@pytest.mark.parametrize("message", [
    {"content": None, "refusal": "I can't help with that."},
    {"content": "I'm sorry, but I can't create that image because it violates the content policy."},
    {"content": "抱歉，我无法生成这类图片。"},
])
async def test_refusal_without_an_image_is_a_rejection(message):
    with pytest.raises(ContentRejectedError) as caught:
        await chat(message)
    assert caught.value.user_message == "这个画不了，换个内容试试吧。"


async def test_text_without_an_image_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        await chat({"content": "A fox is a small omnivorous mammal."})


async def test_reference_images_become_content_parts():
    _, body = await chat({"images": [{"image_url": {"url": data_url(PNG)}}]},
                         request=GenerationRequest("same girl, at the beach", reference_images=(JPEG,)),
                         chat_instruction="Generate an image:")
    content = body["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "Generate an image:\n\nsame girl, at the beach"}
    assert content[1] == {"type": "image_url", "image_url": {"url": data_url(JPEG, "image/jpeg")}}


async def test_modalities_can_be_turned_off_for_strict_relays():
    _, body = await chat({"images": [{"image_url": {"url": data_url(PNG)}}]}, chat_modalities=[])
    assert "modalities" not in body


async def test_openrouter_error_inside_a_200_answer():
    config = OpenAIBackendConfig(mode="chat", base_url=OPENROUTER, api_key="k-123456", model="m")
    async with httpx.AsyncClient() as client:
        with respx.mock() as router:
            router.post(f"{OPENROUTER}/chat/completions").respond(200, json={
                "error": {"code": 402, "message": "Insufficient credits. Add more using https://openrouter.ai/credits"}})
            with pytest.raises(QuotaError):
                await OpenAIBackend(config, client, environ={}).generate(GenerationRequest("fox"))


async def test_classic_api_type_openai_config_keeps_working():
    classic = {"api": {"api_type": "openai", "base_url": "https://grok2api.example.org/v1",
                       "api_key": "classic-key-42", "model_name": "grok-3-image"},
               "generation": {"default_size": "1024x1024"}}
    config = load_config_data(classic).config.backends[0]
    assert (config.type, config.mode, config.model) == ("openai", "chat", "grok-3-image")
    client = make_client(config)
    backend = build_backend(config, client, environ={})
    backend.resolver = public_dns
    url = "https://assets.grok2api.example.org/users/1/generated/abc/image.jpg"
    try:
        with respx.mock() as router:
            route = router.post("https://grok2api.example.org/v1/chat/completions").respond(
                200, json=completion({"content": f"我为你生成了图片：\n![Generated Image]({url})"}))
            router.get(url).respond(200, content=JPEG, headers={"content-type": "image/jpeg"})
            images = await backend.generate(GenerationRequest("一只狐狸"))
    finally:
        await client.aclose()
    assert route.calls.last.request.headers["authorization"] == "Bearer classic-key-42"
    assert images[0].mime == "image/jpeg"
