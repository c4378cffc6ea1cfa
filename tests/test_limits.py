"""Admission of chat drawing requests, driven by a fake monotonic clock and a fake wall clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from pathlib import Path

import pytest

from llm2pic.config.limits import LimitsSection
from llm2pic.config.load import ConfigError, load_config, load_config_data
from llm2pic.drawing.admission import Limits, Refusal, Ticket, Usage, Who

ALICE = Who(chat_id="s1", group_id="g1", user_id="alice", platform="qq")
BOB = Who(chat_id="s1", group_id="g1", user_id="bob", platform="qq")
CAROL_ELSEWHERE = Who(chat_id="s2", group_id="g2", user_id="carol", platform="qq")
UNKNOWN_IN_G1 = Who(chat_id="s1", group_id="g1", platform="qq")
ALICE_PRIVATE = Who(chat_id="p1", user_id="alice", platform="qq")


class FakeTime:
    """One source for both clocks: `clock()` seconds and `now()` local wall time move together."""

    def __init__(self, start: str = "2025-03-01 12:00:00"):
        self.wall = datetime.fromisoformat(start)
        self.mono = 1000.0

    def clock(self) -> float:
        return self.mono

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


@pytest.fixture
def t() -> FakeTime:
    return FakeTime()


def make(t: FakeTime, **settings) -> Limits:
    return Limits(LimitsSection(**settings), clock=t.clock, now=t.now)


def admitted(result) -> Ticket:
    assert isinstance(result, Ticket), result
    return result


def refused(result, reason: str) -> Refusal:
    assert isinstance(result, Refusal) and result.reason == reason, result
    return result


# ---- cooldown -------------------------------------------------------------------------------

def test_cooldown_starts_at_admission_and_runs_out(t):
    limits = make(t, user_cooldown=30)
    admitted(limits.admit(ALICE))
    t.advance(10)
    refusal = refused(limits.admit(ALICE), "cooldown")
    assert refusal.retry_after == pytest.approx(20)
    assert refusal.user_message() == "画得太快啦，约 20 秒后再来～"
    admitted(limits.admit(BOB))  # someone else is not affected
    t.advance(20)
    admitted(limits.admit(ALICE))


def test_cooldown_is_per_user_across_chats(t):
    limits = make(t, user_cooldown=30)
    admitted(limits.admit(ALICE))
    refused(limits.admit(ALICE_PRIVATE), "cooldown")


def test_a_released_ticket_lifts_its_cooldown_and_a_committed_one_keeps_it(t):
    limits = make(t, user_cooldown=60)
    admitted(limits.admit(ALICE)).release()
    admitted(limits.admit(ALICE)).commit()
    refused(limits.admit(ALICE), "cooldown")


def test_long_cooldowns_are_shown_in_minutes(t):
    limits = make(t, user_cooldown=600)
    admitted(limits.admit(ALICE))
    t.advance(1)
    assert refused(limits.admit(ALICE), "cooldown").user_message() == "画得太快啦，约 10 分钟后再来～"


def test_zero_cooldown_is_off(t):
    limits = make(t, user_cooldown=0)
    admitted(limits.admit(ALICE))
    admitted(limits.admit(ALICE))
    assert limits.usage(ALICE).cooldown_left == 0


def test_a_shorter_cooldown_in_a_new_config_applies_to_running_ones(t):
    limits = make(t, user_cooldown=600)
    admitted(limits.admit(ALICE))
    t.advance(30)
    limits.update_config(LimitsSection(user_cooldown=20))
    admitted(limits.admit(ALICE))


# ---- daily quotas ---------------------------------------------------------------------------

def test_user_quota_counts_in_flight_jobs_and_returns_released_ones(t):
    limits = make(t, user_cooldown=0, user_daily_quota=2)
    first, second = admitted(limits.admit(ALICE)), admitted(limits.admit(ALICE))
    refusal = refused(limits.admit(ALICE), "user_quota")
    assert refusal.user_message() == "今天的画图次数用完了，明天再来吧"
    assert refusal.retry_after == pytest.approx(12 * 3600)  # until midnight
    second.release()
    assert limits.usage(ALICE).user_left == 1
    third = admitted(limits.admit(ALICE))
    first.commit()
    third.commit()
    assert limits.usage(ALICE).user_left == 0
    refused(limits.admit(ALICE), "user_quota")


def test_commit_and_release_are_idempotent_and_the_first_one_wins(t):
    limits = make(t, user_cooldown=0, user_daily_quota=3)
    ticket = admitted(limits.admit(ALICE))
    ticket.commit()
    ticket.commit()
    ticket.release()
    assert ticket.settled
    assert limits.usage(ALICE).user_left == 2
    other = admitted(limits.admit(ALICE))
    other.release()
    other.release()
    other.commit()
    assert limits.usage(ALICE).user_left == 2


def test_group_quota_is_shared_by_the_group_and_checked_after_the_user_quota(t):
    limits = make(t, user_cooldown=0, user_daily_quota=1, group_daily_quota=2)
    admitted(limits.admit(ALICE)).commit()
    refused(limits.admit(ALICE), "user_quota")
    admitted(limits.admit(BOB)).commit()
    dave = Who(chat_id="s1", group_id="g1", user_id="dave", platform="qq")
    refusal = refused(limits.admit(dave), "group_quota")
    assert refusal.user_message() == "本群今天的画图次数用完了，明天再来吧"
    admitted(limits.admit(CAROL_ELSEWHERE))
    assert limits.usage(dave) == Usage(user_left=1, group_left=0, cooldown_left=0.0)


def test_private_chats_have_no_group_quota(t):
    limits = make(t, user_cooldown=0, user_daily_quota=5, group_daily_quota=1)
    for _ in range(3):
        admitted(limits.admit(ALICE_PRIVATE)).commit()
    assert limits.usage(ALICE_PRIVATE).group_left is None


def test_zero_quota_is_unlimited(t):
    limits = make(t, user_cooldown=0, user_daily_quota=0, group_daily_quota=0)
    for _ in range(50):
        admitted(limits.admit(ALICE)).commit()
    assert limits.usage(ALICE) == Usage(user_left=None, group_left=None, cooldown_left=0.0)


def test_quotas_reset_at_local_midnight(t):
    t = FakeTime("2025-03-01 23:59:00")
    limits = make(t, user_cooldown=0, user_daily_quota=1)
    admitted(limits.admit(ALICE)).commit()
    refusal = refused(limits.admit(ALICE), "user_quota")
    assert refusal.retry_after == pytest.approx(60)
    t.advance(59)
    refused(limits.admit(ALICE), "user_quota")
    t.advance(1)
    admitted(limits.admit(ALICE))


def test_a_job_that_runs_over_midnight_is_charged_to_the_day_it_finishes(t):
    t = FakeTime("2025-03-01 23:59:30")
    limits = make(t, user_cooldown=0, user_daily_quota=1)
    ticket = admitted(limits.admit(ALICE))
    t.advance(60)
    refused(limits.admit(ALICE), "user_quota")  # still in flight
    ticket.commit()
    assert limits.usage(ALICE).user_left == 0
    assert limits.snapshot()["day"] == "2025-03-02"


# ---- quiet hours ----------------------------------------------------------------------------

@pytest.mark.parametrize("clock_time, quiet", [
    ("23:00:00", True), ("02:30:00", True), ("06:59:59", True),
    ("07:00:00", False), ("12:00:00", False), ("22:59:59", False),
])
def test_quiet_hours_wrap_midnight(clock_time, quiet):
    t = FakeTime(f"2025-03-01 {clock_time}")
    result = make(t, quiet_hours="23:00-07:00").admit(ALICE)
    assert isinstance(result, Refusal) == quiet
    if quiet:
        assert result.reason == "quiet_hours"
        assert result.user_message() == "现在是休息时间（23:00-07:00），07:00 以后再来吧"


def test_quiet_hours_retry_after_counts_to_their_end(t):
    t = FakeTime("2025-03-01 23:30:00")
    refusal = refused(make(t, quiet_hours="23:00-07:00").admit(ALICE), "quiet_hours")
    assert refusal.retry_after == pytest.approx(7.5 * 3600)


def test_quiet_hours_within_one_day(t):
    limits = make(t, quiet_hours="12:00-13:30")
    refusal = refused(limits.admit(ALICE), "quiet_hours")
    assert refusal.retry_after == pytest.approx(90 * 60)
    t.advance(90 * 60)
    admitted(limits.admit(ALICE))


def test_quiet_hours_come_before_the_cooldown(t):
    limits = make(t, user_cooldown=120, quiet_hours="12:01-13:00")
    admitted(limits.admit(ALICE))
    t.advance(60)
    refused(limits.admit(BOB), "quiet_hours")
    refused(limits.admit(ALICE), "quiet_hours")


# ---- admins ---------------------------------------------------------------------------------

def test_admins_bypass_quiet_hours_cooldown_and_quotas_and_are_not_charged(t):
    limits = make(t, user_cooldown=60, user_daily_quota=1, group_daily_quota=1, quiet_hours="00:00-23:59",
                  admin_users=["alice"])
    assert limits.is_admin(ALICE) and not limits.is_admin(BOB)
    for _ in range(5):
        admitted(limits.admit(ALICE)).commit()
    assert limits.usage(ALICE) == Usage(user_left=None, group_left=None, cooldown_left=0.0)
    assert limits.snapshot()["users"] == {} and limits.snapshot()["groups"] == {}
    refused(limits.admit(BOB), "quiet_hours")


def test_an_admin_flag_from_the_caller_also_bypasses(t):
    limits = make(t, user_cooldown=60)
    admitted(limits.admit(BOB, is_admin=True))
    admitted(limits.admit(BOB, is_admin=True))
    admitted(limits.admit(BOB))  # the operator's own draws did not start a cooldown


def test_admin_entries_may_name_the_platform(t):
    limits = make(t, admin_users=["qq:alice", "wx:bob"])
    assert limits.is_admin(ALICE)
    assert not limits.is_admin(BOB)  # bob is an admin on wx only
    assert not limits.is_admin(UNKNOWN_IN_G1)


def test_group_lists_still_apply_to_admins(t):
    limits = make(t, admin_users=["alice"], denied_groups=["g1"], allow_private=False)
    refused(limits.admit(ALICE), "chat_not_allowed")
    refused(limits.admit(ALICE, is_admin=True), "chat_not_allowed")
    refused(limits.admit(ALICE_PRIVATE), "private_not_allowed")


# ---- allowed chats --------------------------------------------------------------------------

def test_allowed_groups_restrict_and_denied_groups_win(t):
    limits = make(t, user_cooldown=0, allowed_groups=["g1", "qq:g2"], denied_groups=["qq:g1"])
    refusal = refused(limits.admit(ALICE), "chat_not_allowed")
    assert refusal.retry_after is None and refusal.user_message() == "这里没有开放画图功能哦"
    admitted(limits.admit(CAROL_ELSEWHERE))
    refused(limits.admit(Who(chat_id="s3", group_id="g3", user_id="x", platform="qq")), "chat_not_allowed")
    refused(limits.admit(Who(chat_id="s4", group_id="g2", user_id="x", platform="wx")), "chat_not_allowed")


def test_private_chats_are_allowed_unless_switched_off(t):
    admitted(make(t).admit(ALICE_PRIVATE))
    refusal = refused(make(t, allow_private=False).admit(ALICE_PRIVATE), "private_not_allowed")
    assert refusal.user_message() == "私聊里不能画图哦，请在群里使用"


def test_the_allow_list_does_not_cover_private_chats(t):
    admitted(make(t, allowed_groups=["g9"]).admit(ALICE_PRIVATE))


# ---- unknown requester ----------------------------------------------------------------------

def test_an_unknown_user_falls_back_to_the_group(t):
    limits = make(t, user_cooldown=30, user_daily_quota=1, group_daily_quota=3)
    admitted(limits.admit(UNKNOWN_IN_G1)).commit()
    refused(limits.admit(UNKNOWN_IN_G1), "cooldown")  # keyed by the group
    admitted(limits.admit(ALICE))  # a known user in that group has a cooldown of her own
    t.advance(30)
    admitted(limits.admit(UNKNOWN_IN_G1)).commit()  # the user quota of 1 does not apply
    t.advance(30)
    refused(limits.admit(UNKNOWN_IN_G1), "group_quota")
    assert limits.usage(UNKNOWN_IN_G1) == Usage(user_left=None, group_left=0, cooldown_left=0.0)


# ---- notices --------------------------------------------------------------------------------

def test_only_the_first_refusal_in_the_notice_window_notifies(t):
    limits = make(t, user_cooldown=300, notice_window=60)
    admitted(limits.admit(ALICE))
    admitted(limits.admit(BOB))
    assert refused(limits.admit(ALICE), "cooldown").notify
    t.advance(30)
    assert not refused(limits.admit(ALICE), "cooldown").notify
    assert refused(limits.admit(BOB), "cooldown").notify  # per requester
    t.advance(30)
    assert refused(limits.admit(ALICE), "cooldown").notify


def test_the_notice_window_spans_reasons_and_zero_always_notifies(t):
    limits = make(t, denied_groups=["g1"], notice_window=60)
    assert refused(limits.admit(ALICE), "chat_not_allowed").notify
    limits.update_config(LimitsSection(quiet_hours="00:00-23:59", notice_window=60))
    assert not refused(limits.admit(ALICE), "quiet_hours").notify
    limits.update_config(LimitsSection(quiet_hours="00:00-23:59", notice_window=0))
    assert refused(limits.admit(ALICE), "quiet_hours").notify
    assert refused(limits.admit(ALICE), "quiet_hours").notify


def test_unknown_users_share_the_groups_notice(t):
    limits = make(t, quiet_hours="00:00-23:59")
    assert refused(limits.admit(UNKNOWN_IN_G1), "quiet_hours").notify
    assert not refused(limits.admit(UNKNOWN_IN_G1), "quiet_hours").notify
    assert refused(limits.admit(ALICE), "quiet_hours").notify


# ---- persistence ----------------------------------------------------------------------------

def test_snapshot_and_restore_keep_todays_quotas_across_a_restart(t):
    limits = make(t, user_cooldown=0, user_daily_quota=2, group_daily_quota=10)
    admitted(limits.admit(ALICE)).commit()
    admitted(limits.admit(ALICE)).commit()
    admitted(limits.admit(BOB))  # in flight: lost with the process, not saved
    data = json.loads(json.dumps(limits.snapshot()))
    assert data == {"version": 1, "day": "2025-03-01", "users": {"qq:alice": 2}, "groups": {"qq:g1": 2}}

    restarted = make(t, user_cooldown=0, user_daily_quota=2, group_daily_quota=10)
    restarted.restore(data)
    refused(restarted.admit(ALICE), "user_quota")
    assert restarted.usage(BOB) == Usage(user_left=2, group_left=8, cooldown_left=0.0)


def test_yesterdays_snapshot_is_ignored(t):
    limits = make(t, user_cooldown=0, user_daily_quota=1)
    admitted(limits.admit(ALICE)).commit()
    data = limits.snapshot()
    t.advance(24 * 3600)
    restarted = make(t, user_cooldown=0, user_daily_quota=1)
    restarted.restore(data)
    admitted(restarted.admit(ALICE))


@pytest.mark.parametrize("garbage", [
    None, 42, "x", [], {}, {"day": 20250301}, {"day": "2025-03-01", "users": "alice"},
    {"day": "2025-03-01", "users": {"qq:alice": "3", "qq:bob": -1, "qq:carol": True, "qq:dave": 1.5}},
    {"day": "2025-03-01", "users": {"qq:alice": [1]}, "groups": None},
    {"day": "not a day", "users": {"qq:alice": 5}},
])
def test_restore_ignores_garbage_and_never_raises(t, garbage):
    limits = make(t, user_cooldown=0, user_daily_quota=5)
    limits.restore(garbage)
    assert limits.usage(ALICE).user_left == 5
    assert limits.usage(BOB).user_left == 5


def test_restore_keeps_the_good_entries_of_a_partly_bad_snapshot(t):
    limits = make(t, user_cooldown=0, user_daily_quota=5)
    limits.restore({"day": "2025-03-01", "users": {"qq:alice": 4, "qq:bob": "x"}, "groups": 7})
    assert limits.usage(ALICE).user_left == 1
    assert limits.usage(BOB).user_left == 5


# ---- memory ---------------------------------------------------------------------------------

def _tracked(limits: Limits) -> int:
    return sum(len(table) for table in (limits._cooldowns, limits._notices, limits._reserved_users,
                                        limits._reserved_groups, limits._used_users, limits._used_groups))


def test_memory_stays_bounded_under_a_flood_of_distinct_users(t):
    limits = make(t, user_cooldown=60, notice_window=60, user_daily_quota=0, group_daily_quota=0,
                  quiet_hours="")
    for n in range(100_000):
        who = Who(chat_id="s1", group_id="g1", user_id=f"u{n}", platform="qq")
        ticket = admitted(limits.admit(who))
        refused(limits.admit(who), "cooldown")  # leaves a notice entry too
        if n % 3 == 0:
            ticket.release()
        t.advance(0.5)
    assert _tracked(limits) <= 2048


def test_daily_counters_of_a_flood_are_dropped_at_midnight():
    t = FakeTime("2025-03-01 20:00:00")
    limits = make(t, user_cooldown=0, user_daily_quota=3, group_daily_quota=0)
    for n in range(100_000):
        admitted(limits.admit(Who(chat_id="s1", group_id="g1", user_id=f"u{n}", platform="qq"))).commit()
    assert len(limits.snapshot()["users"]) == 100_000
    t.advance(5 * 3600)
    limits.admit(ALICE)
    assert len(limits.snapshot()["users"]) == 0
    assert _tracked(limits) <= 2


# ---- config ---------------------------------------------------------------------------------

def test_config_defaults():
    config = LimitsSection()
    assert (config.user_cooldown, config.user_daily_quota, config.group_daily_quota) == (60, 20, 100)
    assert (config.admin_users, config.allowed_groups, config.denied_groups) == ([], [], [])
    assert config.allow_private and config.quiet_hours == "" and config.notice_window == 60
    assert (config.max_concurrent_jobs, config.max_pending_per_chat) == (2, 3)


def test_config_accepts_bare_numbers_and_lenient_quiet_hours():
    config = LimitsSection(admin_users=[12345, " qq:678 ", ""], allowed_groups=[111], quiet_hours=" 23：00 ～ 7:00 ")
    assert config.admin_users == ["12345", "qq:678"] and config.allowed_groups == ["111"]
    assert config.quiet_hours == "23:00-07:00"


@pytest.mark.parametrize("raw, expected", [
    ({"quiet_hours": "25:00-07:00"}, 'config error: limits.quiet_hours = \'25:00-07:00\': quiet_hours must be '
                                     '"HH:MM-HH:MM" (e.g. "23:00-07:00") or "" for none, not \'25:00-07:00\''),
    ({"quiet_hours": "late"}, "config error: limits.quiet_hours = 'late': quiet_hours must be"),
    ({"quiet_hours": "23:00"}, "config error: limits.quiet_hours = '23:00': quiet_hours must be"),
    ({"quiet_hours": "07:00-07:00"}, "config error: limits.quiet_hours = '07:00-07:00': quiet_hours '07:00-07:00' "
                                     "starts and ends at the same time"),
    ({"user_cooldown": -1}, "config error: limits.user_cooldown = -1: Input should be greater than or equal to 0"),
    ({"user_daily_quota": -3}, "config error: limits.user_daily_quota = -3:"),
    ({"group_daily_quota": "many"}, "config error: limits.group_daily_quota = 'many':"),
    ({"notice_window": -5}, "config error: limits.notice_window = -5:"),
    ({"max_concurrent_jobs": 0}, "config error: limits.max_concurrent_jobs = 0: Input should be greater than or equal to 1"),
    ({"max_concurrent_jobs": 17}, "config error: limits.max_concurrent_jobs = 17: Input should be less than or equal to 16"),
    ({"max_pending_per_chat": -1}, "config error: limits.max_pending_per_chat = -1:"),
    ({"admin_users": "12345"}, "config error: limits.admin_users = '12345': Input should be a valid list"),
    ({"allow_private": "maybe"}, "config error: limits.allow_private = 'maybe':"),
])
def test_a_bad_limits_value_is_a_one_line_error_naming_the_key(raw, expected):
    with pytest.raises(ConfigError) as caught:
        load_config_data({"limits": raw})
    message = str(caught.value)
    assert "\n" not in message and message.startswith(expected), message


def test_a_limits_section_in_a_file_loads(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[limits]\nuser_cooldown = 0\nadmin_users = [10001, "qq:10002"]\nquiet_hours = "1:30-6:00"\n',
                    encoding="utf-8")
    loaded = load_config(path)
    assert loaded.warnings == []
    limits = loaded.config.limits
    assert (limits.user_cooldown, limits.admin_users, limits.quiet_hours) == (0, ["10001", "qq:10002"], "01:30-06:00")


def test_the_example_config_has_the_default_limits():
    example = Path(__file__).resolve().parent.parent / "config.example.toml"  # whatever the cwd
    assert load_config(example).config.limits == LimitsSection()


def test_the_classic_generation_guard_interval_becomes_the_user_cooldown():
    raw = {"anime": {"api_type": "gradio"},
           "generation_guard": {"enabled": True, "explicit_request_min_interval_seconds": 45,
                                "proactive_min_interval_seconds": 240}}
    loaded = load_config_data(raw)
    assert loaded.migrated_from_legacy and loaded.config.limits.user_cooldown == 45
    assert any("per user as limits.user_cooldown" in w for w in loaded.warnings)
    assert any("generation_guard.proactive_min_interval_seconds has no equivalent" in w for w in loaded.warnings)
    assert not any("explicit_request_min_interval_seconds has no equivalent" in w for w in loaded.warnings)


def test_a_disabled_classic_guard_means_no_cooldown():
    raw = {"anime": {"api_type": "gradio"}, "generation_guard": {"enabled": False}}
    assert load_config_data(raw).config.limits.user_cooldown == 0
