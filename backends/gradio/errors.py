"""Turning what a Gradio app reports (gr.Error text, ZeroGPU titles, hidden crashes) into the taxonomy."""

from __future__ import annotations

import re
from typing import Optional

from ...errors import BackendError, ConfigurationError, ContentRejectedError, QuotaError, TransientError
from ...server_numbers import server_number
from ...lazy_regex import lazy_compile  # an app's error text is read only when it fails

_RETRY_IN = lazy_compile(r"(?:try again|retry) in ([0-9]{1,6}):([0-9]{2}):([0-9]{2})", re.IGNORECASE)
_QUOTA = lazy_compile(
    r"exceeded your (?:\w+ )?(?:zerogpu |gpu )?quota|quota (?:exceeded|exhausted)|zerogpu (?:runs )?limit"
    r"|reached its gpu limit", re.IGNORECASE
)
_TRANSIENT = lazy_compile(
    r"no gpu was available|expired zerogpu proxy token|gpu task aborted|queue is full|server stopped", re.IGNORECASE
)
# Quota errors that ZeroGPU raises on the caller's quota (spaces/zero/client.py), as opposed to an app's own
# limits. "Space app has reached its GPU limit" (same title) concerns calls the Space could not attribute to
# a caller, i.e. that Space only.
_ZERO_GPU_QUOTA = lazy_compile(r"zerogpu|gpu quota|runs limit", re.IGNORECASE)
_SPACE_OWN_LIMIT = lazy_compile(r"reached its gpu limit", re.IGNORECASE)
_REJECTED = lazy_compile(r"\bnsfw\b|unsafe content|inappropriate|content policy|safety checker", re.IGNORECASE)
_OUT_OF_RANGE = lazy_compile(r"is (?:less|greater) than (?:minimum|maximum) value|not in the list of choices"
                             r"|Could not preprocess input component", re.IGNORECASE)
_TAG = lazy_compile(r"<[^>]+>")

HIDDEN_ERROR = "the app failed and hides details (it was not launched with show_error)"


def clean_message(message: object) -> str:
    """gr.Error text without the repr quotes of 3.x/4.x and without HTML links. Anything that is
    not text (a server may send `true`, numbers or objects) is shown as its JSON-ish repr, capped."""
    if message is None or message is False:
        return ""
    text = (message if isinstance(message, str) else str(message)[:2000]).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    text = text.split(" <a ", 1)[0]
    return " ".join(_TAG.sub("", text).split())


def parse_retry_after(text: str) -> Optional[float]:
    match = _RETRY_IN.search(text)
    if not match:
        return None
    hours, minutes, seconds = (int(part) for part in match.groups())
    return server_number(hours * 3600 + minutes * 60 + seconds)


def app_error(message: object, title: object, *, backend: str) -> BackendError:
    """The error for a job the app itself failed (`process_completed` with success false, or alike)."""
    text = clean_message(message)
    heading = clean_message(title)
    label = f"{heading}: {text}" if heading and heading.lower() != "error" else text
    lowered_title = heading.lower()
    if not text and not heading:
        return TransientError(HIDDEN_ERROR, backend=backend)
    if "quota" in lowered_title or _QUOTA.search(text):
        return QuotaError(f"app reports quota exhausted: {label}", backend=backend, retry_after=parse_retry_after(text))
    if "illegal duration" in lowered_title:
        return ConfigurationError(f"app refuses the requested GPU duration: {label}", backend=backend)
    if lowered_title.startswith("zerogpu") or _TRANSIENT.search(text):
        return TransientError(f"app is busy or its worker failed: {label}", backend=backend)
    if _REJECTED.search(text):
        return ContentRejectedError(f"app refused the content: {label}", backend=backend)
    if _OUT_OF_RANGE.search(text):
        return ConfigurationError(f"app refused an input value: {label}", backend=backend)
    return TransientError(f"app raised an error: {label or HIDDEN_ERROR}", backend=backend)


def is_zero_gpu_quota(error: BackendError) -> bool:
    """Whether a quota error is ZeroGPU's (it then concerns every Space called with the same token)."""
    return (isinstance(error, QuotaError) and bool(_ZERO_GPU_QUOTA.search(error.detail))
            and not _SPACE_OWN_LIMIT.search(error.detail))
