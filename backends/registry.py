"""Building backends from their config: one httpx client per backend, owned by the caller."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Mapping, Optional

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
    if config.type == "gradio":
        from .gradio.backend import GradioBackend

        return GradioBackend(config, client, environ=environ)
    if config.type == "openai":
        from .openai import OpenAIBackend

        return OpenAIBackend(config, client, environ=environ)
    if config.type == "hf_inference":
        from .hf_inference import HFInferenceBackend

        return HFInferenceBackend(config, client, environ=environ)
    if config.type == "sd_webui":
        from .sd_webui import SDWebUIBackend

        return SDWebUIBackend(config, client, environ=environ)
    if config.type == "comfyui":
        from .comfyui.backend import ComfyUIBackend

        return ComfyUIBackend(config, client, environ=environ)
    raise ConfigurationError(f"backend type {config.type!r} is not available in this version", backend=config.name)
