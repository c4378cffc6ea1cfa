"""What the CLI commands share: exit codes, config loading with warnings, backends with their clients."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import AsyncIterator, Optional

from .backends.base import Backend
from .backends.registry import build_backend, make_client
from .config.load import ConfigError, load_config
from .config.model import Config

EXIT_OK, EXIT_CONFIG, EXIT_BACKENDS, EXIT_REFUSED = 0, 2, 3, 4


def load(path: Optional[str]) -> Optional[Config]:
    """The config, or None after printing the one-line error; warnings go to stderr."""
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        fail(str(exc))
        return None
    for warning in loaded.warnings:
        print(f"llm2pic: warning: {warning}", file=sys.stderr)
    return loaded.config


def fail(message: str) -> None:
    print(f"llm2pic: {message}", file=sys.stderr)


@contextlib.asynccontextmanager
async def open_backends(backend_configs: list) -> AsyncIterator[list[Backend]]:
    """The backends, each with its own httpx client, closed on the way out."""
    clients = [make_client(c) for c in backend_configs]
    try:
        yield [build_backend(c, client, os.environ) for c, client in zip(backend_configs, clients)]
    finally:
        for client in clients:
            await client.aclose()
