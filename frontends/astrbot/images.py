"""The images an AstrBot request carries: its own `Image` components and those inside a `Reply` to
another message. Only an http(s) URL or `base64://…` is taken (the core checks, downloads under its
safe-address rules, and cleans them); a local file path a platform adapter saved is left alone.
Plain Python over AstrBot's component objects (read by class name), so it is tested without AstrBot."""

from __future__ import annotations

from typing import Any, Iterable

MAX_REFERENCES = 4  # as imaging/reference.py takes at most


def references_of(event: Any, limit: int = MAX_REFERENCES) -> tuple[str, ...]:
    """The request's images first, then the replied-to message's; at most `limit`."""
    components = list(getattr(getattr(event, "message_obj", None), "message", None) or [])
    own = [c for c in components if type(c).__name__ == "Image"]
    replied = [c for reply in components if type(reply).__name__ == "Reply"
               for c in (getattr(reply, "chain", None) or []) if type(c).__name__ == "Image"]
    return tuple(_sources([*own, *replied]))[:limit]


def _sources(images: Iterable[Any]) -> Iterable[str]:
    for image in images:
        for value in (getattr(image, "url", None), getattr(image, "file", None)):
            value = str(value or "")
            if value.startswith(("http://", "https://", "base64://")):
                yield value
                break
