"""Finding the images in an OpenAI-style answer. Pure functions, no I/O.

Chat answers carry images in many places depending on the provider; backends.md §3.4 gives the
order: stop at the first source that has any image, but take every image from that source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional

_MARKDOWN = re.compile(r"!\[[^\]]*\]\((\S+?)(?:\s+\"[^\"]*\")?\)")
_IMG_TAG = re.compile(r"""<img[^>]+src\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_DATA_URL = re.compile(r"data:image/[a-z0-9+.\-]+;base64,[A-Za-z0-9+/=\s]+", re.IGNORECASE)
_IMAGE_URL = re.compile(r"https?://[^\s)\"'<>]+\.(?:png|jpe?g|webp|gif)(?:\?[^\s)\"'<>]*)?", re.IGNORECASE)
_DATA_URL_PARTS = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*?);base64,(.*)$", re.IGNORECASE | re.DOTALL)
_IMAGE_PART_TYPES = {"image_url", "output_image", "image"}
_REFUSAL_WORDS = ("can't", "cannot", "can not", "unable", "not able", "sorry", "not allowed", "policy",
                  "inappropriate", "无法", "不能", "抱歉", "不可以", "违反", "不合适", "拒绝")


@dataclass(frozen=True)
class AnswerImage:
    """An image in an answer: inline base64 (`data`) or a URL to download (`url`)."""

    data: Optional[str] = None
    url: Optional[str] = None
    mime_hint: str = ""


def ref_from_string(value: str) -> Optional[AnswerImage]:
    value = value.strip()
    match = _DATA_URL_PARTS.match(value)
    if match:
        return AnswerImage(data=match.group(3), mime_hint=match.group(1).lower())
    if value.lower().startswith(("http://", "https://")):
        return AnswerImage(url=value)
    return None


def refs_from_images_body(body: Any) -> list[AnswerImage]:
    """`data[*].b64_json`, else `data[*].url` (the /images/* answer shape)."""
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    inline = [AnswerImage(data=item["b64_json"]) for item in items
              if isinstance(item, dict) and isinstance(item.get("b64_json"), str) and item["b64_json"]]
    if inline:
        return inline
    found = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            ref = ref_from_string(item["url"])
            if ref:
                found.append(ref)
    return found


def refs_from_chat_message(message: Any, body: Any = None) -> list[AnswerImage]:
    if not isinstance(message, dict):
        return refs_from_images_body(body)
    for source in (_from_images_field(message), _from_content_parts(message.get("content")),
                   *_from_text(message.get("content")), refs_from_images_body(body)):
        if source:
            return source
    return []


def _url_of(item: Any) -> Optional[str]:
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return None
    for key in ("image_url", "imageUrl"):
        inner = item.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("url"), str):
            return inner["url"]
        if isinstance(inner, str):
            return inner
    return item.get("url") if isinstance(item.get("url"), str) else None


def _from_images_field(message: dict) -> list[AnswerImage]:
    images = message.get("images")
    if not isinstance(images, list):
        return []
    return _refs(_url_of(item) for item in images)


def _from_content_parts(content: Any) -> list[AnswerImage]:
    if not isinstance(content, list):
        return []
    found: list[AnswerImage] = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") not in _IMAGE_PART_TYPES:
            continue
        for key in ("b64_json", "image_base64"):
            if isinstance(part.get(key), str) and part[key]:
                found.append(AnswerImage(data=part[key], mime_hint=str(part.get("mime_type") or "")))
                break
        else:
            found.extend(_refs([_url_of(part)]))
    return found


def _from_text(content: Any) -> list[list[AnswerImage]]:
    """The text-based sources in order: markdown, <img src>, bare data URLs, bare image URLs."""
    text = content_text(content)
    if not text:
        return []
    return [
        _refs(_MARKDOWN.findall(text)),
        _refs(_IMG_TAG.findall(text)),
        _refs(match.group(0) for match in _DATA_URL.finditer(text)),
        _refs(match.group(0) for match in _IMAGE_URL.finditer(text)),
    ]


def _refs(values: Iterable[Optional[str]]) -> list[AnswerImage]:
    found = []
    for value in values:
        ref = ref_from_string(value) if isinstance(value, str) else None
        if ref:
            found.append(ref)
    return found


def content_text(content: Any) -> str:
    """The text of a message content (a string, or the text parts of a list)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text") or "") for part in content
                         if isinstance(part, dict) and part.get("type") in ("text", "output_text"))
    return ""


def looks_like_refusal(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _REFUSAL_WORDS)
