"""What each chat drew lately, for /pic history, /pic again N and /pic prompt: in memory, bounded
per chat and in the number of chats (the chat used least recently is forgotten first)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable, Optional

from ..prompt.types import ImagePrompt

PER_CHAT = 10
CHATS = 1000


@dataclass(frozen=True)
class Drawing:
    """One picture a chat got: the prompt it was drawn from, by which backend, with which seed, when."""

    image_prompt: ImagePrompt
    backend: str
    seed: Optional[int]
    at: float  # epoch seconds


class PromptHistory:
    def __init__(self, per_chat: int = PER_CHAT, chats: int = CHATS, clock: Callable[[], float] = time.time) -> None:
        self.per_chat = max(1, per_chat)
        self.chats = max(1, chats)
        self._clock = clock
        self._by_chat: OrderedDict[str, deque[Drawing]] = OrderedDict()

    def record(self, chat_id: str, image_prompt: ImagePrompt, backend: str, seed: Optional[int]) -> None:
        drawings = self._by_chat.pop(chat_id, None) or deque(maxlen=self.per_chat)
        drawings.appendleft(Drawing(image_prompt, backend, seed, self._clock()))
        self._by_chat[chat_id] = drawings  # most recently used last
        while len(self._by_chat) > self.chats:
            self._by_chat.popitem(last=False)

    def recent(self, chat_id: str) -> list[Drawing]:
        """The chat's drawings, newest first."""
        return list(self._by_chat.get(chat_id, ()))

    def get(self, chat_id: str, number: int = 1) -> Optional[Drawing]:
        """The `number`-th newest drawing of the chat (1 = the last); None when there is no such one."""
        drawings = self._by_chat.get(chat_id, ())
        return drawings[number - 1] if 1 <= number <= len(drawings) else None

    def __len__(self) -> int:
        return len(self._by_chat)
