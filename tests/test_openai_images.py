"""OpenAI-compatible /images/generations and /images/edits: request shapes per model family,
b64_json and url answers, the one-time drop of a refused optional field, the image[] → image retry."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import respx

from llm2pic.backends.base import GenerationRequest
from llm2pic.backends.chain import BackendChain
from llm2pic.errors import ProtocolError, ReferenceUnsupported, TransientError
from llm2pic.backends.openai import OpenAIBackend
from llm2pic.backends.openai_params import images_body, model_family, size_for
from llm2pic.config.backends import OpenAIBackendConfig

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
KEY = "test-key-0123456789"


async def public_dns(host: str, port: int) -> list[str]:
    """Tests never resolve names: every image host "resolves" to one fixed public address."""
    return ["93.184.216.34"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def images_answer(*datas: bytes, revised: str | None = None) -> dict:
    """The ImagesResponse shape (backends.md §3.1) for GPT image models."""
    return {"created": 1760000000,
            "data": [{"b64_json": b64(d), "url": None, "revised_prompt": revised} for d in datas],
            "background": "opaque", "output_format": "png", "quality": "medium", "size": "1024x1024",
            "usage": {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210}}


def backend(**fields) -> tuple[OpenAIBackend, httpx.AsyncClient]:
    config = OpenAIBackendConfig(api_key=KEY, **fields)
    client = httpx.AsyncClient()
    return OpenAIBackend(config, client, environ={}, resolver=public_dns), client


@pytest.mark.parametrize("model,aspect,size", [
    ("gpt-image-1", "16:9", "1536x1024"),
    ("gpt-image-1", "9:16", "1024x1536"),
    ("gpt-image-1-mini", "1:1", "1024x1024"),
    ("dall-e-3", "16:9", "1792x1024"),
    ("dall-e-3", "3:4", "1024x1792"),
    ("dall-e-2", "16:9", "1024x1024"),
    ("gpt-image-2", "16:9", "1360x768"),
    ("gpt-image-2", "21:9", "1568x672"),
    ("gpt-image-2", "4:1", "1776x592"),    # clamped to 3:1
    ("flux-1-dev", "16:9", "1344x768"),      # any other model: WxH in multiples of 64
])
def test_size_follows_the_aspect_within_what_the_family_accepts(model, aspect, size):
    family = model_family(model)
    assert size_for(family, GenerationRequest("x", aspect=aspect)) == size


def test_family_detection():
    assert model_family("gpt-image-1.5") == "gpt-image"
    assert model_family("openai/dall-e-3") == "dall-e-3"
    assert model_family("grok-2-image") == "xai"
    assert model_family("anything", "https://api.x.ai/v1") == "xai"
    assert model_family("sdxl") == "other"
    assert model_family("sdxl", configured="dall-e-3") == "dall-e-3"


def test_xai_gets_no_size_or_quality_and_grok_imagine_gets_an_aspect_ratio():
    request = GenerationRequest("a fox", aspect="16:9")
    body = images_body(family="xai", model="grok-2-image", request=request, n=1, quality="hd")
    assert body == {"model": "grok-2-image", "prompt": "a fox", "n": 1, "response_format": "b64_json"}
    body = images_body(family="xai", model="grok-imagine-image", request=request, n=2)
    assert body["aspect_ratio"] == "16:9" and "size" not in body


async def test_gpt_image_request_and_b64_answer():
    openai, client = backend(model="gpt-image-1", quality="medium")
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post("https://api.openai.com/v1/images/generations").respond(
            200, json=images_answer(PNG, revised="a red fox, watercolor"))
        images = await openai.generate(GenerationRequest("a red fox", aspect="16:9"))
    await client.aclose()
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(sent.content) == {"model": "gpt-image-1", "prompt": "a red fox", "n": 1,
                                        "size": "1536x1024", "quality": "medium", "output_format": "png"}
    assert [(i.data, i.mime, i.backend) for i in images] == [(PNG, "image/png", "openai-gpt-image-1")]
    assert images[0].metadata["revised_prompt"] == "a red fox, watercolor"


async def test_dall_e_3_sends_one_request_per_image_with_response_format():
    # dall-e-3 takes n=1 only: the backend asks once, the chain asks again (with a new seed) for the second.
    openai, client = backend(model="dall-e-3")
    with respx.mock() as router:
        route = router.post("https://api.openai.com/v1/images/generations").respond(200, json=images_answer(PNG))
        assert len(await openai.generate(GenerationRequest("a fox", count=2))) == 1
        images = await BackendChain([openai]).generate(GenerationRequest("a fox", count=2))
    await client.aclose()
    assert route.call_count == 3 and len(images) == 2
    body = json.loads(route.calls.last.request.content)
    assert body["n"] == 1 and body["response_format"] == "b64_json" and body["size"] == "1024x1024"
    assert "output_format" not in body


async def test_dall_e_3_cannot_take_references_and_the_chain_says_so_in_one_sentence():
    openai, client = backend(model="dall-e-3")
    with respx.mock(assert_all_called=False) as router:
        edits = router.post("https://api.openai.com/v1/images/edits").respond(200, json=images_answer(PNG))
        generations = router.post("https://api.openai.com/v1/images/generations").respond(
            200, json=images_answer(PNG))
        with pytest.raises(ReferenceUnsupported) as caught:
            await BackendChain([openai]).generate(GenerationRequest("like this", reference_images=(PNG,)))
    await client.aclose()
    assert edits.call_count == generations.call_count == 0
    assert caught.value.user_message.count("。") == 1 and "参考图" in caught.value.user_message


async def test_several_edits_are_one_request_with_n_and_the_references_each_time():
    openai, client = backend(model="gpt-image-1")
    with respx.mock() as router:
        route = router.post("https://api.openai.com/v1/images/edits").mock(side_effect=[
            httpx.Response(200, json=images_answer(PNG, JPEG)), httpx.Response(200, json=images_answer(PNG))])
        images = await BackendChain([openai]).generate(
            GenerationRequest("make it snow", reference_images=(PNG,), count=3))
    await client.aclose()
    # The first request asks for 3 and gets 2; the second asks for the missing one.
    assert len(images) == 3 and route.call_count == 2
    assert [b'name="n"\r\n\r\n3' in route.calls[0].request.content,
            b'name="n"\r\n\r\n1' in route.calls[1].request.content] == [True, True]
    assert all(call.request.content.count(b'name="image[]"') == 1 for call in route.calls)


async def test_a_lost_answer_for_the_second_paid_image_is_not_resent_and_the_first_is_kept():
    openai, client = backend(model="dall-e-3", paid=True)
    with respx.mock() as router:
        route = router.post("https://api.openai.com/v1/images/generations").mock(side_effect=[
            httpx.Response(200, json=images_answer(PNG)), httpx.ReadTimeout("lost"),
            httpx.Response(200, json=images_answer(JPEG))])
        images = await BackendChain([openai]).generate(GenerationRequest("a fox", count=3))
    await client.aclose()
    assert route.call_count == 2 and [image.data for image in images] == [PNG]


async def test_gpt_image_asks_for_several_images_in_one_request():
    openai, client = backend(model="gpt-image-1")
    with respx.mock() as router:
        route = router.post("https://api.openai.com/v1/images/generations").respond(
            200, json=images_answer(PNG, JPEG))
        images = await openai.generate(GenerationRequest("a fox", count=2))
    await client.aclose()
    assert route.call_count == 1 and json.loads(route.calls.last.request.content)["n"] == 2
    assert [i.mime for i in images] == ["image/png", "image/jpeg"]


async def test_url_answer_is_downloaded_without_the_key_and_sniffed():
    openai, client = backend(model="dall-e-3", response_format="url")
    blob = "https://oaidalleapiprodscus.blob.core.windows.net/private/img-abc.png?st=2025&sig=xyz"
    with respx.mock() as router:
        router.post("https://api.openai.com/v1/images/generations").respond(
            200, json={"created": 1, "data": [{"url": blob, "revised_prompt": "a fox, detailed"}]})
        download = router.get(blob).respond(200, content=JPEG, headers={"content-type": "image/png"})
        images = await openai.generate(GenerationRequest("a fox"))
    await client.aclose()
    assert "authorization" not in download.calls.last.request.headers
    assert images[0].mime == "image/jpeg"  # the bytes win over the header


async def test_url_answer_that_is_not_an_image_is_refused():
    openai, client = backend(model="dall-e-3", response_format="url")
    with respx.mock() as router:
        router.post("https://api.openai.com/v1/images/generations").respond(
            200, json={"data": [{"url": "https://cdn.example.com/x.png"}]})
        router.get("https://cdn.example.com/x.png").respond(200, text="<html>login</html>",
                                                            headers={"content-type": "text/html"})
        with pytest.raises(TransientError) as caught:
            await openai.generate(GenerationRequest("a fox"))
    await client.aclose()
    assert caught.value.outcome_unknown  # the image was generated (and paid); never regenerate silently


async def test_oversized_url_download_is_stopped():
    openai, client = backend(model="dall-e-3", response_format="url", max_download_bytes=1024)
    with respx.mock() as router:
        router.post("https://api.openai.com/v1/images/generations").respond(
            200, json={"data": [{"url": "https://cdn.example.com/big.png"}]})
        router.get("https://cdn.example.com/big.png").respond(200, content=PNG + bytes(5000))
        with pytest.raises(TransientError) as caught:
            await openai.generate(GenerationRequest("a fox"))
    await client.aclose()
    assert "exceeded" in caught.value.detail or "refused" in caught.value.detail


async def test_answer_without_images_is_a_protocol_error():
    openai, client = backend()
    with respx.mock() as router:
        router.post("https://api.openai.com/v1/images/generations").respond(200, json={"created": 1, "data": []})
        with pytest.raises(ProtocolError):
            await openai.generate(GenerationRequest("a fox"))
        router.post("https://api.openai.com/v1/images/generations").respond(200, text="not json")
        with pytest.raises(ProtocolError):
            await openai.generate(GenerationRequest("a fox"))
    await client.aclose()


async def test_refused_optional_field_is_dropped_once():
    openai, client = backend(model="some-proxy-model", base_url="https://proxy.example.com/v1")
    refusal = {"error": {"message": "Unrecognized request argument supplied: response_format",
                         "type": "invalid_request_error", "param": "response_format", "code": None}}
    with respx.mock() as router:
        route = router.post("https://proxy.example.com/v1/images/generations").mock(side_effect=[
            httpx.Response(400, json=refusal), httpx.Response(200, json=images_answer(PNG))])
        images = await openai.generate(GenerationRequest("a fox"))
    await client.aclose()
    assert route.call_count == 2 and len(images) == 1
    assert "response_format" in json.loads(route.calls[0].request.content)
    assert "response_format" not in json.loads(route.calls[1].request.content)


async def test_explicit_size_and_extra_body_are_sent():
    openai, client = backend(model="gpt-image-1", size="1024x1536", extra_body={"background": "transparent"})
    with respx.mock() as router:
        route = router.post("https://api.openai.com/v1/images/generations").respond(200, json=images_answer(PNG))
        await openai.generate(GenerationRequest("a fox", aspect="16:9"))
    await client.aclose()
    body = json.loads(route.calls.last.request.content)
    assert body["size"] == "1024x1536" and body["background"] == "transparent"


# --- /images/edits ----------------------------------------------------------------------------


async def test_reference_images_go_to_edits_as_image_brackets():
    openai, client = backend(model="gpt-image-1")
    with respx.mock() as router:
        route = router.post("https://api.openai.com/v1/images/edits").respond(200, json=images_answer(PNG))
        images = await openai.generate(GenerationRequest("put the cat in the scene", reference_images=(PNG, JPEG)))
    await client.aclose()
    sent = route.calls.last.request
    assert sent.headers["content-type"].startswith("multipart/form-data")
    body = sent.content
    assert body.count(b'name="image[]"') == 2
    assert b'filename="reference1.png"' in body and b'filename="reference2.jpg"' in body
    assert b'name="prompt"\r\n\r\nput the cat in the scene' in body
    assert b'name="model"\r\n\r\ngpt-image-1' in body
    assert images[0].data == PNG


async def test_edits_retry_once_with_plain_image_when_a_proxy_refuses_brackets():
    openai, client = backend(model="gpt-image-1", base_url="https://relay.example.com/v1")
    missing = {"error": {"message": "missing image", "type": "invalid_request_error", "param": "image"}}
    with respx.mock() as router:
        route = router.post("https://relay.example.com/v1/images/edits").mock(side_effect=[
            httpx.Response(400, json=missing), httpx.Response(200, json=images_answer(PNG))])
        await openai.generate(GenerationRequest("a cat", reference_images=(PNG,)))
    await client.aclose()
    assert route.call_count == 2
    assert b'name="image[]"' in route.calls[0].request.content
    assert b'name="image"; filename' in route.calls[1].request.content


async def test_edits_do_not_loop_when_the_plain_form_is_refused_too():
    openai, client = backend(model="gpt-image-1", base_url="https://relay.example.com/v1")
    missing = {"error": {"message": "missing image", "param": "image"}}
    with respx.mock() as router:
        route = router.post("https://relay.example.com/v1/images/edits").respond(400, json=missing)
        with pytest.raises(Exception) as caught:
            await openai.generate(GenerationRequest("a cat", reference_images=(PNG,)))
    await client.aclose()
    assert route.call_count == 2 and caught.value.kind == "configuration"


async def test_key_from_the_named_environment_variable():
    config = OpenAIBackendConfig(api_key_env="MY_IMAGES_KEY")
    client = httpx.AsyncClient()
    openai = OpenAIBackend(config, client, environ={"MY_IMAGES_KEY": "from-env-key"})
    with respx.mock() as router:
        route = router.post("https://api.openai.com/v1/images/generations").respond(200, json=images_answer(PNG))
        await openai.generate(GenerationRequest("a fox"))
    await client.aclose()
    assert route.calls.last.request.headers["authorization"] == "Bearer from-env-key"


async def test_probe_lists_models_and_notes_a_missing_model():
    openai, client = backend(model="gpt-image-1")
    with respx.mock() as router:
        router.get("https://api.openai.com/v1/models").respond(200, json={"object": "list", "data": [
            {"id": "dall-e-3", "object": "model"}]})
        report = await openai.probe()
        router.get("https://api.openai.com/v1/models").respond(
            401, json={"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}})
        failed = await openai.probe()
    await client.aclose()
    assert report.ok and any("not in the provider's model list" in line for line in report.lines)
    assert not failed.ok and "401" in failed.summary


async def test_url_answer_pointing_inside_the_network_is_not_fetched():
    openai, client = backend(model="dall-e-3", response_format="url")
    with respx.mock(assert_all_called=False) as router:
        router.post("https://api.openai.com/v1/images/generations").respond(
            200, json={"data": [{"url": "http://169.254.169.254/latest/meta-data/iam.png"}]})
        metadata = router.get(url__regex=r"http://169\.254\.169\.254/.*").respond(200, content=PNG)
        with pytest.raises(TransientError) as caught:
            await openai.generate(GenerationRequest("a fox"))
    await client.aclose()
    assert metadata.call_count == 0 and "non-public" in caught.value.detail


async def test_url_answer_on_the_backends_own_local_origin_is_fetched():
    openai, client = backend(model="sdxl", base_url="http://127.0.0.1:8000/v1")
    with respx.mock() as router:
        router.post("http://127.0.0.1:8000/v1/images/generations").respond(
            200, json={"data": [{"url": "http://127.0.0.1:8000/files/out.png"}]})
        router.get("http://127.0.0.1:8000/files/out.png").respond(200, content=PNG)
        images = await openai.generate(GenerationRequest("a fox"))
    await client.aclose()
    assert images[0].data == PNG
