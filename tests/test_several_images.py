"""Several images per request: the count from a command flag, the request's words or the prompt LLM's
JSON answer; the prompt LLM hears the count and the references; quotas count images."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from llm2pic.config.limits import LimitsSection
from llm2pic.config.load import ConfigError, load_config_data
from llm2pic.drawing.admission import Limits, Refusal, Ticket, Who
from llm2pic.phrases import images_note
from llm2pic.prompt.avatar import wants_own_avatar
from llm2pic.prompt.build import build_messages
from llm2pic.prompt.count import count_from_words, split_count_flag
from llm2pic.prompt.engine import make_image_prompt, requested_count
from llm2pic.prompt.parse import parse_answer
from llm2pic.prompt.types import Persona, PromptInput, PromptOptions

ALICE = Who(chat_id="s1", group_id="g1", user_id="alice", platform="qq")
BOB = Who(chat_id="s1", group_id="g1", user_id="bob", platform="qq")


# ---- the count -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, count", [
    ("画两张猫", 2), ("来三张", 3), ("给我画 4 张海边的图", 4), ("画３张", 3), ("画十张", 10), ("画十二张", 12),
    ("来俩版本", 2), ("来两个版本", 2), ("画一张猫", 1), ("draw 3 pictures of a fox", 3),
    ("two images of a dog", 2), ("画只猫", None), ("画张猫", None),
    # words that name images rather than ask for a number of them
    ("把这两张图合成一张", 1), ("第二张好看", None), ("每张都要有猫", None), ("前两张再画", None),
])
def test_the_words_of_a_request_name_a_count(text, count):
    assert count_from_words(text) == count


@pytest.mark.parametrize("text, count, rest", [
    ("-n 3 一只猫", 3, "一只猫"), ("-n3 一只猫", 3, "一只猫"), ("--count 3 一只猫", 3, "一只猫"),
    ("--count=2 一只猫", 2, "一只猫"), ("一只猫 -n 2", 2, "一只猫"), ("-n=4 a b", 4, "a b"),
    ("一只猫-n 2", None, "一只猫-n 2"), ("-n abc 猫", None, "-n abc 猫"), ("-n 0 猫", 1, "猫"),
    ("一只猫", None, "一只猫"),
])
def test_a_command_flag_names_a_count_and_leaves_the_description(text, count, rest):
    assert split_count_flag(text) == (count, rest)


@pytest.mark.parametrize("answer, count", [
    ('{"prompt": "a cat", "count": 3}', 3), ('{"prompt": "a cat", "count": "2"}', 2),
    ('{"prompt": "a cat", "n": 2}', 2), ('{"prompt": "a cat"}', None), ('{"prompt": "a cat", "count": 0}', None),
    ('{"prompt": "a cat", "count": -2}', None), ('{"prompt": "a cat", "count": 2.5}', None),
    ('{"prompt": "a cat", "count": true}', None), ('{"prompt": "a cat", "count": 1e999}', None),
    ('{"prompt": "a cat", "count": NaN}', None), ('{"prompt": "a cat", "count": [3]}', None),
    ('{"prompt": "a cat", "count": ' + "9" * 5000 + '}', None), ('{"prompt": "a cat", "count": 500}', 99),
])
def test_the_llms_count_is_a_bounded_whole_number_or_nothing(answer, count):
    assert parse_answer(answer, 1000).count == count


def test_an_explicit_count_wins_over_the_words():
    assert requested_count(PromptInput("画两张猫", count=3)) == 3
    assert requested_count(PromptInput("画两张猫")) == 2
    assert requested_count(PromptInput("画猫")) is None


class ScriptedLLM:
    """The injected prompt LLM (a ChatLLM): answers with a fixed text and keeps what it was asked."""

    def __init__(self, answer: str) -> None:
        self.answer, self.asked = answer, []

    async def __call__(self, messages):
        self.asked.append(messages)
        return self.answer


async def test_the_prompt_counts_words_first_then_the_llms_reading():
    llm = ScriptedLLM(json.dumps({"prompt": "a cat", "count": 3}))
    assert (await make_image_prompt(PromptInput("画猫猫们"), PromptOptions(), llm)).count == 3
    assert (await make_image_prompt(PromptInput("画两张猫"), PromptOptions(), llm)).count == 2
    assert "用户指定 2 张" in llm.asked[-1][1]["content"]
    assert (await make_image_prompt(PromptInput("画猫", count=4), PromptOptions(), llm)).count == 4
    assert (await make_image_prompt(PromptInput("画猫"), PromptOptions(), None)).count == 1


async def test_the_prompt_llm_is_told_about_references_without_seeing_them():
    llm = ScriptedLLM('{"prompt": "cyberpunk style, keep the same person and pose"}')
    job = PromptInput("把这张图改成赛博朋克风", references=(b"\x89PNG fake bytes never shown",))
    await make_image_prompt(job, PromptOptions(), llm)
    system, user = llm.asked[0][0]["content"], llm.asked[0][1]["content"]
    assert "参考图" in system and "【参考图】用户给了 1 张参考图" in user
    assert "PNG" not in user and "fake bytes" not in json.dumps(llm.asked, ensure_ascii=False)
    assert "fake bytes" not in repr(job)  # references never reach a repr, so never a log line
    plain = build_messages(request_text="画猫", history=[], persona=Persona(), selfie=False, appearance="",
                           aspect=None)
    assert "【参考图】" not in plain[1]["content"] and '"count": 1' in plain[0]["content"]


@pytest.mark.parametrize("text, wanted", [
    ("用我的头像画一张赛博朋克风", True), ("拿我头像画个Q版", True), ("用自己的QQ头像画", True),
    ("draw my avatar as a knight", True), ("画一个头像", False), ("画他的头像", False),
])
def test_asking_for_the_own_avatar(text, wanted):
    assert wants_own_avatar(text) is wanted


def test_max_images_is_a_generation_setting_with_bounds():
    assert load_config_data({}).config.generation.max_images == 4
    assert load_config_data({"generation": {"max_images": 2}}).config.generation.max_images == 2
    for bad in (0, 11, "many"):
        with pytest.raises(ConfigError, match="max_images"):
            load_config_data({"generation": {"max_images": bad}})


# ---- quotas count images -----------------------------------------------------------------------

def make(**settings) -> Limits:
    moment = datetime(2025, 3, 1, 12)
    return Limits(LimitsSection(**{"user_cooldown": 0, **settings}), clock=lambda: 1000.0, now=lambda: moment)


def test_a_ticket_reserves_the_images_asked_and_charges_only_those_delivered():
    limits = make(user_daily_quota=5, group_daily_quota=10)
    ticket = limits.admit(ALICE, count=3)
    assert isinstance(ticket, Ticket) and (ticket.granted, ticket.asked) == (3, 3)
    assert limits.usage(ALICE).user_left == 2 and limits.usage(BOB).group_left == 7  # reserved while in flight
    ticket.commit(2)  # 3 asked, 2 delivered: 2 charged
    assert limits.usage(ALICE).user_left == 3 and limits.usage(ALICE).group_left == 8
    assert limits.snapshot()["users"] == {"qq:alice": 2} and limits.snapshot()["version"] == 1
    ticket.commit(3)  # settled once
    ticket.release()
    assert limits.usage(ALICE).user_left == 3


def test_with_fewer_left_than_asked_the_ticket_grants_what_fits():
    limits = make(user_daily_quota=3)
    limits.admit(ALICE, count=2).commit()
    ticket = limits.admit(ALICE, count=3)
    assert isinstance(ticket, Ticket) and (ticket.granted, ticket.asked) == (1, 3)
    assert images_note(ticket.granted, ticket.asked, 3, 4) == "（今天的额度只够画 1 张）"
    assert isinstance(limits.admit(ALICE, count=1), Refusal)  # the one left is reserved
    ticket.commit(5)  # never more than granted
    assert limits.usage(ALICE).user_left == 0
    refusal = limits.admit(ALICE, count=2)
    assert isinstance(refusal, Refusal) and refusal.reason == "user_quota"


def test_the_group_quota_bounds_a_grant_too():
    limits = make(user_daily_quota=10, group_daily_quota=2)
    ticket = limits.admit(ALICE, count=4)
    assert ticket.granted == 2
    ticket.release()
    assert limits.usage(BOB).group_left == 2  # a failed job charges nothing


def test_a_ticket_grows_when_the_llm_reads_several_but_only_within_the_quota():
    limits = make(user_daily_quota=4)
    ticket = limits.admit(ALICE)
    assert ticket.granted == 1
    assert ticket.grow(3) == 3 and limits.usage(ALICE).user_left == 1
    other = limits.admit(ALICE)
    assert ticket.grow(4) == 3  # the last one is someone else's reservation now
    ticket.commit(3)
    other.release()
    assert limits.usage(ALICE).user_left == 1


def test_an_admins_ticket_grants_all_and_counts_nothing():
    limits = make(user_daily_quota=1, admin_users=["alice"])
    ticket = limits.admit(ALICE, count=4)
    assert ticket.granted == 4 and ticket.grow(6) == 6
    ticket.commit(6)
    assert limits.usage(BOB).user_left == 1


def test_a_snapshot_of_images_restores_into_the_same_counters():
    limits = make(user_daily_quota=5)
    limits.admit(ALICE, count=3).commit()
    restarted = make(user_daily_quota=5)
    restarted.restore(json.loads(json.dumps(limits.snapshot())))
    assert restarted.usage(ALICE).user_left == 2


@pytest.mark.parametrize("granted, asked, requested, cap, note", [
    (1, 1, 1, 4, ""), (3, 3, 3, 4, "（画 3 张）"), (4, 4, 9, 4, "（画 4 张，一次最多 4 张）"),
    (2, 4, 4, 4, "（画 2 张，今天的额度只够画 2 张）"),
])
def test_the_acknowledgement_says_how_many(granted, asked, requested, cap, note):
    assert images_note(granted, asked, requested, cap) == note
