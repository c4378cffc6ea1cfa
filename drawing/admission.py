"""Admission of chat drawing requests: allowed chats, quiet hours, cooldowns, daily quotas, admins.

Pure and synchronous: no I/O, no asyncio, no module state. The plugin owns one `Limits`, calls
`admit()` before a job and settles the returned `Ticket` with `commit()` or `release()` after it.
Time is injected (`clock` for cooldowns, `now` for local wall time) so tests can drive it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Union

from ..config.quiet_hours import format_quiet_hours, parse_quiet_hours
from ..phrases import (CHAT_NOT_ALLOWED, GROUP_QUOTA_USED_UP, PRIVATE_NOT_ALLOWED, USER_QUOTA_USED_UP)
from ..phrases import cooldown as cooldown_sentence
from ..phrases import quiet_hours as quiet_hours_sentence

if TYPE_CHECKING:  # the config package needs pydantic; this module stays stdlib-only
    from ..config.limits import LimitsSection

RefusalReason = Literal[
    "chat_not_allowed", "private_not_allowed", "quiet_hours", "cooldown", "user_quota", "group_quota"
]
SNAPSHOT_VERSION = 1
_PRUNE_FLOOR = 1024


# ---- quiet hours ----------------------------------------------------------------------------

def _quiet_seconds_left(span: tuple[int, int], moment: datetime) -> Optional[float]:
    """Seconds until quiet hours end, or None when `moment` is outside them."""
    start, end = span
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    inside = (start * 60 <= seconds < end * 60) if start < end else (seconds >= start * 60 or seconds < end * 60)
    if not inside:
        return None
    return (end * 60 - seconds) % 86400


# ---- public results -------------------------------------------------------------------------

@dataclass(frozen=True)
class Who:
    """The requester of a drawing."""

    chat_id: str  # the MaiBot stream id
    group_id: str = ""  # "" in a private chat
    user_id: str = ""  # "" when the requester could not be identified
    platform: str = ""


@dataclass(frozen=True)
class Refusal:
    """Why a request was not admitted. Send `user_message()` only when `notify` is True."""

    reason: RefusalReason
    retry_after: Optional[float]  # seconds until it would pass, when known
    notify: bool  # first refusal for this requester within notice_window
    detail: str = ""  # quiet_hours: the span "HH:MM-HH:MM"

    def user_message(self) -> str:
        if self.reason == "quiet_hours":
            return quiet_hours_sentence(self.detail)
        if self.reason == "cooldown":
            return cooldown_sentence(self.retry_after)
        return {"chat_not_allowed": CHAT_NOT_ALLOWED, "private_not_allowed": PRIVATE_NOT_ALLOWED,
                "user_quota": USER_QUOTA_USED_UP}.get(self.reason, GROUP_QUOTA_USED_UP)


@dataclass(frozen=True)
class Usage:
    user_left: Optional[int]  # None = unlimited (or admin, or the user is unknown)
    group_left: Optional[int]  # None = unlimited (or admin, or a private chat)
    cooldown_left: float  # seconds


class Ticket:
    """An admitted job, holding a reservation of `granted` images (quotas count images, not requests).

    Settle it exactly once: `commit(delivered)` charges the images that reached the chat (never more
    than granted) and frees the rest; `release()` charges nothing. Both are idempotent, and whichever
    comes first wins (commit-then-release is a no-op). `grow(n)` asks for more before drawing (the
    prompt LLM read "several" from the request): it reserves what still fits and returns the new grant."""

    def __init__(self, limits: Optional["Limits"], user_key: str, group_key: str,
                 cooldown_key: str, cooldown_started: Optional[float], *, granted: int = 1, asked: int = 1):
        self._limits = limits
        self._user_key = user_key
        self._group_key = group_key
        self._cooldown_key = cooldown_key
        self._cooldown_started = cooldown_started
        self.granted = granted  # images reserved (an admin's: all asked; nothing is counted)
        self.asked = asked  # images the request asked for (already capped by [generation] max_images)
        self._settled = limits is None  # an admin's ticket holds nothing

    @property
    def settled(self) -> bool:
        return self._settled

    def grow(self, wanted: int) -> int:
        """Reserve up to `wanted` images in all (what the quotas still allow); the new grant."""
        wanted = max(1, wanted)
        self.asked = max(self.asked, wanted)
        if self._limits is None:
            self.granted = max(self.granted, wanted)
        elif not self._settled and wanted > self.granted:
            self.granted += self._limits._reserve_more(self._user_key, self._group_key, wanted - self.granted)
        return self.granted

    def commit(self, delivered: Optional[int] = None) -> None:
        """Charge the images delivered (default: all granted), at most the grant; free the rest."""
        if not self._settled:
            self._settled = True
            charge = self.granted if delivered is None else max(0, min(delivered, self.granted))
            self._limits._settle(self._user_key, self._group_key, reserved=self.granted, charge=charge)

    def release(self) -> None:
        if not self._settled:
            self._settled = True
            self._limits._settle(self._user_key, self._group_key, reserved=self.granted, charge=0)
            self._limits._lift_cooldown(self._cooldown_key, self._cooldown_started)


# ---- the admission state --------------------------------------------------------------------

class Limits:
    """Cooldowns and daily quotas of one plugin instance."""

    def __init__(self, config: "LimitsSection", *, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = datetime.now):
        self._clock = clock
        self._now = now
        self._day: date = now().date()
        self._used_users: dict[str, int] = {}
        self._used_groups: dict[str, int] = {}
        self._reserved_users: dict[str, int] = {}
        self._reserved_groups: dict[str, int] = {}
        self._cooldowns: dict[str, float] = {}  # requester key → clock() when its cooldown started
        self._notices: dict[str, float] = {}  # requester key → clock() of its last notified refusal
        self._prune_at = _PRUNE_FLOOR
        self.update_config(config)

    def update_config(self, config: "LimitsSection") -> None:
        """Apply a new config; counters and running cooldowns are kept (measured with the new length)."""
        self._config = config
        self._quiet = parse_quiet_hours(config.quiet_hours)
        self._admins = {entry.strip() for entry in config.admin_users if entry.strip()}
        self._allowed = {entry.strip() for entry in config.allowed_groups if entry.strip()}
        self._denied = {entry.strip() for entry in config.denied_groups if entry.strip()}

    def is_admin(self, who: Who) -> bool:
        return bool(who.user_id) and _listed(self._admins, who.platform, who.user_id)

    def admit(self, who: Who, *, is_admin: bool = False, count: int = 1) -> Union[Ticket, Refusal]:
        """A ticket for `count` images, or why not. With fewer left today than asked, the ticket
        grants what is left (`Ticket.granted` < `Ticket.asked`); with none left, a refusal."""
        self._roll_day()
        count = max(1, count)
        wall = self._now()
        refusal = self._check_chat(who)
        if refusal is None and (is_admin or self.is_admin(who)):
            return Ticket(None, "", "", "", None, granted=count, asked=count)
        if refusal is None:
            refusal = self._check_limits(who, wall)
        if refusal is not None:
            reason, retry_after, detail = refusal
            return Refusal(reason, retry_after, self._should_notify(who), detail)
        return self._reserve(who, count)

    def usage(self, who: Who) -> Usage:
        self._roll_day()
        if self.is_admin(who):
            return Usage(None, None, 0.0)
        user_key, group_key = _user_key(who), _group_key(who)
        config = self._config
        user_left = _left(config.user_daily_quota, user_key, self._used_users, self._reserved_users)
        group_left = _left(config.group_daily_quota, group_key, self._used_groups, self._reserved_groups)
        return Usage(user_left, group_left, self._cooldown_left(_requester_key(who)))

    def snapshot(self) -> dict:
        """Today's charged counters as plain JSON data (in-flight reservations are not included).
        A counter is a number of images delivered (one per request before several images existed:
        the same number then, so the format and its version stay)."""
        self._roll_day()
        return {"version": SNAPSHOT_VERSION, "day": self._day.isoformat(),
                "users": dict(self._used_users), "groups": dict(self._used_groups)}

    def restore(self, data: Any) -> None:
        """Take back a snapshot of today; another day's, or anything malformed, is ignored."""
        self._roll_day()
        if not isinstance(data, dict) or data.get("day") != self._day.isoformat():
            return
        for name, counters in (("users", self._used_users), ("groups", self._used_groups)):
            table = data.get(name)
            if not isinstance(table, dict):
                continue
            for key, count in table.items():
                if isinstance(key, str) and type(count) is int and count > 0:
                    counters[key] = max(counters.get(key, 0), count)

    # -- checks, in order --------------------------------------------------------------------

    def _check_chat(self, who: Who):
        if not who.group_id:
            return None if self._config.allow_private else ("private_not_allowed", None, "")
        if _listed(self._denied, who.platform, who.group_id):
            return "chat_not_allowed", None, ""
        if self._allowed and not _listed(self._allowed, who.platform, who.group_id):
            return "chat_not_allowed", None, ""
        return None

    def _check_limits(self, who: Who, wall: datetime):
        config = self._config
        if self._quiet is not None:
            left = _quiet_seconds_left(self._quiet, wall)
            if left is not None:
                return "quiet_hours", left, format_quiet_hours(self._quiet)
        cooldown = self._cooldown_left(_requester_key(who))
        if cooldown > 0:
            return "cooldown", cooldown, ""
        to_midnight = _seconds_to_midnight(wall)
        if _left(config.user_daily_quota, _user_key(who), self._used_users, self._reserved_users) == 0:
            return "user_quota", to_midnight, ""
        if _left(config.group_daily_quota, _group_key(who), self._used_groups, self._reserved_groups) == 0:
            return "group_quota", to_midnight, ""
        return None

    # -- bookkeeping -------------------------------------------------------------------------

    def _reserve(self, who: Who, count: int) -> Ticket:
        config = self._config
        user_key = _user_key(who) if config.user_daily_quota else ""
        group_key = _group_key(who) if config.group_daily_quota else ""
        granted = self._reserve_more(user_key, group_key, count)  # at least 1: _check_limits saw room
        requester, started = _requester_key(who), None
        if config.user_cooldown > 0:
            started = self._clock()
            self._cooldowns[requester] = started
            self._prune_if_large()
        return Ticket(self, user_key, group_key, requester, started, granted=granted, asked=count)

    def _reserve_more(self, user_key: str, group_key: str, wanted: int) -> int:
        """Reserve up to `wanted` more images for these keys ("" = not counted); how many fit."""
        fits = wanted
        for key, quota, used, reserved in ((user_key, self._config.user_daily_quota, self._used_users,
                                            self._reserved_users),
                                           (group_key, self._config.group_daily_quota, self._used_groups,
                                            self._reserved_groups)):
            left = _left(quota, key, used, reserved)
            if left is not None:
                fits = min(fits, left)
        fits = max(0, fits)
        for key, reserved in ((user_key, self._reserved_users), (group_key, self._reserved_groups)):
            if key and fits:
                reserved[key] = reserved.get(key, 0) + fits
        return fits

    def _settle(self, user_key: str, group_key: str, *, reserved: int, charge: int) -> None:
        """Give back a reservation of `reserved` images and count `charge` of them as used today.
        A reservation made before midnight is charged to the new day (the job ran then)."""
        self._roll_day()
        for key, reservations, used in ((user_key, self._reserved_users, self._used_users),
                                        (group_key, self._reserved_groups, self._used_groups)):
            if not key:
                continue
            count = reservations.get(key, 0) - reserved
            if count > 0:
                reservations[key] = count
            else:
                reservations.pop(key, None)
            if charge > 0:
                used[key] = used.get(key, 0) + charge

    def _lift_cooldown(self, key: str, started: Optional[float]) -> None:
        if started is not None and self._cooldowns.get(key) == started:
            del self._cooldowns[key]

    def _cooldown_left(self, key: str) -> float:
        started = self._cooldowns.get(key)
        if started is None:
            return 0.0
        return max(0.0, started + self._config.user_cooldown - self._clock())

    def _should_notify(self, who: Who) -> bool:
        key, moment = _requester_key(who), self._clock()
        last = self._notices.get(key)
        if last is not None and moment - last < self._config.notice_window:
            return False
        self._notices[key] = moment
        self._prune_if_large()
        return True

    def _prune_if_large(self) -> None:
        """Drop expired cooldowns and notices once the tables double, so a flood of distinct
        requesters costs amortised O(1) and memory stays proportional to the live entries."""
        if len(self._cooldowns) + len(self._notices) <= self._prune_at:
            return
        moment = self._clock()
        cooldown, window = self._config.user_cooldown, self._config.notice_window
        self._cooldowns = {k: t for k, t in self._cooldowns.items() if moment - t < cooldown}
        self._notices = {k: t for k, t in self._notices.items() if moment - t < window}
        self._prune_at = max(_PRUNE_FLOOR, 2 * (len(self._cooldowns) + len(self._notices)))

    def _roll_day(self) -> None:
        today = self._now().date()
        if today != self._day:
            self._day = today
            self._used_users.clear()
            self._used_groups.clear()


# ---- keys -----------------------------------------------------------------------------------

def _listed(entries: set[str], platform: str, ident: str) -> bool:
    return ident in entries or f"{platform}:{ident}" in entries


def _user_key(who: Who) -> str:
    return f"{who.platform}:{who.user_id}" if who.user_id else ""


def _group_key(who: Who) -> str:
    return f"{who.platform}:{who.group_id}" if who.group_id else ""


def _requester_key(who: Who) -> str:
    """Whose cooldown and notices these are: the user, else the group, else the chat."""
    if who.user_id:
        return "user:" + _user_key(who)
    if who.group_id:
        return "group:" + _group_key(who)
    return "chat:" + who.chat_id


def _left(quota: int, key: str, used: dict[str, int], reserved: dict[str, int]) -> Optional[int]:
    if not quota or not key:
        return None
    return max(0, quota - used.get(key, 0) - reserved.get(key, 0))


def _seconds_to_midnight(wall: datetime) -> float:
    midnight = datetime.combine(wall.date() + timedelta(days=1), datetime.min.time(), tzinfo=wall.tzinfo)
    return (midnight - wall).total_seconds()
