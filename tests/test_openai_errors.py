"""OpenAI-compatible error answers → the taxonomy, with bodies shaped like the real providers'
(backends.md §3.3), Retry-After handling and transport failures (sent or not sent)."""

from __future__ import annotations

from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import respx

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import ConfigurationError, ContentRejectedError, ProtocolError, QuotaError, TransientError
from llm2pic.backends.openai import OpenAIBackend
from llm2pic.config.backends import OpenAIBackendConfig

URL = "https://api.openai.com/v1/images/generations"


def err(message: str, type_: str | None, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


DALLE_POLICY = err("Your request was rejected as a result of our safety system. Your prompt may contain text that "
                   "is not allowed by our safety system.", "invalid_request_error", "content_policy_violation")
GPT_IMAGE_MODERATION = err("Your request was rejected by the safety system. If you believe this is an error, contact "
                           "us at help.openai.com and include the request ID req_123. safety_violations=[sexual].",
                           "image_generation_user_error", "moderation_blocked")
INSUFFICIENT_QUOTA = err("You exceeded your current quota, please check your plan and billing details.",
                         "insufficient_quota", "insufficient_quota")
RATE_LIMIT = err("Rate limit reached for gpt-image-1 in organization org-x on images per minute (IPM): Limit 5, "
                 "Used 5, Requested 1.", "requests", "rate_limit_exceeded")
INVALID_KEY = err("Incorrect API key provided: sk-proj-********************abcd. You can find your API key at "
                  "https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key")
MODEL_NOT_FOUND = err("The model `gpt-image-9` does not exist or you do not have access to it.",
                      "invalid_request_error", "model_not_found")
NEWAPI_QUOTA = {"error": {"message": "用户额度不足, 剩余额度: ＄0.000000", "type": "new_api_error",
                          "code": "insufficient_user_quota"}}
SERVER = err("The server had an error while processing your request. Sorry about that!", "server_error", None)


async def attempt(response: httpx.Response | Exception, **fields):
    config = OpenAIBackendConfig(api_key="sk-test-key-123456", **fields)
    async with httpx.AsyncClient() as client:
        with respx.mock() as router:
            route = router.post(URL)
            if isinstance(response, Exception):
                route.mock(side_effect=response)
            else:
                route.mock(return_value=response)
            with pytest.raises(Exception) as caught:
                await OpenAIBackend(config, client, environ={}).generate(GenerationRequest("a fox"))
    assert route.call_count == 1  # a backend never retries by itself; the chain decides
    return caught.value


@pytest.mark.parametrize("status,body,kind", [
    (400, DALLE_POLICY, ContentRejectedError),
    (400, GPT_IMAGE_MODERATION, ContentRejectedError),
    (429, INSUFFICIENT_QUOTA, QuotaError),
    (403, NEWAPI_QUOTA, QuotaError),
    (402, err("Payment Required", None, None), QuotaError),
    (401, INVALID_KEY, ConfigurationError),
    (403, err("Project does not have access to model gpt-image-1", "invalid_request_error", None), ConfigurationError),
    (404, MODEL_NOT_FOUND, ConfigurationError),
    (400, err("Invalid value: 'huge'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
              "invalid_request_error", "invalid_value", "quality"), ConfigurationError),
    (429, RATE_LIMIT, TransientError),
    (408, err("Request timed out.", None, None), TransientError),
    (409, err("Conflict", None, None), TransientError),
    (500, SERVER, TransientError),
    (502, None, TransientError),
    (503, err("The engine is currently overloaded, please try again later", "server_error", None), TransientError),
])
async def test_status_and_body_map_to_the_taxonomy(status, body, kind):
    response = httpx.Response(status, json=body) if body else httpx.Response(status, text="<html>Bad gateway</html>")
    error = await attempt(response)
    assert type(error) is kind
    assert not error.outcome_unknown
    assert "safety system" not in error.user_message and "quota" not in error.user_message.lower()


async def test_upstream_text_goes_to_the_log_detail_only():
    error = await attempt(httpx.Response(400, json=GPT_IMAGE_MODERATION))
    assert "moderation_blocked" in error.detail and "safety_violations" in error.detail
    assert error.user_message == "这个画不了，换个内容试试吧。"


@pytest.mark.parametrize("headers,expected", [
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after": "7"}, 7.0),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
])
async def test_retry_after_headers(headers, expected):
    error = await attempt(httpx.Response(429, json=RATE_LIMIT, headers=headers))
    assert isinstance(error, TransientError) and error.retry_after == pytest.approx(expected)


async def test_retry_after_as_http_date():
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    error = await attempt(httpx.Response(503, json=SERVER, headers={"retry-after": when}))
    assert 25 <= error.retry_after <= 31


async def test_x_should_retry_wins_over_the_status():
    error = await attempt(httpx.Response(500, json=SERVER, headers={"x-should-retry": "false"}))
    assert isinstance(error, ProtocolError)
    error = await attempt(httpx.Response(400, json=err("try again", None, None), headers={"x-should-retry": "true"}))
    assert isinstance(error, TransientError)


async def test_quota_error_keeps_a_retry_after():
    error = await attempt(httpx.Response(429, json=INSUFFICIENT_QUOTA, headers={"retry-after": "600"}))
    assert isinstance(error, QuotaError) and error.retry_after == 600
    assert error.user_message == "免费额度用完了，约 10 分钟后再试。"


@pytest.mark.parametrize("exc,unknown", [
    (httpx.ConnectError("connection refused"), False),
    (httpx.ConnectTimeout("connect timed out"), False),
    (httpx.ReadError("connection reset by peer"), True),
    (httpx.ReadTimeout("read timed out"), True),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
])
async def test_transport_failures_say_whether_the_request_may_have_run(exc, unknown):
    error = await attempt(exc)
    assert isinstance(error, TransientError) and error.outcome_unknown is unknown
    assert not isinstance(error, httpx.HTTPError) and error.__suppress_context__


@pytest.mark.parametrize("message", [
    "Invalid value for 'moderation': expected 'auto' or 'low'.",
    "The model name is case-sensitive: gpt-image-1",
])
async def test_parameter_errors_that_mention_safety_words_are_not_rejections(message):
    error = await attempt(httpx.Response(400, json=err(message, "invalid_request_error", "invalid_value")))
    assert isinstance(error, ConfigurationError)
