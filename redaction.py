"""Keeping secrets out of logs, exceptions and chat text.

Two layers: the code that holds a secret passes it to `redact` (exact-match removal), and
well-known token shapes are masked even when nobody named them.
"""

from __future__ import annotations

import re
from typing import Iterable

_TOKEN_SHAPES = re.compile(
    r"(?i)"
    r"(?P<bearer>\bbearer\s+)[^\s\"',;]+"
    r"|\bhf_[A-Za-z0-9]{8,}"
    r"|\bsk-[A-Za-z0-9_\-]{8,}"
    r"|\bxai-[A-Za-z0-9_\-]{8,}"
    r"|(?P<param>[?&](?:key|api_key|apikey|token|access_token)=)[^&\s\"']+"
)
MASK = "***"
# user:password@ in any URL (a config value, an error text, a doctor line)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]+@")


def redact(text: object, secrets: Iterable[str | None] = ()) -> str:
    """The text with the given secrets and every token-shaped string masked."""
    result = str(text)
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        result = result.replace(secret, MASK)
    result = _URL_USERINFO.sub(lambda match: match.group(1) + MASK + "@", result)
    return _TOKEN_SHAPES.sub(_mask_match, result)


def _mask_match(match: re.Match[str]) -> str:
    keep = match.group("bearer") or match.group("param") or ""
    return keep + MASK


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
