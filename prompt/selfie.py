"""Selfie mode: recognise it, and make sure the prompt shows the bot itself (its configured
appearance and its name), framed as a selfie in the scene the chat implies."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterable

from .parse import has_cjk
from .safety import normalize

MAX_REFERENCE_BYTES = 20 * 1024 * 1024


def is_selfie_request(text: str, trigger_words: Iterable[str]) -> bool:
    haystack = normalize(text)
    return any(normalize(word) and normalize(word) in haystack for word in trigger_words)


def selfie_framing(nickname: str, appearance: str) -> list[str]:
    """The parts every selfie prompt carries: the framing with the bot's name, then its appearance."""
    name = nickname.strip()
    parts = [f"a selfie photo of {name}" if name else "a selfie photo of the narrator"]
    if appearance.strip():
        parts.append(appearance.strip().rstrip(",，。. "))
    return parts


def apply_selfie(prompt: str, nickname: str, appearance: str) -> str:
    """The prompt with every missing framing part put in front (none is repeated)."""
    lowered = normalize(prompt)
    missing = []
    for index, part in enumerate(selfie_framing(nickname, appearance)):
        if index == 0:
            present = ("selfie" in lowered or "photo" in lowered) and (not nickname or normalize(nickname) in lowered)
        else:
            present = normalize(part) in lowered
        if not present:
            missing.append(part)
    return ", ".join(missing + ([prompt] if prompt else []))


def appearance_needs_translation(appearance: str, languages: frozenset[str]) -> bool:
    return "zh" not in languages and has_cjk(appearance)


async def read_reference_image(path: str, max_bytes: int = MAX_REFERENCE_BYTES) -> bytes:
    """The reference image's bytes, read off the event loop; OSError/ValueError when unusable."""

    def read() -> bytes:
        file = Path(path).expanduser()
        size = file.stat().st_size
        if size > max_bytes:
            raise ValueError(f"reference image {file} is {size} bytes (limit {max_bytes})")
        return file.read_bytes()

    return await asyncio.to_thread(read)
