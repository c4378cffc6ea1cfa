"""A burst: 100 drawing triggers in one group within 10 s, from ten people, through the tool (the
planner) and /draw. The backend is a paid OpenAI-compatible API on 127.0.0.1, answered by respx so
every call is counted. The limits must hold, each person hears about the cooldown at most once,
nothing crashes, and every trigger and every job is accounted for."""

from __future__ import annotations

import asyncio
import base64
import io
import time

import httpx
import pytest
import respx
from PIL import Image

from maibot_fake_host import FakeHost, host_message, start_plugin

API = "http://127.0.0.1:9/v1"  # never reached: respx answers
USERS = [f"u{n}" for n in range(10)]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def images_api():
    answer = {"created": 0, "data": [{"b64_json": base64.b64encode(png()).decode()}]}

    async def slow_answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.2)
        return httpx.Response(200, json=answer)

    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{API}/images/generations").mock(side_effect=slow_answer)
        yield route


async def test_hundred_triggers_in_ten_seconds(plugin_module, images_api, tmp_path):
    host = FakeHost()
    config = {
        "backends": [{"type": "openai", "name": "paid", "base_url": API, "api_key": "sk-burst-test-0000",
                      "model": "gpt-image-1"}],
        "limits": {"user_cooldown": 60, "user_daily_quota": 20, "group_daily_quota": 100,
                   "max_concurrent_jobs": 2, "max_pending_per_chat": 3, "notice_window": 60},
    }
    plugin = await start_plugin(plugin_module, host, config, tmp_path)
    board = plugin.board
    started = time.monotonic()
    try:
        triggers = []
        for n in range(100):
            user = USERS[n % len(USERS)]
            if n % 2:
                host.recent = [host_message(user, f"画一张第 {n} 只猫")]
                triggers.append(plugin.draw_picture(description=f"第 {n} 只猫", stream_id="s1", chat_id="s1",
                                                    group_id="g1", platform="qq"))
            else:
                triggers.append(plugin.draw_command(text=f"/draw 第 {n} 只猫", stream_id="s1", group_id="g1",
                                                    platform="qq", user_id=user, is_local_operator=False,
                                                    matched_groups={"text": f"第 {n} 只猫"}))
            await triggers[-1]
            await asyncio.sleep(0.05)  # 100 triggers over about 5 s, while jobs run
        assert time.monotonic() - started < 10
        while board.pending:
            await asyncio.sleep(0.05)
    finally:
        await plugin.on_unload()

    outcomes = board.outcomes
    print("burst outcomes:", dict(outcomes), "backend calls:", images_api.call_count)
    submitted = sum(outcomes[s] for s in ("started", "queued", "merged", "refused", "busy", "closed"))
    finished = sum(outcomes[o] for o in ("succeeded", "failed", "timed_out", "undelivered", "crashed", "cancelled"))
    assert submitted == 100, outcomes
    assert finished == outcomes["started"] + outcomes["queued"], outcomes  # every accepted job ended
    assert outcomes["crashed"] == outcomes["failed"] == 0, outcomes
    # A 60 s cooldown per person: at most one drawing each, and exactly one backend call per drawing.
    assert images_api.call_count == outcomes["succeeded"] == len(host.of("send.image")) <= len(USERS)
    assert outcomes["succeeded"] >= 4  # one drawing + three waiting were admitted at once
    texts = host.texts()
    assert sum(t.startswith("画得太快啦") for t in texts) <= len(USERS)  # one cooldown reply per person
    assert texts.count("这里排队的画太多了，等前面的画完再来吧。") <= 2  # once per 60 s window
    assert sum(t.startswith("在画了") for t in texts) == outcomes["started"] + outcomes["queued"]
