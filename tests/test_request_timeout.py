"""A backend's `timeout` bounds the whole request, not each read: a loopback server that drips a
byte at a time is given up on after `timeout` seconds and the next backend draws."""

from __future__ import annotations

import asyncio
import time

import pytest

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import TransientError
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import HFInferenceBackendConfig, OpenAIBackendConfig
from llm2pic.config.chain import ChainSection

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


class DrippingServer:
    """Answers every request with 200 and then one byte every `interval` seconds, for a minute."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.requests = 0

    async def __aenter__(self) -> "DrippingServer":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 600\r\n\r\n")
            for _ in range(600):
                await writer.drain()
                writer.write(b" ")
                await asyncio.sleep(self.interval)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def configs(url: str):
    return [OpenAIBackendConfig(name="openai", base_url=url, api_key="sk-test000000000", timeout=0.6, paid=True),
            HFInferenceBackendConfig(name="hf", base_url=url, token="hf_test000000000", timeout=0.6, paid=True)]


@pytest.mark.parametrize("index", [0, 1], ids=["openai", "hf_inference"])
async def test_a_dripping_server_is_given_up_on_after_the_request_timeout(index):
    async with DrippingServer() as server:
        config = configs(server.url)[index]
        async with make_client(config) as client:
            started = time.monotonic()
            with pytest.raises(TransientError) as caught:
                await build_backend(config, client, {}).generate(GenerationRequest("a fox"))
            elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed
    assert caught.value.outcome_unknown  # the request was sent: a paid one is not resent
    assert "request timeout" in caught.value.detail


async def test_the_next_backend_draws_after_a_dripping_one(tmp_path):
    async with DrippingServer() as server:
        slow = configs(server.url)[0]
        slow = slow.model_copy(update={"paid": False})
        async with make_client(slow) as client:
            class Quick:
                name, paid, prompt_languages = "quick", False, frozenset({"en"})
                quota_group = None  # the Backend interface's attribute since the shared ZeroGPU quotas (#14)

                async def generate(self, request, progress=None):
                    from llm2pic.backends.base import GeneratedImage
                    return [GeneratedImage(PNG, "image/png", "quick")]

            chain = BackendChain([build_backend(slow, client, {}), Quick()], ChainSection(max_attempts=1))
            started = time.monotonic()
            images = await chain.generate(GenerationRequest("a fox"), deadline=60)
    assert images[0].backend == "quick"
    assert time.monotonic() - started < 3
    assert server.requests == 1

