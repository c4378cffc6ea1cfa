"""OpenAI-style error answers → the backend error taxonomy.

Body shape: {"error": {"message", "type", "param", "code"}}; proxies (one-api / new-api) use the
same shape with their own codes, some put a plain string in "error". The retry policy follows the
OpenAI SDK: `x-should-retry` wins, then 408 / 409 / 429 / 5xx are transient.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import httpx

from .base import BackendError, ConfigurationError, ContentRejectedError, ProtocolError, QuotaError, TransientError
from .http import retry_after_seconds

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
    where = f"{what} → HTTP {status}" + (f": {said}" if said else "")
    retry_after = retry_after_seconds(response)
    should_retry = response.headers.get("x-should-retry", "").strip().lower()

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
    if should_retry != "false" and (status in (408, 409, 429) or status >= 500):
        return TransientError(where, backend=backend, retry_after=retry_after)
    if 400 <= status < 500:
        return ConfigurationError(where + " (request refused; check model and options)", backend=backend)
    return ProtocolError(where, backend=backend)
