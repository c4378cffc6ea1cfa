"""OpenAI-style error answers → the backend error taxonomy.

Body shape: {"error": {"message", "type", "param", "code"}}; proxies (one-api / new-api) use the
same shape with their own codes, some put a plain string in "error". The retry policy follows the
OpenAI SDK: `x-should-retry` wins, then 408 / 409 / 429 / 5xx are transient.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import httpx

from ..reasons import one_line
from ..redaction import mask_token_runs
from ..errors import BackendError, ConfigurationError, ContentRejectedError, ProtocolError, QuotaError, TransientError
from .openai_ratelimit import header_wait, server_wait

# Codes and types that mean "the safety system refused this prompt or image".
_REJECTED_CODES = {"content_policy_violation", "moderation_blocked", "content_filter", "sensitive_words_detected",
                   "prompt_blocked", "safety_violation"}
_REJECTED_TYPES = {"image_generation_user_error"}
# Matched in the message only for 400/403/422; narrow on purpose: a wrong verdict stops the chain.
_REJECTED_WORDS = ("safety system", "content policy", "content_policy", "moderation_blocked", "flagged by moderation",
                   "rejected by moderation", "safety_violations", "sensitive content", "sensitive_words", "nsfw",
                   "违规", "敏感词", "内容审核")
# Codes and words that mean "billing / balance", not "slow down".
_QUOTA_CODES = {"insufficient_quota", "insufficient_user_quota", "quota_exceeded", "billing_hard_limit_reached",
                "insufficient_balance", "pre_consume_token_quota_failed"}
_QUOTA_WORDS = ("insufficient_quota", "exceeded your current quota", "insufficient balance", "余额不足",
                "额度不足", "quota is not enough", "credits")
# Server text kept in a reason (the whole reason is bounded again by `one_line`).
_SAID_LIMIT = 400
# Words of a 400 that refuses a request field (OpenAI: "Unknown parameter: 'x'.", "Unrecognized request
# argument supplied: x"; LiteLLM: "UnsupportedParamsError: Setting `x` is not supported …", "… does not
# support parameters: ['x']"; Gemini proxies: "Unknown name \"x\": Cannot find field."; vLLM / pydantic
# relays: "Extra inputs are not permitted"; one-api / new-api pass these through or say "不支持的参数").
_REFUSED_PARAM_WORDS = re.compile(
    r"(?i)not\s+supported|unsupported|does\s+not\s+support|doesn't\s+support|unknown\s+(?:parameter|name|field|"
    r"argument)|unrecognized|unrecognised|not\s+permitted|not\s+allowed|extra\s+(?:inputs|fields)|extra_forbidden|"
    r"unexpected\s+(?:keyword\s+)?(?:argument|parameter|field)|invalid\s+(?:parameter|field|argument)|"
    r"不支持|未知参数|不允许")


@dataclass(frozen=True)
class OpenAIErrorBody:
    message: str = ""
    type: str = ""
    code: str = ""
    param: str = ""


def parse_error_body(raw: bytes) -> OpenAIErrorBody:
    """The error fields of an answer, tolerant of proxies that send strings, numbers or HTML."""
    try:
        body = json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return OpenAIErrorBody(message=raw[:300].decode("utf-8", "replace"))
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, str):
        return OpenAIErrorBody(message=error)
    if not isinstance(error, dict):
        return OpenAIErrorBody(message=str(error)[:300])
    return OpenAIErrorBody(
        message=str(error.get("message") or error.get("msg") or "")[:500],
        type=str(error.get("type") or ""),
        code=str(error.get("code") or ""),
        param=str(error.get("param") or ""),
    )


def is_rejection(error: OpenAIErrorBody) -> bool:
    if error.code in _REJECTED_CODES or error.type in _REJECTED_TYPES:
        return True
    lowered = error.message.lower()
    return any(word in lowered for word in _REJECTED_WORDS)


def is_quota(error: OpenAIErrorBody) -> bool:
    if error.code in _QUOTA_CODES or error.type in _QUOTA_CODES:
        return True
    lowered = error.message.lower()
    return any(word in lowered for word in _QUOTA_WORDS)


def refused_params(error: OpenAIErrorBody, candidates: Iterable[str]) -> list[str]:
    """The candidate request fields a 400/422 refuses as unsupported: `error.param`, or each candidate
    the message names (quoted, right after "supplied:" / "parameter:", or right before "is not
    supported") next to refusal words."""
    names = [name for name in candidates if name]
    param = error.param.strip().strip("'\"`")
    if param in names:
        return [param]
    if not _REFUSED_PARAM_WORDS.search(error.message):
        return []
    refused = []
    for name in names:
        quoted = re.escape(name)
        if re.search(rf"[`'\"‘“\[]\s*{quoted}\s*[`'\"’”\]]"
                     rf"|(?i:supplied|parameters?|argument|field|name|参数)\s*[:=：]?\s*{quoted}\b"
                     rf"|\b{quoted}\s+(?i:is\s+)?(?i:not\s+supported|unsupported|not\s+allowed|not\s+permitted)",
                     error.message):
            refused.append(name)
    return refused


def classify_error(
    response: httpx.Response,
    raw: bytes,
    what: str,
    *,
    backend: str,
    redact: Callable[[str], str],
) -> BackendError:
    """The taxonomy error for a non-2xx answer. `redact` removes this backend's secrets from the
    upstream text (which goes to the log detail only, never to the user message)."""
    status = response.status_code
    error = parse_error_body(raw)
    said = redact(" ".join(part for part in (error.code or error.type, error.message) if part))
    if status in (401, 403):
        said = mask_token_runs(said)  # a relay's auth error may quote any key, in any shape
    said = one_line(said, _SAID_LIMIT)
    where = f"{what} → HTTP {status}" + (f": {said}" if said else "")
    retry_after = header_wait(response.headers)
    should_retry = response.headers.get("x-should-retry", "").strip().lower()
    if status in (429, 503):
        retry_after = server_wait(response.headers, error.message)

    if status in (400, 403, 422) and is_rejection(error) and not is_quota(error):
        return ContentRejectedError(where, backend=backend)
    if is_quota(error) and status in (400, 402, 403, 429):
        return QuotaError(where, backend=backend, retry_after=retry_after)
    if status == 402:
        return QuotaError(where, backend=backend, retry_after=retry_after)
    if should_retry == "true":
        return TransientError(where, backend=backend, retry_after=retry_after)
    if status in (401, 403):
        return ConfigurationError(where + " (API key missing or rejected)", backend=backend)
    if status == 404:
        return ConfigurationError(where + " (wrong base_url or model)", backend=backend)
    if status == 429 and should_retry != "false" and retry_after is None:
        # A relay's cooldown or rate limit that names no wait: retrying in 1-2 s lands inside it
        # (LiteLLM cools a deployment down for 5 s) and hides the real upstream error.
        return TransientError(where + " (rate limited; no wait given, trying the next backend)", backend=backend,
                              retry_here=False)
    if should_retry != "false" and (status in (408, 409, 429) or status >= 500):
        return TransientError(where, backend=backend, retry_after=retry_after)
    if 400 <= status < 500:
        return ConfigurationError(where + " (request refused; check model and options)", backend=backend)
    return ProtocolError(where, backend=backend)
