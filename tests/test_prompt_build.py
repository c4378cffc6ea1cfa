"""The messages sent to the prompt LLM: system prompt placeholders, history window, quoting."""

from __future__ import annotations

from llm2pic.aspects import ASPECTS
from llm2pic.prompt.build import (DEFAULT_SYSTEM_PROMPT, build_messages, render_system_prompt, select_history)
from llm2pic.frontends.cli.chatfile import parse_chat_text
from llm2pic.frontends.maibot.chat_reads import messages_from_host
from llm2pic.prompt.types import ChatMessage, Persona

NOW = 10_000.0


def test_placeholders_and_other_braces():
    values = {"persona": "麦麦", "nickname": "麦麦", "appearance": "red hair"}
    template = "{persona} {{{masterpiece}}} {unknown} {nickname}{appearance} {} {{persona}}"
    assert render_system_prompt(template, values) == "麦麦 {{{masterpiece}}} {unknown} 麦麦red hair {} {麦麦}"


def test_default_system_prompt_lists_the_aspects_and_persona():
    system = build_messages(request_text="画猫", history=[], persona=Persona("麦麦", "活泼"), selfie=False,
                            appearance="", aspect=None)[0]["content"]
    assert "麦麦，活泼" in system
    assert " / ".join(ASPECTS) in system
    assert '{"prompt": "English prompt"' in system and "{persona}" not in DEFAULT_SYSTEM_PROMPT.split("\n", 1)[1]


def test_history_window_by_time_count_and_size():
    messages = [ChatMessage(f"u{i}", f"message {i}", NOW - (40 - i) * 60) for i in range(40)]
    picked = select_history(messages, now=NOW, limit=20, minutes=30, max_chars=100_000)
    assert [m.text for m in picked] == [f"message {i}" for i in range(20, 40)]
    picked = select_history(messages, now=NOW, limit=20, minutes=5, max_chars=100_000)
    assert [m.text for m in picked] == [f"message {i}" for i in range(35, 40)]  # the edge is inside
    picked = select_history(messages, now=NOW, limit=100, minutes=60, max_chars=75)
    assert [m.text for m in picked] == ["message 37", "message 38", "message 39"]


def test_long_messages_are_trimmed_and_untimed_ones_kept():
    picked = select_history([ChatMessage("a", "x" * 2000), ChatMessage("b", "  ")], now=NOW, limit=5,
                            minutes=1, max_chars=10_000)
    assert len(picked) == 1 and picked[0].text == "x" * 500 + "…"


def test_user_message_quotes_request_and_chat():
    messages = build_messages(
        request_text='画一张"猫"', history=[ChatMessage("bob", "hi <b>", NOW - 60), ChatMessage("麦麦", "在", NOW, True)],
        persona=Persona("麦麦"), selfie=False, appearance="", aspect="16:9", now=NOW)
    user = messages[1]["content"]
    assert messages[1]["role"] == "user"
    assert '"画一张\\"猫\\""' in user
    assert '[1 分钟前] "bob": "hi \\u003cb\\u003e"' in user
    assert '[刚刚] "麦麦（你自己）": "在"' in user
    assert "用户指定 16:9" in user


def test_chat_file_format():
    text = "# sample\n小明: 今天好热\n小红：去海边吧\n  还可以吃冰淇淋\n\n麦麦: 好主意\nno speaker here\n"
    messages = parse_chat_text(text, bot_nickname="麦麦")
    assert [(m.speaker, m.text, m.is_bot, m.time) for m in messages] == [
        ("小明", "今天好热", False, None),
        ("小红", "去海边吧 还可以吃冰淇淋", False, None),
        ("麦麦", "好主意 no speaker here", True, None),
    ]
    assert parse_chat_text("just a line") == [ChatMessage("?", "just a line")]


def test_host_messages():
    records = [
        {"processed_plain_text": "晚点", "timestamp": "200.5",
         "message_info": {"user_info": {"user_id": "1", "user_nickname": "Bob", "user_cardname": ""}}},
        {"processed_plain_text": "早", "timestamp": "100",
         "message_info": {"user_info": {"user_id": "42", "user_nickname": "麦麦", "user_cardname": "麦麦酱"}}},
        {"processed_plain_text": "", "timestamp": "150", "message_info": {}},
    ]
    assert messages_from_host(records, bot_user_id="42") == [
        ChatMessage("麦麦酱", "早", 100.0, True), ChatMessage("Bob", "晚点", 200.5, False)]
