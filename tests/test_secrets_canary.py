"""A canary API key in the config, every failure path of the OpenAI-compatible and HF backends
(with upstream bodies and transport errors that echo the key back), run through the chain: the
canary must appear nowhere in logs, user messages, exception text, progress events, status lines,
probe reports or repr() of the config, and must only ever be sent to the configured host."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest
import respx

from llm2pic.backends.base import GenerationRequest, ProgressEvent
from llm2pic.errors import BackendError
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.registry import build_backend
from llm2pic.config.chain import ChainSection
from llm2pic.config.load import load_config_data

CANARY = "CANARY-9d1f6e2b7a0c4e11"  # deliberately not token-shaped: only explicit redaction can hide it
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)
OPENAI = "https://api.openai.com/v1"
async def public_dns(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


HF = "https://router.huggingface.co/hf-inference/models/black-forest-labs/FLUX.1-schnell"


def err(message: str, code: str | None = None, type_: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


ECHO = f"Incorrect API key provided: {CANARY}. You can find your API key at https://platform.openai.com."

OPENAI_FAILURES = [
    httpx.Response(400, json=err(f"rejected by the safety system ({CANARY})", "moderation_blocked",
                                 "image_generation_user_error")),
    httpx.Response(400, json=err(f"Your request was rejected as a result of our safety system {CANARY}",
                                 "content_policy_violation")),
    httpx.Response(400, json=err(f"Invalid size for key {CANARY}", "invalid_value")),
    httpx.Response(401, json=err(ECHO, "invalid_api_key")),
    httpx.Response(403, json=err(f"key {CANARY} has no access", None)),
    httpx.Response(403, json={"error": {"message": f"用户额度不足 {CANARY}", "code": "insufficient_user_quota"}}),
    httpx.Response(404, json=err(f"model_not_found for {CANARY}", "model_not_found")),
    httpx.Response(429, json=err(f"You exceeded your current quota ({CANARY})", "insufficient_quota")),
    httpx.Response(429, json=err(f"Rate limit reached for {CANARY}", "rate_limit_exceeded"),
                   headers={"retry-after": "1"}),
    httpx.Response(408, json=err(f"timeout {CANARY}")),
    httpx.Response(409, json=err(f"conflict {CANARY}")),
    httpx.Response(500, json=err(f"server error {CANARY}", None, "server_error")),
    httpx.Response(502, text=f"<html>bad gateway {CANARY}</html>"),
    httpx.Response(200, text=f"not json {CANARY}"),
    httpx.Response(200, json={"echo": CANARY, "data": []}),
    httpx.ReadError(f"connection reset while sending Bearer {CANARY}"),
    httpx.ReadTimeout(f"read timeout {CANARY}"),
    httpx.ConnectError(f"connect failed {CANARY}"),
    httpx.RemoteProtocolError(f"server disconnected {CANARY}"),
]

CHAT_ONLY_FAILURES = [
    httpx.Response(200, json={"choices": [{"finish_reason": "stop", "message": {
        "role": "assistant", "content": f"Your key {CANARY} looks nice, but here is a poem instead."}}]}),
    httpx.Response(200, json={"choices": [{"finish_reason": "stop", "message": {
        "role": "assistant", "content": f"Sorry, I can't draw that for {CANARY}."}}]}),
    httpx.Response(200, json={"choices": [{"finish_reason": "stop", "message": {
        "role": "assistant", "content": None, "refusal": f"refused {CANARY}"}}]}),
    httpx.Response(200, json={"choices": [{"finish_reason": "content_filter", "message": {"content": CANARY}}]}),
    httpx.Response(200, json={"error": {"code": 402, "message": f"Insufficient credits {CANARY}"}}),
    httpx.Response(200, json={"error": {"code": 502, "message": f"upstream failed {CANARY}"}}),
]

HF_FAILURES = [
    httpx.Response(400, json={"error": f"Potential NSFW content was detected {CANARY}"}),
    httpx.Response(401, json={"error": f"Invalid credentials in Authorization header {CANARY}"}),
    httpx.Response(402, json={"error": f"You have exceeded your monthly included credits {CANARY}"}),
    httpx.Response(403, json={"error": f"insufficient permissions for {CANARY}"}),
    httpx.Response(404, json={"error": f"Model not found {CANARY}"}),
    httpx.Response(422, json={"error": [f"bad width {CANARY}"]}),
    httpx.Response(429, json={"error": f"Too Many Requests {CANARY}"}, headers={"retry-after": "1"}),
    httpx.Response(500, json={"error": f"CUDA out of memory {CANARY}"}),
    httpx.Response(503, json={"error": f"Model is currently loading {CANARY}", "estimated_time": 500.0}),
    httpx.Response(503, text=f"Service Unavailable {CANARY}"),
    httpx.Response(200, json={"error": f"internal {CANARY}"}),
    httpx.Response(200, content=f"garbage {CANARY}".encode(), headers={"content-type": "image/png"}),
    httpx.ReadError(f"connection reset {CANARY}"),
    httpx.ReadTimeout(f"read timeout {CANARY}"),
    httpx.ConnectError(f"connect failed {CANARY}"),
]


class Evidence:
    """Everything a user, an admin or a log reader could see."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.failures = 0

    def progress(self, event: ProgressEvent) -> None:
        self.texts.append(repr(event))

    def error(self, exc: BaseException) -> None:
        self.failures += 1
        self.texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        if isinstance(exc, BackendError):
            self.texts += [exc.detail, exc.user_message]

    def assert_clean(self, caplog) -> None:
        leaks = [text for text in self.texts + [caplog.text] if CANARY in text]
        assert not leaks, leaks[0][:500]


async def drive(config_table: dict, route_url: str, outcomes: list, evidence: Evidence, *,
                request: GenerationRequest, extra_routes=()) -> int:
    """Run each outcome through a one-backend chain; return how many requests carried the key."""
    config = load_config_data({"backends": [config_table]}).config
    backend_config = config.backends[0]
    evidence.texts += [repr(config), str(config), repr(backend_config), backend_config.model_dump_json()]
    sent_with_key = 0
    async with httpx.AsyncClient() as client:
        backend = build_backend(backend_config, client, environ={})
        for outcome in outcomes:
            async def sleep(_seconds: float) -> None:
                return None

            the_chain = BackendChain([backend], ChainSection(max_attempts=2), sleep=sleep)
            with respx.mock(assert_all_called=False) as router:
                route = router.post(route_url)
                if isinstance(outcome, Exception):
                    route.mock(side_effect=outcome)
                else:
                    route.mock(return_value=outcome)
                for url, response in extra_routes:
                    router.get(url).mock(return_value=response)
                try:
                    await the_chain.generate(request, evidence.progress, deadline=60)
                except BackendError as exc:
                    evidence.error(exc)
                evidence.texts += [line for status in the_chain.status()
                                   for line in (status.describe(), status.user_line(), repr(status))]
                for call in router.calls:
                    if call.request.headers.get("authorization", "").endswith(CANARY):
                        assert call.request.url.host == httpx.URL(route_url).host
                        sent_with_key += 1
        with respx.mock(assert_all_called=False) as router:
            router.get(url__regex=r".*/models$").respond(401, json=err(ECHO, "invalid_api_key"))
            report = await backend.probe()
            evidence.texts += [report.summary, *report.lines]
    return sent_with_key


@pytest.mark.parametrize("mode", ["images", "edits", "chat"])
async def test_openai_backend_never_leaks_the_key(mode, caplog):
    caplog.set_level(logging.DEBUG)
    evidence = Evidence()
    table = {"type": "openai", "name": "canary-openai", "api_key": CANARY, "model": "gpt-image-1",
             "mode": "chat" if mode == "chat" else "images"}
    path = {"images": "/images/generations", "edits": "/images/edits", "chat": "/chat/completions"}[mode]
    request = GenerationRequest("a fox", reference_images=(PNG,) if mode == "edits" else ())
    outcomes = OPENAI_FAILURES + (CHAT_ONLY_FAILURES if mode == "chat" else [])
    sent = await drive(table, OPENAI + path, outcomes, evidence, request=request)
    assert evidence.failures == len(outcomes)
    assert sent >= len(outcomes)  # the key did go to its own host, so the test is not vacuous
    evidence.assert_clean(caplog)


async def test_openai_url_answers_never_carry_the_key_to_the_image_host(caplog):
    caplog.set_level(logging.DEBUG)
    evidence = Evidence()
    image_url = "https://images.cdn.example.net/out/1.png"
    outcome = httpx.Response(200, json={"data": [{"url": image_url}]})
    table = {"type": "openai", "api_key": CANARY, "model": "dall-e-3", "response_format": "url"}
    async with httpx.AsyncClient() as client:
        config = load_config_data({"backends": [table]}).config.backends[0]
        backend = build_backend(config, client, environ={})
        backend.resolver = public_dns
        with respx.mock() as router:
            router.post(OPENAI + "/images/generations").mock(return_value=outcome)
            download = router.get(image_url).mock(side_effect=[
                httpx.Response(500, text=f"oops {CANARY}"), httpx.Response(200, content=PNG)])
            images = await BackendChain([backend]).generate(GenerationRequest("a fox"), evidence.progress)
    assert images[0].data == PNG
    assert all("authorization" not in call.request.headers for call in download.calls)
    evidence.assert_clean(caplog)


async def test_hf_backend_never_leaks_the_token(caplog):
    caplog.set_level(logging.DEBUG)
    evidence = Evidence()
    table = {"type": "hf_inference", "name": "canary-hf", "token": CANARY, "model_wait": 0}
    sent = await drive(table, HF, HF_FAILURES, evidence, request=GenerationRequest("a fox"))
    assert evidence.failures == len(HF_FAILURES) and sent >= len(HF_FAILURES)
    evidence.assert_clean(caplog)


async def test_key_from_the_environment_is_redacted_too(caplog):
    caplog.set_level(logging.DEBUG)
    evidence = Evidence()
    config = load_config_data({"backends": [{"type": "openai", "api_key_env": "CANARY_KEY"}]}).config.backends[0]
    async with httpx.AsyncClient() as client:
        backend = build_backend(config, client, environ={"CANARY_KEY": CANARY})
        with respx.mock() as router:
            router.post(OPENAI + "/images/generations").respond(401, json=err(ECHO, "invalid_api_key"))
            try:
                await BackendChain([backend]).generate(GenerationRequest("a fox"), evidence.progress)
            except BackendError as exc:
                evidence.error(exc)
    assert evidence.failures == 1
    evidence.assert_clean(caplog)


def test_config_validation_errors_do_not_echo_the_key():
    from llm2pic.config.load import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_config_data({"backends": [{"type": "openai", "api_key": CANARY, "size": "huge"}]})
    assert CANARY not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_config_data({"backends": [{"type": "hf_inference", "token": [CANARY]}]})
    assert CANARY not in str(caught.value)

