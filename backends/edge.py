"""Translating httpx exceptions into the taxonomy at a backend's edge, and image URL downloads.

Whether a failed request may still have been executed matters for paid backends: a request that
never reached the server (connect error, pool timeout) is safe to resend; one that was written and
then lost its answer (read timeout, connection reset, server hung up) is `outcome_unknown`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional

import httpx

from ..errors import BackendError, ConfigurationError, ProtocolError, TransientError
from .http import read_capped
from ..phrases import DOWNLOAD_LOST

if TYPE_CHECKING:
    from .addresses import Resolver

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError, httpx.WriteTimeout,
             httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)


@contextlib.contextmanager
def map_transport_errors(what: str, *, backend: str, redact: Callable[[str], str]) -> Iterator[None]:
    """Raise taxonomy errors (never httpx ones) for network failures inside the block."""
    try:
        yield
    except BackendError:
        raise
    except httpx.HTTPError as exc:
        raise transport_error(exc, what, backend=backend, redact=redact) from None


def was_not_sent(exc: BaseException) -> bool:
    """True when the request never reached the server (safe to send again)."""
    return isinstance(exc, _NOT_SENT)


def transport_error(exc: httpx.HTTPError, what: str, *, backend: str, redact: Callable[[str], str]) -> BackendError:
    """The taxonomy error for one httpx failure."""
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ConfigurationError(f"{what}: {redact(str(exc))}", backend=backend)
    if isinstance(exc, _NOT_SENT):
        return TransientError(f"{what}: not sent ({type(exc).__name__}: {redact(str(exc))})", backend=backend)
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"{what}: no answer in time ({type(exc).__name__})", backend=backend,
                              outcome_unknown=True)
    if isinstance(exc, httpx.TransportError):
        return TransientError(f"{what}: connection lost before the answer ({type(exc).__name__}: "
                              f"{redact(str(exc))})", backend=backend, outcome_unknown=True)
    return ProtocolError(f"{what}: {type(exc).__name__}: {redact(str(exc))}", backend=backend)


async def send_capped(client: httpx.AsyncClient, method: str, url: str, *, limit: int, timeout: float, what: str,
                      backend: str, redact: Callable[[str], str], **kwargs) -> tuple[httpx.Response, bytes]:
    """One request and its whole body (at most `limit` bytes) within `timeout` seconds in all:
    httpx's own timeout is per read, so a server dripping a byte at a time would hold the request
    until the job's deadline. Past the limit the request may have run: its outcome is unknown."""
    async def exchange() -> tuple[httpx.Response, bytes]:
        with map_transport_errors(what, backend=backend, redact=redact):
            async with client.stream(method, url, **kwargs) as response:
                raw = await read_capped(response, limit, backend=backend)
        return response, raw

    try:
        return await asyncio.wait_for(exchange(), timeout)
    except asyncio.TimeoutError:
        raise TransientError(f"{what}: no complete answer within the {timeout:g} s request timeout",
                             backend=backend, outcome_unknown=True) from None


async def download_image(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    backend: str,
    redact: Callable[[str], str],
    allowed_origins: Iterable[str] = (),
    resolver: Optional[Resolver] = None,
    attempts: int = 2,
) -> tuple[bytes, str]:
    """An image URL from a provider's answer, through the SSRF-guarded `fetch_image`: no
    credentials, size-capped, content-sniffed, no private addresses except `allowed_origins`.

    The image was already generated (and maybe paid for); a network failure of the download is
    retried here once, and if the image still cannot be had the error is `outcome_unknown` so
    that nobody regenerates it automatically.
    """
    from .download import fetch_image  # here: a Gradio draw (files on its own server) never needs it

    extra = {"resolver": resolver} if resolver is not None else {}
    last: Optional[BackendError] = None
    for _ in range(max(1, attempts)):
        try:
            with map_transport_errors("image download", backend=backend, redact=redact):
                fetched = await fetch_image(url, client=client, allowed_origins=allowed_origins,
                                            max_bytes=max_bytes, backend=backend, **extra)
            return fetched.data, fetched.mime
        except TransientError as exc:
            last = exc
        except BackendError as exc:
            last = exc
            break
    assert last is not None
    raise TransientError(f"generated image could not be downloaded: {redact(last.detail)}", backend=backend,
                         outcome_unknown=True,
                         user_message=DOWNLOAD_LOST)
