"""The images a OneBot v11 request carries: its own image segments and those of the message it replies
to (the adapter puts that one in `event.reply`). Only what the OneBot implementation hands over is
read: an http(s) URL (NapCat, Lagrange, go-cqhttp) or `base64://…`; the core checks, downloads (under its
safe-address rules) and cleans them."""

from __future__ import annotations

from typing import Iterable

from nonebot.adapters.onebot.v11 import Message, MessageEvent

MAX_REFERENCES = 4  # as imaging/reference.py takes at most


def references_of(event: MessageEvent, limit: int = MAX_REFERENCES) -> tuple[str, ...]:
    """The request's images first, then the replied-to message's; at most `limit`."""
    messages = [event.message]
    if event.reply is not None:
        messages.append(event.reply.message)
    return tuple(_image_sources(messages))[:limit]


def _image_sources(messages: Iterable[Message]) -> Iterable[str]:
    for message in messages:
        for segment in message:
            if segment.type != "image":
                continue
            for key in ("url", "file"):  # `file` is often only a cache name; `url` the download
                value = str(segment.data.get(key) or "")
                if value.startswith(("http://", "https://", "base64://")):
                    yield value
                    break
