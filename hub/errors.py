"""What a failed Hub call means for the user: one sentence and an exit code (2: the user must act,
3: the Space did not come up). Every text passes through `redact` with the token."""

from __future__ import annotations

from typing import Sequence

from ..reasons import one_line
from ..redaction import redact

EXIT_USER_MUST_ACT = 2
EXIT_SPACE_DOWN = 3

ZERO_GPU_RULES = (
    "since 2026-07, Gradio Spaces on CPU or paid GPUs need a PRO (or Team/Enterprise) account; a free "
    "account may host up to 2 ZeroGPU Spaces, once it is older than 30 days and its email is verified")


class DeployFailed(Exception):
    """The deploy stopped. `message` is the final line; `log_tail` the redacted log lines shown before it."""

    def __init__(self, message: str, exit_code: int, log_tail: Sequence[str] = ()) -> None:
        # Hub and Space texts (an HfHubHTTPError's paragraphs, a build log with ANSI colours or CRs)
        # become one printable line each, and the final line is redacted once more where it is made.
        message = one_line(redact(message), 2000)
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.log_tail = [one_line(line, 2000) for line in log_tail]


def status_of(error: BaseException) -> int:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", 0) or 0


def server_text(error: BaseException, secrets: Sequence[str]) -> str:
    """The Hub's own explanation (first line, bounded), redacted."""
    text = getattr(error, "server_message", None) or str(error)
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return redact(first[:300], secrets)


def retry_after(error: BaseException) -> str:
    response = getattr(error, "response", None)
    value = (getattr(response, "headers", None) or {}).get("retry-after", "") if response is not None else ""
    return f"{int(value)} s" if str(value).strip().isdigit() else "a minute"


def hub_error(error: BaseException, step: str, *, hardware: str, name: str, secrets: Sequence[str]) -> DeployFailed:
    """A failed Hub call during `step` ("checking the token", "creating the Space", …) as DeployFailed."""
    status = status_of(error)
    said = server_text(error, secrets)
    if status == 401:
        return DeployFailed(f"the token was refused while {step} (401 Unauthorized): create a token with write "
                            "access at https://huggingface.co/settings/tokens and put it in the token variable",
                            EXIT_USER_MUST_ACT)
    if status == 402:
        advice = ("your account may not qualify yet, or already hosts 2 ZeroGPU Spaces: delete one, or use a PRO "
                  "account" if hardware.startswith("zero") else
                  "use --hardware zero-a10g (free within those rules), or a PRO account")
        return DeployFailed(f"Hugging Face asks for payment to host {name} on {hardware} (402 Payment Required): "
                            f"{ZERO_GPU_RULES}; {advice}. Hub said: {said}", EXIT_USER_MUST_ACT)
    if status == 403:
        return DeployFailed(f"the token has no write access for {name} (403 Forbidden while {step}): use a token "
                            "with write permission on this namespace. Hub said: " + said, EXIT_USER_MUST_ACT)
    if status == 429:
        return DeployFailed(f"Hugging Face rate limit while {step} (429 Too Many Requests): try again in "
                            f"{retry_after(error)}", EXIT_USER_MUST_ACT)
    if 400 <= status < 500:
        return DeployFailed(f"the Hub refused the request while {step} ({status}): {said}", EXIT_USER_MUST_ACT)
    if status:  # the Hub's own trouble: nothing for the user to fix but to try again later
        return DeployFailed(f"the Hub failed while {step} ({status}): {said}", EXIT_SPACE_DOWN)
    return DeployFailed(f"cannot reach the Hub while {step}: {type(error).__name__}: {redact(str(error)[:300], secrets)}",
                        EXIT_SPACE_DOWN)
