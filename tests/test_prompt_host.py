"""The host (MaiBot) LLM as a ChatLLM: ctx.llm.generate's result dict → text or an error → fallback."""

from __future__ import annotations

import pytest

from llm2pic.prompt.engine import make_image_prompt
from llm2pic.frontends.maibot.chat_reads import HostLLMError, host_llm
from llm2pic.prompt.types import PromptInput, PromptOptions


class FakeGenerate:
    def __init__(self, result):
        self.result, self.calls = result, []

    async def __call__(self, prompt, model="", **kw):
        self.calls.append((prompt, model, kw))
        return self.result


async def test_success_returns_the_response_and_passes_the_task():
    generate = FakeGenerate({"success": True, "response": '{"prompt": "a cat"}', "model_name": "x"})
    result = await make_image_prompt(PromptInput("画猫"), PromptOptions(), host_llm(generate, "replyer"))
    assert result.prompt == "a cat"
    messages, model, _ = generate.calls[0]
    assert model == "replyer" and [m["role"] for m in messages] == ["system", "user"]


async def test_failure_raises_redacted():
    result = {"success": False, "error": "model sk-abcdefghijklmnop overloaded"}
    with pytest.raises(HostLLMError) as caught:
        await host_llm(FakeGenerate(result))([{"role": "user", "content": "x"}])
    assert "sk-abcdefghijklmnop" not in str(caught.value) and "overloaded" in str(caught.value)


@pytest.mark.parametrize("result", [None, "oops", ["success"]])
async def test_an_answer_of_the_wrong_shape_is_a_host_llm_error(result):
    with pytest.raises(HostLLMError):
        await host_llm(FakeGenerate(result))([{"role": "user", "content": "x"}])


async def test_failure_leads_to_fallback():
    generate = FakeGenerate({"success": False, "error": "timeout"})
    result = await make_image_prompt(PromptInput("帮我画一张猫咪的图片"), PromptOptions(), host_llm(generate))
    assert (result.prompt, result.source) == ("猫咪", "fallback")
