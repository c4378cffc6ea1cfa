"""Relay-facing rules without a relay: one-line reasons, masking of echoed keys, the unsupported
parameter read from the message, and the waits a 429 names. The wordings below are the providers'
and relays' own (OpenAI's API, LiteLLM 1.108 `litellm/proxy/auth/user_api_key_auth.py` and
`litellm/utils.py`, one-api / new-api); the real LiteLLM proxy runs in test_openai_relay_litellm.py."""

from __future__ import annotations

import json
import math
import time

import httpx
import pytest
import respx

from llm2pic.backends.base import GeneratedImage, GenerationRequest, no_progress, Backend
from llm2pic.errors import BackendError, ConfigurationError, TransientError
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.openai import OpenAIBackend
from llm2pic.backends.openai_errors import OpenAIErrorBody, classify_error, refused_params
from llm2pic.backends.openai_ratelimit import MAX_SERVER_WAIT, header_wait, parse_duration, server_wait, text_wait
from llm2pic.config.backends import OpenAIBackendConfig
from llm2pic.config.chain import ChainSection
from llm2pic.reasons import REASON_LIMIT, one_line
from llm2pic.redaction import MASK, mask_token_runs, redact

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)
B64_PNG = "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

# --- one line ---------------------------------------------------------------------------------


def test_one_line_collapses_whitespace_controls_and_bounds_length():
    litellm = ("litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key.\n\n"
               "LiteLLM: model group 'img' failed with the error above. No fallback was attempted.\r\n\t")
    assert one_line(litellm) == ("litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect "
                                 "API key. LiteLLM: model group 'img' failed with the error above. No fallback "
                                 "was attempted.")
    assert one_line("a\x1b[31mred\x1b[0m\u2028b\u202eevil\x00") == "a [31mred [0m b evil"
    long = one_line("word " * 1000)
    assert len(long) == REASON_LIMIT and long.endswith("…") and "\n" not in long
    assert one_line("x" * 50, 10) == "x" * 9 + "…"


def test_every_backend_error_detail_is_one_bounded_line():
    error = TransientError("upstream said:\nline two\n\nline three " + "y" * 5000, backend="relay")
    assert "\n" not in error.detail and "\n" not in str(error)
    assert error.detail.startswith("upstream said: line two line three y") and len(error.detail) <= REASON_LIMIT


# --- echoed keys ------------------------------------------------------------------------------

@pytest.mark.parametrize("text,secret", [
    ("Incorrect API key provided: plainupstreamkey. You can find your API key at "
     "https://platform.openai.com/account/api-keys.", "plainupstreamkey"),
    ("Incorrect API key provided: abc", "abc"),
    ("Invalid API Key: gsk_live_0123", "gsk_live_0123"),
    ("Authentication Error, Invalid proxy server token passed. Received API Key = sk-...wxyz, "
     "Key Hash (Token) =88dc28d0f030c55ed4ab77ed8faf0981. Unable to find token in cache", "88dc28d0f030c55ed4ab"),
    ("Authentication Error, Invalid proxy server token passed. Received API Key = relaykey-1, Key Hash", "relaykey-1"),
    ("LiteLLM Virtual Key expected. Received=notavirtualkey, expected to start with 'sk-'.", "notavirtualkey"),
    ("Authentication Fails, Your api key: ****abcd is invalid", "****abcd"),
    ("The API key 'AIzaSyD-xyz_123' is invalid.", "AIzaSyD-xyz_123"),
    ("key xyz987654 is invalid", "xyz987654"),
    ("upstream: api_key=plainsecret&foo=1", "plainsecret"),
    ("x-api-key: hdr-secret-1 rejected", "hdr-secret-1"),
    ("无效的令牌：tokentoken123", "tokentoken123"),
    ("令牌 tokentoken123 已过期", "tokentoken123"),
    ("Your API key is plainkey123.", "plainkey123"),
    ("Your token [abc123xyz] has been disabled", "abc123xyz"),
    ("Invalid token: abc123def456", "abc123def456"),
    ("Invalid key: abcdefghijklmnopq", "abcdefghijklmnopq"),
    ("Invalid api_key: plainkey", "plainkey"),
    ("your token is: hunter22", "hunter22"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "eyJhbGciOiJIUzI1NiJ9"),
    ("header Bearer mytokenvalue123", "mytokenvalue123"),
])
def test_key_echo_phrases_mask_the_value_whatever_its_shape(text, secret):
    masked = redact(text)
    assert secret not in masked and MASK in masked


@pytest.mark.parametrize("text", [
    "the API key is missing", "API key is required", "max_tokens: 4096 is too large", "The monkey: banana",
    "token is expired", "You can find your API key at https://platform.openai.com/account/api-keys.",
    "missing key: 'prompt'", "Requested tokens: 4096", "Expected 1 image, received: 2", "the key format is invalid",
    # ordinary words after an adjective and a generic noun, and Chinese status words, stay readable
    "Invalid key: 'prompt'", "Unknown key: width", "invalid token: EOF", "Invalid key: model_name",
    "provided key: seed", "Invalid tokens: 4097 > 4096", "bad token: Expected", "invalid token: ConnectError",
    "密钥: 无效", "令牌：已过期", "passwords: do not match", "credentials: default",
    "the bearer of light", "Bearer token required",
])
def test_key_echo_masking_keeps_plain_sentences(text):
    assert redact(text) == text


def test_token_runs_are_masked_in_auth_errors_but_urls_and_words_stay():
    text = ("Unauthorized f3a9c0d1e2b4a5968778a9b0c1d2e3f4 see https://platform.openai.com/account/api-keys "
            "model gpt-image-1, ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ. authentication_error")
    assert mask_token_runs(text) == ("Unauthorized *** see https://platform.openai.com/account/api-keys "
                                     "model gpt-image-1, ***. authentication_error")


def test_a_401_with_a_bare_upstream_key_of_any_shape_is_masked():
    key = "Zq7PLAINupstream55secretValue"
    response = httpx.Response(401, json={"error": {"message": f"upstream rejected {key} for this route",
                                                  "type": "auth_error", "code": "401"}})
    error = classify_error(response, response.content, "POST /images/generations", backend="relay",
                           redact=lambda text: text)
    assert isinstance(error, ConfigurationError) and key not in error.detail and MASK in error.detail


# --- unsupported parameter named in the message --------------------------------------------------

BODY_FIELDS = ["response_format", "size", "quality", "output_format"]


@pytest.mark.parametrize("message,param,expected", [
    ("litellm.UnsupportedParamsError: Setting `response_format` is not supported by openai. To drop it from the "
     "call, set `litellm.drop_params = True`.", "", ["response_format"]),
    ("litellm.UnsupportedParamsError: openai does not support parameters: ['response_format', 'quality'], for "
     "model=my-image. To drop these, set `litellm.drop_params=True`", None, ["response_format", "quality"]),
    ("Unknown parameter: 'response_format'.", "", ["response_format"]),
    ("Unrecognized request argument supplied: quality", "", ["quality"]),
    ("Invalid JSON payload received. Unknown name \"output_format\": Cannot find field.", "", ["output_format"]),
    ("[{'type': 'extra_forbidden', 'loc': ('body', 'size'), 'msg': 'Extra inputs are not permitted'}]", "",
     ["size"]),
    ("不支持的参数: response_format", "", ["response_format"]),
    ("response_format is not supported for this model", "", ["response_format"]),
    ("anything at all", "quality", ["quality"]),
    ("Invalid value: 'huge'. Supported values are: 'low', 'medium', 'high', and 'auto'.", "", []),
    ("The size of the prompt is not supported", "", []),
    ("Setting `seed` is not supported", "", []),
])
def test_refused_params_from_param_or_message(message, param, expected):
    error = OpenAIErrorBody(message=message, param=param or "")
    assert refused_params(error, BODY_FIELDS) == expected


def backend(**fields) -> tuple[OpenAIBackend, httpx.AsyncClient]:
    config = OpenAIBackendConfig(**{"api_key": "sk-test-key-123456", **fields})
    client = httpx.AsyncClient()
    return OpenAIBackend(config, client, environ={}), client


async def test_a_field_refused_only_in_the_message_is_dropped_and_remembered_for_the_process():
    refusal = {"error": {"message": "litellm.UnsupportedParamsError: Setting `response_format` is not supported "
                                    "by openai.\n\nLiteLLM: model group 'x' failed", "type": None, "param": None,
                         "code": "400"}}
    url = "https://relay.example.com/v1/images/generations"
    with respx.mock() as router:
        route = router.post(url).mock(side_effect=[httpx.Response(400, json=refusal),
                                                   httpx.Response(200, json={"data": [{"b64_json": B64_PNG}]}),
                                                   httpx.Response(200, json={"data": [{"b64_json": B64_PNG}]})])
        first, client = backend(model="house-model", base_url="https://relay.example.com/v1")
        assert len(await first.generate(GenerationRequest("a fox"))) == 1
        second, other = backend(model="house-model", base_url="https://relay.example.com/v1")  # a config reload
        await second.generate(GenerationRequest("a fox"))
    await client.aclose()
    await other.aclose()
    sent = [json.loads(call.request.content) for call in route.calls]
    assert len(sent) == 3
    assert "response_format" in sent[0] and "response_format" not in sent[1] and "response_format" not in sent[2]


async def test_a_refusal_of_a_field_we_did_not_send_is_not_resent():
    refusal = {"error": {"message": "Setting `style` is not supported", "param": None}}
    with respx.mock() as router:
        route = router.post("https://relay.example.com/v1/images/generations").respond(400, json=refusal)
        openai, client = backend(model="house-model", base_url="https://relay.example.com/v1")
        with pytest.raises(ConfigurationError):
            await openai.generate(GenerationRequest("a fox"))
    await client.aclose()
    assert route.call_count == 1


async def test_chat_route_drops_a_refused_modalities_field():
    refusal = {"error": {"message": "Unknown parameter: 'modalities'.", "param": None}}
    answer = {"choices": [{"message": {"role": "assistant", "content": f"![img](data:image/png;base64,{B64_PNG})"}}]}
    with respx.mock() as router:
        route = router.post("https://relay.example.com/v1/chat/completions").mock(
            side_effect=[httpx.Response(400, json=refusal), httpx.Response(200, json=answer)])
        openai, client = backend(model="img-chat", base_url="https://relay.example.com/v1", mode="chat")
        images = await openai.generate(GenerationRequest("a fox"))
    await client.aclose()
    assert len(images) == 1 and route.call_count == 2
    assert "modalities" in json.loads(route.calls[0].request.content)
    assert "modalities" not in json.loads(route.calls[1].request.content)


# --- waits ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,seconds", [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5),
                                          ("0.5", 0.5), ("1e999", None), ("soon", None), ("", None),
                                          ("99999h", MAX_SERVER_WAIT)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("headers,seconds", [
    ({"retry-after": "1e999"}, None), ({"retry-after": "inf"}, None), ({"retry-after": "nan"}, None),
    ({"retry-after": "1e300"}, MAX_SERVER_WAIT), ({"retry-after": "-5"}, 0.0), ({"retry-after": "7"}, 7.0),
    ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
    ({"retry-after-ms": "1e999"}, None),
    ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s",
      "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "900"}, 1.0),
    ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "20ms"}, 1.0),
    ({"x-ratelimit-reset-tokens": "6m0s", "x-ratelimit-remaining-tokens": "0"}, 360.0),
    ({}, None),
])
def test_header_waits_are_finite_and_bounded(headers, seconds):
    wait = header_wait(httpx.Headers(headers))
    assert wait == seconds and (wait is None or math.isfinite(wait))


@pytest.mark.parametrize("message,seconds", [
    ("Rate limit reached for gpt-image-1 on images per minute. Please try again in 20s. Visit …", 20.0),
    ("Please try again in 6m0s.", 360.0),
    ("No deployments available for selected model, Try again in 5 seconds. Passed model=img.", 5.0),
    ("retry after 1.5 s", 1.5), ("当前分组上游负载已饱和，请 30 秒后重试", 30.0), ("try again in 2 minutes", 120.0),
    ("Please wait 10 seconds before retrying", 10.0), ("the limit resets in 30s", 30.0),
    ("please try again later", None), ("please wait a moment", None),
])
def test_text_waits(message, seconds):
    assert text_wait(message) == seconds


def test_reset_given_as_a_moment_is_the_wait_until_then():
    now = time.time()
    assert 25 < header_wait(httpx.Headers({"x-ratelimit-reset": str(int(now) + 30)})) <= 30
    assert 25 < header_wait(httpx.Headers({"x-ratelimit-reset-requests": str(int(now * 1000) + 30000)})) <= 30
    assert header_wait(httpx.Headers({"x-ratelimit-reset": "2020-01-01T00:00:00Z"})) == 0.0
    assert header_wait(httpx.Headers({"x-ratelimit-reset": "soon"})) is None


def test_headers_win_over_text():
    assert server_wait(httpx.Headers({"retry-after": "3"}), "try again in 20s") == 3.0
    assert server_wait(httpx.Headers({"retry-after": "1e999"}), "try again in 20s") == 20.0


def classify_429(headers: dict, message: str) -> BackendError:
    response = httpx.Response(429, headers=headers, json={"error": {"message": message, "type": "rate_limit"}})
    return classify_error(response, response.content, "POST /images/generations", backend="relay",
                          redact=lambda text: text)


def test_a_429_that_names_a_wait_is_retried_after_it_one_that_names_none_moves_on():
    waited = classify_429({"x-ratelimit-reset-requests": "6m0s", "x-ratelimit-remaining-requests": "0"}, "slow down")
    assert isinstance(waited, TransientError) and waited.retry_after == 360.0 and waited.retry_here
    texted = classify_429({}, "No deployments available for selected model, Try again in 5 seconds.")
    assert texted.retry_after == 5.0 and texted.retry_here
    silent = classify_429({}, "rate limited")
    assert isinstance(silent, TransientError) and silent.retry_after is None and not silent.retry_here
    infinite = classify_429({"retry-after": "1e999"}, "rate limited")
    assert infinite.retry_after is None and not infinite.retry_here


class Once(Backend):
    def __init__(self, name: str, error: BackendError | None) -> None:
        self.name, self.error, self.calls = name, error, 0

    async def generate(self, request, progress=no_progress):
        self.calls += 1
        if self.error:
            raise self.error
        return [GeneratedImage(PNG, "image/png", self.name)]

    async def probe(self):
        raise NotImplementedError


async def test_chain_moves_on_at_once_after_a_429_without_a_wait():
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    limited = Once("relay", classify_429({}, "rate limited"))
    spare = Once("spare", None)
    images = await BackendChain([limited, spare], ChainSection(max_attempts=3), sleep=sleep).generate(
        GenerationRequest("a fox"))
    assert images[0].backend == "spare" and limited.calls == 1 and sleeps == []
