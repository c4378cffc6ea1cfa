"""Downloading a backend's image URL safely: http(s) and data: only, a byte cap enforced while
streaming, content sniffed from magic bytes, and no way into loopback/private/metadata addresses
(every redirect hop is checked again) unless the URL is a configured backend's own origin."""

from __future__ import annotations

import asyncio
import binascii
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import unquote_to_bytes, urljoin

import httpx

from ..errors import BackendError, ProtocolError, TransientError
from .decode import base64_bytes
from .http import error_for_status, read_capped
from ..imaging.formats import sniff_image_mime
from .addresses import Resolver, is_public_address, literal_ip, origin_of, origins, system_resolver
from ..errors import UnsafeURLError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
# Credentials of the client's backend never go to another origin (e.g. an S3 link in an OpenAI answer).
_CREDENTIAL_HEADERS = ("authorization", "x-hf-authorization", "api-key", "x-api-key", "cookie")
# Decoding a data: URL larger than this happens in a worker thread.
_INLINE_DECODE_LIMIT = 256 * 1024


@dataclass(frozen=True)
class FetchedImage:
    data: bytes
    mime: str
    url: str  # the final URL after redirects ("data:" for inline images)


async def fetch_image(
    url: str,
    *,
    client: httpx.AsyncClient,
    allowed_origins: Iterable[str] = (),
    credential_origins: Iterable[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = 3,
    connect_timeout: float = 10.0,
    read_timeout: float = 30.0,
    total_timeout: float = 120.0,
    resolver: Resolver = system_resolver,
    backend: str = "",
) -> FetchedImage:
    """Download one image.

    allowed_origins: URLs of configured backends; their origins may be private (a WebUI on 127.0.0.1).
    credential_origins: origins to which the client's auth headers may be sent; stripped elsewhere.
    Raises UnsafeURLError (refused URL), ProtocolError (not an image, too big, bad answer),
    TransientError (network trouble, timeout, 5xx), ConfigurationError (401/403/404).
    """
    if url.strip()[:5].lower() == "data:":
        return await _decode_data_url(url.strip(), max_bytes, backend)
    job = _Download(client, origins(allowed_origins), origins(credential_origins), max_bytes, max_redirects,
                    httpx.Timeout(read_timeout, connect=connect_timeout), resolver, backend)
    try:
        return await asyncio.wait_for(job.run(url), total_timeout)
    except asyncio.TimeoutError:
        raise TransientError(f"image download took longer than {total_timeout:g}s", backend=backend) from None


@dataclass
class _Download:
    client: httpx.AsyncClient
    allowed: frozenset
    trusted: frozenset
    max_bytes: int
    max_redirects: int
    timeout: httpx.Timeout
    resolver: Resolver
    backend: str

    async def run(self, url: str) -> FetchedImage:
        for _hop in range(self.max_redirects + 1):
            origin = await self._check(url)
            request = self.client.build_request("GET", url, timeout=self.timeout)
            extra = {}
            if origin not in self.trusted:
                for header in _CREDENTIAL_HEADERS:
                    request.headers.pop(header, None)
                extra["auth"] = None
            try:
                response = await self.client.send(request, stream=True, follow_redirects=False, **extra)
                try:
                    self._check_peer(response, origin)
                    if response.status_code in _REDIRECTS:
                        url = self._next_hop(response, url)
                        continue
                    if response.status_code != 200:
                        raise error_for_status(response, "image download", backend=self.backend)
                    data = await read_capped(response, self.max_bytes, backend=self.backend)
                finally:
                    await response.aclose()
            except BackendError:
                raise
            except httpx.TimeoutException as exc:
                raise TransientError(f"image download timed out ({type(exc).__name__})",
                                     backend=self.backend) from None
            except httpx.HTTPError as exc:
                raise TransientError(f"image download failed: {type(exc).__name__}: {exc}",
                                     backend=self.backend) from None
            mime = sniff_image_mime(data)
            if mime is None:
                declared = response.headers.get("content-type", "unknown")
                raise ProtocolError(f"download is not a PNG/JPEG/WebP/GIF image (content-type {declared}, "
                                    f"{len(data)} bytes)", backend=self.backend)
            return FetchedImage(data, mime, url)
        raise UnsafeURLError(f"more than {self.max_redirects} redirects", backend=self.backend)

    def _next_hop(self, response: httpx.Response, url: str) -> str:
        location = response.headers.get("location")
        if not location:
            raise ProtocolError(f"HTTP {response.status_code} redirect without a Location", backend=self.backend)
        return urljoin(url, location)

    async def _check(self, url: str) -> tuple[str, str, int]:
        origin = origin_of(url)
        if origin is None:
            raise UnsafeURLError(f"only http(s) image URLs are fetched, not {url[:40]!r}", backend=self.backend)
        if origin in self.allowed:
            return origin
        scheme, host, port = origin
        addresses = [literal_ip(host)] if literal_ip(host) else await self._resolve(host, port)
        bad = [a for a in addresses if not is_public_address(a)]
        if bad or not addresses:
            raise UnsafeURLError(f"refused {scheme}://{host}:{port}: resolves to non-public address "
                                 f"{(bad or ['(none)'])[0]} (loopback/private/link-local/metadata)",
                                 backend=self.backend)
        return origin

    def _check_peer(self, response: httpx.Response, origin: tuple[str, str, int]) -> None:
        """The address the connection really went to: a DNS answer that changed between our check and
        httpx's own lookup (DNS rebinding) must not get a private answer read. Behind a proxy the peer
        is the proxy, so the check applies to direct connections only."""
        if origin in self.allowed or _proxied(origin[0]):
            return
        stream = response.extensions.get("network_stream")
        try:
            peer = stream.get_extra_info("server_addr") if stream is not None else None
        except Exception:  # noqa: BLE001 - a transport without the information: the DNS check stands
            peer = None
        if isinstance(peer, tuple) and peer and isinstance(peer[0], str) and not is_public_address(peer[0]):
            scheme, host, port = origin
            raise UnsafeURLError(f"refused {scheme}://{host}:{port}: the connection went to non-public address "
                                 f"{peer[0]} (the name resolved differently when connecting)", backend=self.backend)

    async def _resolve(self, host: str, port: int) -> list[str]:
        try:
            return list(await self.resolver(host, port))
        except OSError as exc:
            raise TransientError(f"cannot resolve image host {host}: {exc}", backend=self.backend) from None


def _proxied(scheme: str) -> bool:
    """Whether the environment names a proxy for this scheme (httpx then connects to the proxy)."""
    import urllib.request

    proxies = urllib.request.getproxies()
    return bool(proxies.get(scheme) or proxies.get("all"))


async def _decode_data_url(url: str, max_bytes: int, backend: str) -> FetchedImage:
    header, sep, payload = url.partition(",")
    if not sep or not header.lower().startswith("data:image/"):
        raise ProtocolError(f"data URL is not an image ({header[:40]!r})", backend=backend)
    is_base64 = header.lower().endswith(";base64")
    if (len(payload) * 3 // 4 if is_base64 else len(payload) // 3) > max_bytes:
        raise ProtocolError(f"inline image larger than {max_bytes} bytes refused", backend=backend)
    try:
        if len(payload) > _INLINE_DECODE_LIMIT:
            data = await asyncio.to_thread(_decode_payload, payload, is_base64)
        else:
            data = _decode_payload(payload, is_base64)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(f"data URL is not valid base64: {exc}", backend=backend) from None
    if len(data) > max_bytes:
        raise ProtocolError(f"inline image larger than {max_bytes} bytes refused", backend=backend)
    mime = sniff_image_mime(data)
    if mime is None:
        raise ProtocolError("data URL does not hold a PNG/JPEG/WebP/GIF image", backend=backend)
    return FetchedImage(data, mime, "data:")


def _decode_payload(payload: str, is_base64: bool) -> bytes:
    if is_base64:
        return base64_bytes(payload)
    return unquote_to_bytes(payload)


__all__ = ["FetchedImage", "fetch_image", "DEFAULT_MAX_BYTES"]
