"""Background jobs through the real plugin and a real Gradio app: what the chat hears when a job
times out, runs out of quota, is refused, crashes upstream or cannot be delivered; cancellation on
unload; queue notices; config reload."""

from __future__ import annotations

import asyncio
import re

import pytest

from llm2pic.phrases import SHUTTING_DOWN
from llm2pic.errors import ContentRejectedError
from maibot_fake_host import FakeHost, start_plugin

pytestmark = pytest.mark.gradio_server


def config_for(server, endpoint: str = "", *, chain=None, limits=None, jobs=None, safety=None) -> dict:
    backend = {"type": "gradio", "name": "lab", "base_url": server.url, "preset": "z-image-turbo"}
    if endpoint:
        backend.update(preset="none", api_name=endpoint)
    return {"backends": [backend], "chain": {"max_attempts": 1, **(chain or {})},
            "limits": {"user_cooldown": 0, **(limits or {})}, "jobs": jobs or {}, "safety": safety or {}}


async def draw(plugin, text: str, chat: str = "s1", user: str = "u1"):
    kwargs = {"text": f"/draw {text}", "stream_id": chat, "group_id": "g1", "platform": "qq", "user_id": user,
              "is_local_operator": False, "matched_groups": {"text": text}}
    return await plugin.draw_command(**kwargs)


async def settle(plugin, timeout: float = 30.0) -> None:
    """Wait until every job of the board has ended."""
    async def idle():
        while plugin.board.pending:
            await asyncio.sleep(0.02)
    await asyncio.wait_for(idle(), timeout)


@pytest.fixture
async def make(plugin_module, lab_servers, tmp_path):
    started = []

    async def factory(*args, host=None, **kwargs):
        host = host or FakeHost()
        plugin = await start_plugin(plugin_module, host, config_for(lab_servers["6"], *args, **kwargs), tmp_path)
        started.append(plugin)
        return plugin, host

    yield factory
    for plugin in started:
        await plugin.on_unload()


def assert_clean(texts) -> None:
    """Chat text never carries upstream detail: URLs, HTML, exception text."""
    for text in texts:
        assert not re.search(r"https?://|<a |Error|Traceback|internal detail", text), text


async def test_deadline_tells_the_chat_once_and_charges_nothing(make):
    plugin, host = await make("/slow", chain={"deadline": 0.3}, limits={"user_daily_quota": 5})
    await draw(plugin, "a slow cat")
    await settle(plugin)
    assert host.texts() == ["在画了，稍等~", "画图超时了，稍后再试试吧。"]
    assert host.of("send.image") == [] and plugin.board.outcomes["timed_out"] == 1
    assert plugin.limits.usage(plugin._who({"stream_id": "s1", "group_id": "g1", "user_id": "u1",
                                            "platform": "qq"})).user_left == 5


async def test_zero_gpu_quota_becomes_minutes_to_wait(make):
    plugin, host = await make("/quota")
    await draw(plugin, "cat")
    await settle(plugin)
    assert host.texts()[-1] == "免费额度用完了，约 10 分钟后再试。"
    assert_clean(host.texts())


async def test_hidden_crash_is_one_friendly_sentence(make):
    plugin, host = await make("/crash")
    await draw(plugin, "cat")
    await settle(plugin)
    assert host.texts()[-1] == "画图服务暂时不可用，稍后再试试吧。"
    assert_clean(host.texts()) and plugin.board.outcomes["failed"] == 1


async def test_the_apps_nsfw_placeholder_is_a_refusal_not_an_image(make):
    plugin, host = await make(safety={"enabled": False})
    await draw(plugin, "nsfw cat")  # the app answers with its nsfw.png placeholder
    await settle(plugin)
    assert host.of("send.image") == [] and host.texts()[-1] == ContentRejectedError.default_user_message


async def test_forbidden_words_are_refused_before_any_backend_is_asked(make):
    plugin, host = await make()
    await draw(plugin, "nude cat")
    await settle(plugin)
    assert host.texts()[-1] == "这个内容不太合适，换个别的吧～" and host.of("send.image") == []


async def test_undelivered_image_is_said_and_not_charged(make):
    host = FakeHost(send_ok=False)
    plugin, _ = await make(host=host, limits={"user_daily_quota": 3})
    await draw(plugin, "cat")
    await settle(plugin)
    assert len(host.of("send.image")) == 1 and plugin.board.outcomes["undelivered"] == 1
    usage = plugin.limits.usage(plugin._who({"stream_id": "s1", "group_id": "g1", "user_id": "u1"}))
    assert usage.user_left == 3


async def test_unload_cancels_running_jobs_and_each_acknowledged_one_ends_with_one_sentence(make):
    plugin, host = await make("/slow", limits={"max_pending_per_chat": 5})
    await draw(plugin, "cat")
    await draw(plugin, "dog")  # waits behind the cat in the same chat
    await asyncio.sleep(0.1)
    await plugin.on_unload()
    assert plugin.board is None
    await asyncio.sleep(0.8)  # longer than /slow takes
    assert host.of("send.image") == []
    assert host.texts()[2:] == [SHUTTING_DOWN] * 2, host.texts()


async def test_jobs_in_one_chat_run_in_order_and_the_ack_says_how_many_wait(make):
    plugin, host = await make(limits={"max_pending_per_chat": 5})
    for animal in ("cat", "dog", "fox"):
        await draw(plugin, animal)
    await settle(plugin)
    assert host.texts() == ["在画了，稍等~", "在画了，稍等~（前面还有 1 张在排队）", "在画了，稍等~（前面还有 2 张在排队）"]
    assert len(host.of("send.image")) == 3


async def test_a_full_chat_queue_refuses_once_per_window(make):
    plugin, host = await make("/slow", limits={"max_pending_per_chat": 1})
    for user in ("u1", "u2", "u3", "u4"):
        await draw(plugin, "cat", user=user)
    assert host.texts().count("这里排队的画太多了，等前面的画完再来吧。") == 1
    assert plugin.board.outcomes["busy"] == 2
    await settle(plugin)


async def test_a_long_space_queue_is_told_once_per_job(make):
    # Gradio runs one /slow job at a time: with three chats drawing at once the last waits at rank ≥ 1.
    plugin, host = await make("/slow", limits={"max_concurrent_jobs": 3}, jobs={"queue_notice_rank": 1})
    for chat in ("a", "b", "c"):
        await draw(plugin, "cat", chat=chat)
    await settle(plugin)
    notices = [c for c in host.of("send.text") if c.args["text"].startswith("画图服务在排队")]
    assert notices and len({c.args["stream_id"] for c in notices}) == len(notices)
    assert len(host.of("send.image")) == 3


async def test_config_update_swaps_the_backends(make, lab_servers):
    plugin, host = await make()
    old_engine = plugin.board.engine
    plugin.set_plugin_config({"plugin": {"config_version": "1.0.0"},
                              **config_for(lab_servers["5"], jobs={"ack_message": "马上画"})})
    await plugin.on_config_update("self", plugin.get_plugin_config_data(), "1.0.0")
    assert plugin.board.engine is not old_engine
    await draw(plugin, "cat")
    await settle(plugin)
    assert host.texts()[0] == "马上画" and len(host.of("send.image")) == 1


async def test_a_bad_config_edit_leaves_the_previous_one_drawing(make, lab_servers):
    plugin, host = await make()
    bad = {"plugin": {"config_version": "1.0.0"}, **config_for(lab_servers["6"], chain={"deadline": -1})}
    with pytest.raises(ValueError):
        plugin.set_plugin_config(bad)  # the runner reports this and keeps the old config
    plugin._plugin_config_instance = None  # and even if the instance were gone:
    await plugin.on_config_update("self", bad, "1.0.0")
    await draw(plugin, "cat")
    await settle(plugin)
    assert len(host.of("send.image")) == 1
