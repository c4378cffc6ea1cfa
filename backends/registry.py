"""Building backends from their config: one httpx client per backend, owned by the caller."""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Mapping, Optional

from ..config.backend_types import BACKEND_TYPES
from .base import Backend
from ..errors import ConfigurationError
from .tls import shared_tls_context

if TYPE_CHECKING:
    import httpx


def make_client(config) -> httpx.AsyncClient:
    """The httpx client for one backend. Redirects are not followed: a backend must not send us,
    with its credentials, somewhere else. Every client shares one TLS context (see tls.py)."""
    import httpx  # here, not at the top: loading the plugin must not wait for httpx

    timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=shared_tls_context(),
                             headers={"user-agent": "llm2pic/0.1 (+https://github.com/llm2pic)"})


def build_backend(config, client: httpx.AsyncClient, environ: Optional[Mapping[str, str]] = None) -> Backend:
    environ = os.environ if environ is None else environ
    kind = BACKEND_TYPES.get(config.type)
    if kind is None:
        raise ConfigurationError(f"backend type {config.type!r} is not available in this version", backend=config.name)
    module, _, name = kind.implementation.partition(":")
    # imported here: loading the plugin must not load every backend's code
    implementation = getattr(import_module("." + module, __package__), name)
    return implementation(config, client, environ=environ)
