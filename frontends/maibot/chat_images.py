"""The images a MaiBot request draws from, read from the host's message records (extraction only:
making them safe is drawing/references.py's job).

A message record (`host/message_utils.py::MessageDict`, 1.3.15) carries `raw_message`, a list of
segments: `{"type": "image"|"emoji", "data": <text>, "hash": <sha256>, "binary_data_base64": <b64>}`
(the bytes only when the record was read with `include_binary_data=True`, which `message.get_recent`
and a command's `message` never are), `{"type": "reply", "data": {"target_message_id": …}}`, and
a top-level `reply_to` message id. So: the request's own images, then the images of the message it
replies to, each message read again by id with its binary data. "用我的头像" asks the host for the
requester's avatar URL (`chat.get_avatar`, downloaded later under the safe-download rules).

Nothing here logs an image, a base64 payload or a URL.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Mapping, Optional

from ...prompt.avatar import wants_own_avatar

IMAGE_SEGMENTS = ("image", "emoji")
MAX_SEGMENTS = 100  # a record with more segments than this is not read further
REQUESTER_MAX_AGE = 600.0  # a message older than this is not taken as the trigger of a tool call


def trigger_record(records: Iterable[Mapping[str, Any]], bot_user_id: Optional[str], *,
                   now: Optional[float] = None) -> Optional[Mapping[str, Any]]:
    """The newest recent message not sent by the bot (the one a tool call answers); None when none."""
    now = time.time() if now is None else now
    best: tuple[float, Optional[Mapping[str, Any]]] = (float("-inf"), None)
    for record in records:
        user_id = sender_of(record)
        if not user_id or (bot_user_id and user_id == str(bot_user_id)):
            continue
        try:
            when = float(record.get("timestamp"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            when = now  # undated: trust the host's newest-last order
        if now - when <= REQUESTER_MAX_AGE and when >= best[0]:
            best = (when, record)
    return best[1]


def sender_of(record: Mapping[str, Any]) -> str:
    info = record.get("message_info")
    user = info.get("user_info") if isinstance(info, Mapping) else None
    return str(user.get("user_id") or "") if isinstance(user, Mapping) else ""


def _segments(record: Optional[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    raw = record.get("raw_message") if isinstance(record, Mapping) else None
    if not isinstance(raw, list):
        return []
    return [segment for segment in raw[:MAX_SEGMENTS] if isinstance(segment, Mapping)]


def has_images(record: Optional[Mapping[str, Any]]) -> bool:
    return any(segment.get("type") in IMAGE_SEGMENTS for segment in _segments(record))


def image_payloads(record: Optional[Mapping[str, Any]]) -> list[str]:
    """The base64 of each image/emoji segment that carries its bytes, in message order."""
    payloads = []
    for segment in _segments(record):
        data = segment.get("binary_data_base64")
        if segment.get("type") in IMAGE_SEGMENTS and isinstance(data, str) and data.strip():
            payloads.append(data)
    return payloads


def reply_target(record: Optional[Mapping[str, Any]]) -> str:
    """The id of the message this one replies to (its reply segment, else `reply_to`); "" when none."""
    for segment in _segments(record):
        if segment.get("type") != "reply":
            continue
        data = segment.get("data")
        target = data.get("target_message_id") if isinstance(data, Mapping) else data
        if isinstance(target, (str, int)) and str(target).strip():
            return str(target).strip()
    target = record.get("reply_to") if isinstance(record, Mapping) else None
    return str(target).strip() if isinstance(target, (str, int)) and str(target).strip() else ""


async def chat_references(ctx: Any, chat_id: str, trigger: Optional[Mapping[str, Any]], *, text: str = "",
                          platform: str = "", user_id: str = "", limit: int = 4) -> tuple[list[str], list[str]]:
    """(the request's reference images as base64 or avatar URLs, at most `limit`; notes for the log).

    The trigger's own images, then those of the message it replies to, then the requester's avatar
    when the text asks for it. A host that cannot answer (an older one, a refused capability) only
    costs the references, never the drawing."""
    sources: list[str] = []
    notes: list[str] = []
    if trigger is not None:
        if has_images(trigger):
            sources += image_payloads(trigger) or image_payloads(
                await _message_with_images(ctx, str(trigger.get("message_id") or ""), chat_id, notes))
        target = reply_target(trigger)
        if target and len(sources) < limit:
            sources += image_payloads(await _message_with_images(ctx, target, chat_id, notes))
    if wants_own_avatar(text) and platform and user_id and len(sources) < limit:
        avatar = await _avatar_url(ctx, platform, user_id, notes)
        if avatar:
            sources.append(avatar)
    return sources[:limit], notes


async def _message_with_images(ctx: Any, message_id: str, chat_id: str, notes: list[str]) -> Optional[Mapping]:
    if not message_id:
        return None
    try:
        record = await ctx.message.get_by_id(message_id, chat_id=chat_id, include_binary_data=True)
    except Exception as exc:  # the host refused or timed out: draw without that image
        notes.append(f"the image message could not be read from the host: {type(exc).__name__}")
        return None
    if not isinstance(record, Mapping) or record.get("success") is False:
        notes.append("the host did not return the image message")
        return None
    return record


async def _avatar_url(ctx: Any, platform: str, user_id: str, notes: list[str]) -> str:
    try:
        avatar = await ctx.chat.get_avatar(platform, user_id, "user")
    except Exception as exc:
        notes.append(f"the requester's avatar is not available from the host: {type(exc).__name__}")
        return ""
    if not isinstance(avatar, Mapping) or avatar.get("status") != "available":
        status = avatar.get("status") if isinstance(avatar, Mapping) else None
        notes.append(f"the host has no avatar for the requester (status {str(status)[:20]!r})")
        return ""
    url = avatar.get("url")
    return url.strip() if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")) else ""
