"""Does a Space's Gradio API answer? Read with the Gradio backend's own discovery (GET /config and
/info), bounded in time and size like every other backend call."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Optional

import httpx

from ..errors import BackendError
from ..backends.gradio.discovery import discover
from ..redaction import redact


@dataclass(frozen=True)
class AppAnswer:
    ok: bool
    summary: str  # "gradio 6.31.0, endpoints /predict, /generate" or why it does not answer
    endpoints: tuple[str, ...] = ()


async def probe_app(host: str, token: str = "", *, timeout: float = 15.0) -> AppAnswer:
    """One look at the app at `host` (the Hub's `host` of the Space). The token is sent only when
    given (a private Space), in the header Spaces read."""
    headers = {"X-HF-Authorization": f"Bearer {token}"} if token else {}
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
                                     follow_redirects=False) as client:
            app = await asyncio.wait_for(discover(client, host.rstrip("/"), headers, "space"), timeout * 2)
    except BackendError as exc:
        return AppAnswer(False, redact(exc.detail, [token]))
    except (httpx.HTTPError, asyncio.TimeoutError, ValueError) as exc:
        return AppAnswer(False, redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, [token]))
    named = tuple(app.named())
    if not named:
        return AppAnswer(False, f"gradio {app.version} answers but offers no named API endpoint")
    return AppAnswer(True, f"gradio {app.version}, endpoints {', '.join(named)}", named)


def probe_until(host: str, token: str, deadline: float, interval: float) -> AppAnswer:
    """Probe until the app answers or the deadline (time.monotonic) passes; at least once."""
    while True:
        answer = asyncio.run(probe_app(host, token, timeout=max(1.0, min(15.0, deadline - time.monotonic()))))
        if answer.ok or time.monotonic() + interval >= deadline:
            return answer
        time.sleep(interval)


def pick_api_name(endpoints: tuple[str, ...]) -> Optional[str]:
    """The endpoint to write into the config: none when the app has one; /predict (the LLM2Pic app's
    contract) when it has several."""
    if len(endpoints) <= 1:
        return None
    return "/predict" if "/predict" in endpoints else None
