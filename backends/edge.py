"""Translating httpx exceptions into the taxonomy at a backend's edge, and bounded image downloads.

Whether a failed request may still have been executed matters for paid backends: a request that
never reached the server (connect error, pool timeout) is safe to resend; one that was written and
then lost its answer (read timeout, connection reset, server hung up) is `outcome_unknown`.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional

import httpx

from .base import BackendError, ConfigurationError, ProtocolError, TransientError
from .http import read_capped, sniff_image_mime

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError, httpx.WriteTimeout,
             httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)


@contextlib.contextmanager
def map_transport_errors(what: str, *, backend: str, redact: Callable[[str], str]) -> Iterator[None]:
    """Raise taxonomy errors (never httpx ones) for network failures inside the block."""
    try:
        yield
    except BackendError:
        raise
    except httpx.UnsupportedProtocol as exc:
        raise ConfigurationError(f"{what}: {redact(str(exc))}", backend=backend) from None
    except _NOT_SENT as exc:
        raise TransientError(f"{what}: not sent ({type(exc).__name__}: {redact(str(exc))})",
                             backend=backend) from None
    except httpx.TimeoutException as exc:
        raise TransientError(f"{what}: no answer in time ({type(exc).__name__})", backend=backend,
                             outcome_unknown=True) from None
    except httpx.TransportError as exc:
        raise TransientError(f"{what}: connection lost before the answer ({type(exc).__name__}: "
                             f"{redact(str(exc))})", backend=backend, outcome_unknown=True) from None
    except httpx.HTTPError as exc:
        raise ProtocolError(f"{what}: {type(exc).__name__}: {redact(str(exc))}", backend=backend) from None


async def download_image(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    backend: str,
    redact: Callable[[str], str],
    attempts: int = 2,
) -> tuple[bytes, str]:
    """An image URL from a provider's answer: no credentials, size-capped, content-sniffed.

    The image was already generated (and paid for); a lost download is retried here a little,
    and if it still fails the error is `outcome_unknown` so nobody regenerates it automatically.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise ProtocolError(f"image URL with an unsupported scheme: {redact(url[:80])}", backend=backend)
    last: Optional[BackendError] = None
    for _ in range(max(1, attempts)):
        try:
            with map_transport_errors("image download", backend=backend, redact=redact):
                async with client.stream("GET", url, headers={"accept": "image/*"}) as response:
                    if response.status_code != 200:
                        raise ProtocolError(f"image download → HTTP {response.status_code}", backend=backend)
                    kind = response.headers.get("content-type", "").lower()
                    if kind and not kind.startswith(("image/", "application/octet-stream", "binary/")):
                        raise ProtocolError(f"image download answered {kind!r}, not an image", backend=backend)
                    data = await read_capped(response, max_bytes, backend=backend)
        except TransientError as exc:
            last = exc
            continue
        except ProtocolError as exc:
            last = exc
            continue
        mime = sniff_image_mime(data)
        if not mime:
            raise ProtocolError("downloaded file is not a PNG, JPEG, WebP or GIF image", backend=backend)
        return data, mime
    assert last is not None
    raise TransientError(f"generated image could not be downloaded: {last.detail}", backend=backend,
                         outcome_unknown=True,
                         user_message="图已经画好了，但下载失败；为避免重复扣费没有自动重画，请稍后再试。")
