"""Downloading an image URL from the chat (a reply's picture, an avatar) for imaging/reference.py,
with the safe-download rules of download.py: http(s) only, never a loopback/private/link-local/
metadata address (every redirect hop and the connected peer checked), no credentials of any backend,
bounded in size and time. Failures become ReferenceImageError; the URL's query, fragment and userinfo
(QQ image links carry access keys there) never reach an error or a log line.

    fetch = reference_fetcher(client)          # client: any httpx.AsyncClient, or None for a short-lived one
    refs = await load_references(sources, fetch=fetch, workers=workers)
"""

from __future__ import annotations

import logging
from typing import Optional
from urllib.parse import urlsplit

import httpx

from ..errors import BackendError, ReferenceImageError, TransientError, UnsafeURLError
from ..imaging.reference import Fetch, safe_url
from ..phrases import (REFERENCE_DOWNLOAD_FAILED, REFERENCE_NOT_IMAGE, REFERENCE_TOO_BIG,
                       REFERENCE_UNSAFE_ADDRESS)
from .addresses import Resolver, system_resolver
from .download import fetch_image

READ_TIMEOUT = 30.0


def reference_fetcher(client: Optional[httpx.AsyncClient] = None, *, resolver: Resolver = system_resolver) -> Fetch:
    """The `fetch` for load_reference(s). `client` is borrowed, never closed (None: one per download)."""

    async def fetch(url: str, max_bytes: int, timeout: float) -> bytes:
        return await _download(url, client, max_bytes, timeout, resolver)

    return fetch


async def _download(url: str, client: Optional[httpx.AsyncClient], max_bytes: int, timeout: float,
                    resolver: Resolver) -> bytes:
    shown = safe_url(url)
    _hide_urls_in_httpx_log()
    own_client = client is None
    client = client or httpx.AsyncClient()
    try:
        # No allowed or credential origins: a chat URL never reaches a private address, and no
        # header of any backend goes with it.
        fetched = await fetch_image(url, client=client, max_bytes=max_bytes, resolver=resolver,
                                    total_timeout=timeout, read_timeout=min(READ_TIMEOUT, timeout),
                                    backend="reference")
        return fetched.data
    except UnsafeURLError as exc:
        raise ReferenceImageError(f"reference download from {shown} refused: {_scrub(exc.detail, url)}",
                                  reason="unsafe_url", user_message=REFERENCE_UNSAFE_ADDRESS) from None
    except TransientError as exc:
        raise ReferenceImageError(f"reference download from {shown} failed: {_scrub(exc.detail, url)}",
                                  reason="download_failed", user_message=REFERENCE_DOWNLOAD_FAILED) from None
    except BackendError as exc:
        detail = _scrub(exc.detail, url)
        if "refused (limit" in detail or "exceeded" in detail or "larger than" in detail:
            reason, message = "too_big", REFERENCE_TOO_BIG
        elif "not a PNG/JPEG/WebP/GIF" in detail:
            reason, message = "not_image", REFERENCE_NOT_IMAGE
        else:
            reason, message = "download_failed", REFERENCE_DOWNLOAD_FAILED
        raise ReferenceImageError(f"reference download from {shown}: {detail}", reason=reason,
                                  user_message=message) from None
    finally:
        if own_client:
            await client.aclose()


class _UrlSecretsFilter(logging.Filter):
    """httpx logs every request's full URL at INFO ("HTTP Request: GET https://user:pw@host/a?rkey=…"):
    chat image URLs carry access keys in the query, so the logged URL keeps only scheme, host and path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx.URL) for arg in record.args):
            record.args = tuple(safe_url(str(arg)) + ("?…" if arg.query else "") if isinstance(arg, httpx.URL)
                                else arg for arg in record.args)
        return True


_HTTPX_FILTER = _UrlSecretsFilter()


def _hide_urls_in_httpx_log() -> None:
    logger = logging.getLogger("httpx")
    if _HTTPX_FILTER not in logger.filters:
        logger.addFilter(_HTTPX_FILTER)


def _scrub(detail: str, url: str) -> str:
    """An inner error's text without the URL's secrets (should a library have quoted the URL)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return detail.replace(url, "(url)")
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    for secret in (url, parts.query, parts.fragment, userinfo):
        if secret and len(secret) >= 3:
            detail = detail.replace(secret, "…")
    return detail
