"""The backends built from one config, each with its own httpx client, behind one fallback chain."""

from __future__ import annotations

import os
from typing import Mapping, Optional, Sequence

from ..backends.base import Backend
from ..backends.chain import BackendChain
from ..backends.registry import build_backend, make_client
from ..config.model import Config


class Engine:
    """The enabled backends of one config, each with its own client, behind one chain.

    A config change builds a new Engine; the old one is closed once its running jobs are done.
    """

    def __init__(self, config: Config, backend_configs: Optional[Sequence] = None,
                 environ: Mapping[str, str] = os.environ) -> None:
        chosen = list(config.enabled_backends() if backend_configs is None else backend_configs)
        self.config = config
        self._clients = [make_client(c) for c in chosen]
        self.backends: list[Backend] = [build_backend(c, client, environ) for c, client in zip(chosen, self._clients)]
        self.chain = BackendChain(self.backends, config.chain)
        self._active = 0
        self._retired = False

    @property
    def prompt_languages(self) -> frozenset[str]:
        """What every backend in the chain understands, so a prompt fits whichever one draws."""
        if not self.backends:
            return frozenset({"en"})
        return frozenset.intersection(*(frozenset(b.prompt_languages) for b in self.backends))

    def acquire(self) -> "Engine":
        self._active += 1
        return self

    async def release(self) -> None:
        self._active -= 1
        if self._retired and self._active == 0:
            await self._close()

    async def retire(self) -> None:
        """No new jobs will use this engine; close its clients now or after its last job."""
        self._retired = True
        if self._active == 0:
            await self._close()

    async def _close(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()
