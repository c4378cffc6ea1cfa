"""ZeroGPU quota sharing in the chain: a quota error pauses every ZeroGPU backend on the same quota
(same token, or anonymous) until the reset, while backends on other quotas are tried next.

The backends are real Gradio backends against the real lab app under Gradio 6 on 127.0.0.1; its
/quota endpoint raises the error ZeroGPU raises (title "ZeroGPU quota exceeded", "Try again in 0:09:48").
"""

from __future__ import annotations

import pytest

from llm2pic.backends.base import GenerationRequest
from llm2pic.errors import QuotaError
from llm2pic.backends.chain import BackendChain
from llm2pic.backends.gradio.errors import app_error, is_zero_gpu_quota
from llm2pic.backends.quota_groups import zero_gpu_group
from llm2pic.backends.registry import build_backend, make_client
from llm2pic.config.backends import GradioBackendConfig
from llm2pic.config.chain import ChainSection

TOKEN_ONE = "hf_" + "a" * 30
TOKEN_TWO = "hf_" + "b" * 30
RESET = 9 * 60 + 48


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def lab6(lab_servers):
    return lab_servers["6"]  # the session's real Gradio 6 lab app (conftest.py)


class Counting:
    """Counts the calls that reach a real backend (the chain must skip paused ones without calling them)."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.calls = 0
        original = backend.generate

        async def generate(request, progress=None):
            self.calls += 1
            return await original(request, progress) if progress else await original(request)

        backend.generate = generate


def gradio(lab, name, token, *, quota: bool, zero_gpu="yes"):
    if quota:
        return GradioBackendConfig(name=name, base_url=lab.url, api_name="/quota", preset="none",
                                   hf_token=token, zero_gpu=zero_gpu)
    return GradioBackendConfig(name=name, base_url=lab.url, preset="z-image-turbo", hf_token=token,
                               zero_gpu=zero_gpu)


async def make_chain(configs, clock):
    clients = [make_client(config) for config in configs]
    backends = [build_backend(config, client, {}) for config, client in zip(configs, clients)]
    counters = [Counting(backend) for backend in backends]
    chain = BackendChain(backends, ChainSection(), clock=clock, sleep=clock.sleep, jitter=lambda: 0.5)
    return chain, counters, clients


@pytest.mark.gradio_server
async def test_a_zero_gpu_quota_error_pauses_the_same_token_only_until_the_reset(lab6):
    clock = Clock()
    chain, (first, second, other), clients = await make_chain([
        gradio(lab6, "space-a", TOKEN_ONE, quota=True),
        gradio(lab6, "space-b", TOKEN_ONE, quota=True),
        gradio(lab6, "space-other-token", TOKEN_TWO, quota=False),
    ], clock)
    try:
        images = await chain.generate(GenerationRequest("a fox", width=64, height=64))
        assert images[0].backend == "space-other-token"
        assert (first.calls, second.calls, other.calls) == (1, 0, 1)

        status = {s.name: s for s in chain.status()}
        assert not status["space-b"].available  # never called, paused with its quota
        assert status["space-b"].cooldown_remaining == pytest.approx(RESET)
        assert "ZeroGPU quota of token" in status["space-b"].open_reason
        assert TOKEN_ONE not in status["space-b"].open_reason
        assert "额度用完" in status["space-b"].user_line()
        assert status["space-other-token"].available

        clock.now += RESET - 5  # still before the reset: only the other quota is tried
        await chain.generate(GenerationRequest("a fox", width=64, height=64))
        assert (first.calls, second.calls, other.calls) == (1, 0, 2)

        clock.now += 10  # after the reset: the first Space is tried again (and fails again)
        await chain.generate(GenerationRequest("a fox", width=64, height=64))
        assert (first.calls, second.calls, other.calls) == (2, 0, 3)
    finally:
        for client in clients:
            await client.aclose()


@pytest.mark.gradio_server
async def test_when_the_whole_chain_shares_the_quota_the_chat_hears_the_wait_once(lab6):
    clock = Clock()
    chain, (first, second), clients = await make_chain([
        gradio(lab6, "space-a", "", quota=True),
        gradio(lab6, "space-b", "", quota=True),
    ], clock)
    try:
        with pytest.raises(QuotaError) as caught:
            await chain.generate(GenerationRequest("a fox"))
        assert (first.calls, second.calls) == (1, 0)
        assert caught.value.user_message == "免费额度用完了，约 10 分钟后再试。"
        # The next job does not call either; the one message still carries the wait.
        with pytest.raises(Exception) as again:
            await chain.generate(GenerationRequest("a fox"))
        assert (first.calls, second.calls) == (1, 0)
        assert again.value.user_message.count("分钟") == 1
    finally:
        for client in clients:
            await client.aclose()


@pytest.mark.gradio_server
async def test_a_backend_not_on_zero_gpu_keeps_working_with_the_same_token(lab6):
    clock = Clock()
    chain, (first, own_gpu), clients = await make_chain([
        gradio(lab6, "space-a", TOKEN_ONE, quota=True),
        gradio(lab6, "own-gpu", TOKEN_ONE, quota=False, zero_gpu="no"),
    ], clock)
    try:
        await chain.generate(GenerationRequest("a fox", width=64, height=64))
        await chain.generate(GenerationRequest("a fox", width=64, height=64))
        assert (first.calls, own_gpu.calls) == (1, 2)
    finally:
        for client in clients:
            await client.aclose()


def test_groups_follow_the_token_and_the_zero_gpu_setting():
    def group(**settings):
        config = GradioBackendConfig(**settings)
        return build_backend(config, make_client(config), {"HF_TOKEN": TOKEN_ONE}).quota_group

    # A Space by id gets the default HF_TOKEN; a Space without a token spends the anonymous quota.
    assert group(space="owner/one") == group(space="owner/two") == zero_gpu_group(TOKEN_ONE)
    assert group(space="owner/one", hf_token_env="") == zero_gpu_group("") == "zerogpu:anonymous"
    assert group(space="owner/one", hf_token=TOKEN_TWO) == zero_gpu_group(TOKEN_TWO) != zero_gpu_group(TOKEN_ONE)
    assert group(space="owner/one", zero_gpu="no") is None
    assert group(base_url="http://127.0.0.1:7860") is None  # a self-hosted app is not ZeroGPU unless told
    assert group(base_url="http://127.0.0.1:7860", zero_gpu="yes") == "zerogpu:anonymous"
    assert TOKEN_ONE not in zero_gpu_group(TOKEN_ONE)


@pytest.mark.parametrize("message, title, shared", [
    # spaces 0.51.3 spaces/zero/client.py texts, as API clients see them
    ("You have exceeded your ZeroGPU quota (60s requested vs. 42s left). Try again in 0:09:48.",
     "ZeroGPU quota exceeded", True),
    ("You have exceeded your free GPU quota (60s requested vs. 42s left). Try again in 23:08:12.", None, True),
    ("You have exceeded your ZeroGPU runs limit. Authenticate with a Hugging Face token", "ZeroGPU quota exceeded", True),
    ("Space app has reached its GPU limit. Try re-running outside of examples", "ZeroGPU quota exceeded", False),
    ("No GPU was available after 60s", "ZeroGPU queue timeout", False),
    ("Daily quota exceeded for this demo", None, False),  # an app's own limit
])
def test_which_errors_spend_the_callers_zero_gpu_quota(message, title, shared):
    assert is_zero_gpu_quota(app_error(message, title, backend="x")) is shared
