"""Building backends from their config: one httpx client per backend, owned by the caller."""

from __future__ import annotations

import os
from typing import Mapping, Optional

import httpx

from .base import Backend, ConfigurationError


def make_client(config) -> httpx.AsyncClient:
    """The httpx client for one backend. Redirects are not followed: a backend must not send us,
    with its credentials, somewhere else."""
    timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False,
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
