"""Keeping secrets out of logs, exceptions and chat text.

Two layers: the code that holds a secret passes it to `redact` (exact-match removal), and
well-known token shapes are masked even when nobody named them.
"""

from __future__ import annotations

import re
from typing import Iterable

from .lazy_regex import lazy_compile  # compiled on the first redaction, not at import

_TOKEN_SHAPES = lazy_compile(
    r"(?i)"
    r"(?P<bearer>\bbearer\s+)(?P<credential>[^\s\"',;]+)"
    r"|\bhf_[A-Za-z0-9]{8,}"
    r"|\bsk-[A-Za-z0-9_\-]{8,}"
    r"|\bxai-[A-Za-z0-9_\-]{8,}"
    r"|(?P<param>[?&](?:key|api_key|apikey|token|access_token)=)[^&\s\"']+"
)
MASK = "***"
# user:password@ in any URL (a config value, an error text, a doctor line)
_URL_USERINFO = lazy_compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]+@")


# Text longer than this (a hostile server's megabyte error, an LLM answer that never ends) is cut
# after the named secrets are removed and before the pattern passes, so masking stays fast.
MAX_REDACTED_CHARS = 256 * 1024


def redact(text: object, secrets: Iterable[str | None] = (), *, key_echoes: bool = True) -> str:
    """The text with the given secrets and every token-shaped string masked (cut to MAX_REDACTED_CHARS).

    key_echoes=False leaves the values after phrases such as "secret:" or "password:" alone: for
    text that is not a server's message but a picture's description (an image prompt), where "a
    secret: hidden door" is what the user asked for; known secrets and token shapes are still masked."""
    result = str(text)
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        result = result.replace(secret, MASK)
    if len(result) > MAX_REDACTED_CHARS:
        result = f"{result[:MAX_REDACTED_CHARS]}… ({len(result) - MAX_REDACTED_CHARS} more characters cut)"
    result = _URL_USERINFO.sub(lambda match: match.group(1) + MASK + "@", result)
    result = _TOKEN_SHAPES.sub(_mask_match, result)
    return mask_key_echoes(result) if key_echoes else result


def _mask_match(match: re.Match[str]) -> str:
    if match.group("bearer"):
        # "Bearer <token>" in a header echo; "the bearer of light" is an ordinary phrase.
        credential = match.group("credential")
        if _ORDINARY_VALUE.fullmatch(credential.rstrip(".:!?")):
            return match.group(0)
        return match.group("bearer") + MASK
    return (match.group("param") or "") + MASK


def redacted_traceback(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """The exception's traceback as text, redacted (its message may hold what a server sent)."""
    import traceback

    return redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), secrets)


class RedactingFilter:
    """A logging filter for a handler: every record's text (message, arguments, traceback) is
    redacted with `secrets` (a list the owner may fill later) before it is written anywhere."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets

    def filter(self, record) -> bool:  # logging.Filter protocol; True: keep the record
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still written, as its raw text
            message = str(record.msg)
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            import logging

            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


# --- keys that relays and providers echo back (#18) ----------------------------------------------
# A relay's 401 can quote the *upstream* key, in whatever shape that provider uses, so the value
# after the phrases that introduce an echoed key is masked whatever it looks like:
#   OpenAI / Together / Moonshot: "Incorrect API key provided: <key>."   Groq-style: "Invalid API Key: <key>"
#   LiteLLM: "Received API Key = <key>, Key Hash (Token) =<hash>", "Malformed API Key … Passed in: <key>",
#            "Received=<key>, expected to start with 'sk-'"
#   DeepSeek-style: "Your api key: <key> is invalid"; "key <key> is invalid"; "api_key=<key>", "x-api-key: <key>"
#   one-api / new-api (Chinese): "令牌：<key>", "令牌 <key> 无效", "密钥: <key>"
_KEY_NOUN = r"(?:api[\s_-]?keys?|access[\s_-]?tokens?|auth[\s_-]?tokens?|bearer[\s_-]?tokens?|secret[\s_-]?keys?" \
            r"|subscription[\s_-]?keys?|x-api-key|api-token|apikey|keys?|tokens?|secrets?|credentials?|passwords?" \
            r"|令牌|密钥|秘钥|密匙)"
# Bare nouns that also name other things ("tokens: 4096", "key: 'prompt'"): without an adjective in
# front, the value is masked only when it looks like a key.
_GENERIC_NOUNS = {"key", "keys", "token", "tokens"}
_KEY_VALUE = r"[\"'`‘“\[(]?(?P<value>[^\s\"'`’”,;&()<>\[\]{}]+)"
_KEY_ECHOES = (
    # "<adjective> <noun> [provided|passed …]: <value>", "<noun> provided: <value>", "your api key is <value>"
    lazy_compile(
        r"(?i)(?<![A-Za-z0-9_-])(?:(?P<adjective>incorrect|invalid|wrong|bad|expired|revoked|disabled|unknown|"
        r"malformed|unauthorized|received|passed|provided|given|supplied|your|无效的?|错误的?|过期的?)\s*)?"
        r"(?P<noun>" + _KEY_NOUN + ")" +
        r"(?:\s*\((?:token|hash)\))?(?:\s+(?:hash\s*(?:\(token\))?|provided|passed(?:\s+in)?|given|supplied|"
        r"received|used|value|is|was))?\s*(?:[:=：]|\bis\b)\s*" + _KEY_VALUE),
    # LiteLLM: "Passed in: <value>", "Received=<value>"
    lazy_compile(r"(?i)\b(?P<generic>passed\s+in|received)\s*[:=：]\s*" + _KEY_VALUE),
    # "key <value> is invalid", "the api key 'xyz' has expired", "令牌 xyz 无效"
    lazy_compile(
        r"(?i)(?<![A-Za-z0-9_-])" + _KEY_NOUN + r"\s+[\"'`‘“\[(]?(?P<value>[^\s\"'`’”,;&()<>\[\]{}]{4,})[\"'`’”\])]?"
        r"(?=\s+(?:is|was|has|had)\s+(?:been\s+)?(?:not\s+valid|invalid|incorrect|expired|revoked|disabled|unknown|"
        r"not\s+found|blocked|banned|deleted)|\s*(?:无效|已过期|不可用|已被禁用|不存在))"),
)
# Every _KEY_ECHOES pattern contains one of these.
_ECHO_WORDS = lazy_compile(r"(?i)key|token|secret|credential|password|passed|received|令牌|密钥|秘钥|密匙")
# Words a key-echo phrase may be followed by that are not a key (so "the key is missing" stays readable).
_NOT_A_KEY = {"missing", "required", "empty", "none", "null", "not", "invalid", "incorrect", "expired", "wrong",
              "provided", "set", "valid", "a", "an", "the", "no", "being", "in", "for", "of", "to", "from", "bearer",
              "format", "type", "length", "value", "name", "header", "field", "parameter", "do", "does", "did",
              "must", "should", "cannot", "can", "has", "have", "had", "was", "were", "will", "is", "are", "default",
              "expected", "unexpected", "found", "unknown", "undefined", "given", "too"}
# Chinese words that follow "令牌：" or "密钥：" in ordinary messages ("令牌：无效", "密钥：已过期").
_NOT_A_KEY_ZH = ("无效", "已过期", "过期", "错误", "不存在", "缺失", "为空", "不能为空", "未设置", "未提供", "不正确", "已禁用",
                 "被禁用", "不可用", "格式")
# After "invalid key:" / "unknown token:" (a generic noun), ordinary words, identifiers and counts are
# not keys: "Invalid key: 'prompt'", "Unknown key: model_name", "invalid token: EOF", "Invalid tokens: 4097".
_ORDINARY_VALUE = lazy_compile(r"[A-Za-z]{1,12}|[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[0-9]+")
# A long run of key characters; in an authentication error any such run is treated as a key.
_TOKEN_RUN = lazy_compile(r"(?<![\w/.:@-])[A-Za-z0-9_\-+/=.~]{16,}(?![\w/.:@-])")


def mask_key_echoes(text: str) -> str:
    """The text with the value after every key-echo phrase masked, whatever the key looks like."""
    if not _ECHO_WORDS.search(text):  # the common case, cheaply: no phrase can match
        return text
    for pattern in _KEY_ECHOES:
        text = pattern.sub(_mask_echo, text)
    return text


def _mask_echo(match: re.Match[str]) -> str:
    value = match.group("value")
    key = value.rstrip(".:!?。，")
    if not key or key.lower() in _NOT_A_KEY or set(key) <= {"*"} or key.startswith(_NOT_A_KEY_ZH):
        return match.group(0)
    named = match.groupdict()
    generic_noun = bool(named.get("noun") and named["noun"].lower() in _GENERIC_NOUNS)
    if generic_noun and named.get("adjective") and _ORDINARY_VALUE.fullmatch(key) and len(key) <= 32:
        return match.group(0)
    bare_noun = generic_noun and not named.get("adjective")
    if (named.get("generic") or bare_noun) and not _keyish(key, letters_only_from=32 if bare_noun else 12):
        return match.group(0)
    whole, start = match.group(0), match.start("value") - match.start()
    return whole[:start] + MASK + value[len(key):] + whole[start + len(value):]


def _keyish(value: str, letters_only_from: int) -> bool:
    # After a bare "token:", letters alone must be long to count: "token: ConnectError" names an
    # exception, not a key.
    has_digit = any(ch.isdigit() for ch in value)
    has_alpha = any(ch.isalpha() for ch in value)
    return len(value) >= letters_only_from or (len(value) >= 6 and has_digit and has_alpha)


def mask_token_runs(text: str) -> str:
    """For authentication errors: every long key-like run masked (URLs and e-mail addresses kept)."""
    return _TOKEN_RUN.sub(_mask_run, text)


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    core = run.rstrip(".")
    has_digit = any(ch.isdigit() for ch in core)
    has_alpha = any(ch.isalpha() for ch in core)
    looks_like_key = (has_alpha and has_digit) or len(core) >= 32
    if not looks_like_key:
        return run
    return MASK + run[len(core):]
