"""Value types of the prompt engine: its inputs, its options and its result."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Literal, Mapping, Optional, Sequence, Union

from ..phrases import PROMPT_REFUSED

# The injected LLM: OpenAI-style chat messages ({"role", "content"}) → the answer text.
# It may raise anything; the engine treats every exception as "no answer".
ChatLLM = Callable[[list[dict[str, str]]], Awaitable[str]]

PromptSource = Literal["llm", "fallback", "direct"]

# An image from the chat as the host gives it: bytes, base64 (bare, `base64://…`, a `data:` URL) or an
# http(s) URL. Untrusted: drawing/references.py makes it safe (size, format, metadata, address).
ReferenceSource = Union[bytes, str]


@dataclass(frozen=True)
class ChatMessage:
    """One message of the recent chat, oldest first in a history."""

    speaker: str
    text: str
    time: Optional[float] = None  # epoch seconds; None: unknown (always inside the window)
    is_bot: bool = False


@dataclass(frozen=True)
class Persona:
    """Who the bot is: MaiBot's bot.nickname and personality.personality."""

    nickname: str = ""
    personality: str = ""

    def describe(self) -> str:
        parts = [p.strip() for p in (self.nickname, self.personality) if p and p.strip()]
        return "，".join(parts) if parts else "一个友好的聊天机器人"


@dataclass(frozen=True)
class Style:
    """A named style preset ([styles.<name>] in the config) as the prompt engine and the chain use it."""

    name: str
    prefix: str = ""  # put before the prompt, e.g. "watercolor painting, "
    suffix: str = ""  # put after it, e.g. ", soft pastel colors"
    negative_prompt: str = ""  # joined to the configured negative prompt
    aspect: str = ""  # "" = no opinion
    backend: str = ""  # the backend to try first; "" = the chain's order
    inputs: Mapping[str, Any] = field(default_factory=dict, compare=False)  # e.g. {"steps": 30}
    description: str = ""  # what /pic styles shows and the LLM reads


@dataclass(frozen=True)
class PromptInput:
    """One drawing job as the front end (MaiBot tool/command, CLI) sees it."""

    request_text: str
    history: Sequence[ChatMessage] = ()
    persona: Persona = Persona()
    selfie: bool = False
    aspect: Optional[str] = None  # an explicit aspect from the user or the tool call; wins over all
    now: Optional[float] = None  # epoch seconds for the history window; None: time.time()
    style: Optional[Style] = None  # the chat's (or the request's) style preset
    # How many images: a command flag or the tool's argument; None: the words ("画两张"), else the LLM's reading.
    count: Optional[int] = None
    # Images from the chat to draw from (see ReferenceSource); never in a repr, so never in a log line.
    references: tuple[ReferenceSource, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class SelfieOptions:
    appearance: str = ""
    reference_image: str = ""  # a path, carried to backends that accept an input image
    aspect: str = "3:4"
    trigger_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class SafetyOptions:
    enabled: bool = True
    forbidden_words: tuple[str, ...] = ()
    match_mode: Literal["word", "substring"] = "word"
    refusal_message: str = PROMPT_REFUSED


@dataclass(frozen=True)
class PromptOptions:
    """Everything the engine needs from the config (see `options.options_from_config`)."""

    system_prompt: str = ""  # empty: the built-in default
    custom_prompt_add: str = ""
    negative_prompt: str = ""
    default_aspect: str = "1:1"
    history_limit: int = 20
    history_minutes: int = 30
    history_max_chars: int = 4000
    max_prompt_chars: int = 1000
    llm_timeout: float = 30.0
    on_refusal: Literal["refuse", "fallback"] = "refuse"
    prompt_languages: frozenset[str] = frozenset({"en"})  # what the image backend understands
    selfie: SelfieOptions = SelfieOptions()
    safety: SafetyOptions = SafetyOptions()

    def with_languages(self, languages: frozenset[str]) -> "PromptOptions":
        return replace(self, prompt_languages=frozenset(languages))


@dataclass(frozen=True)
class ImagePrompt:
    """The engine's result: what to draw, ready to become a GenerationRequest."""

    prompt: str
    negative_prompt: str = ""
    aspect: str = "1:1"
    selfie: bool = False
    style: str = ""
    reference_image: str = ""  # path of the selfie reference image, "" when none
    source: PromptSource = "direct"
    notes: tuple[str, ...] = field(default=(), compare=False)  # what happened, for logs and --json
    width: Optional[int] = None  # an explicit size from the request's words ("1920x1080"); beats the config's
    height: Optional[int] = None
    preset: str = ""  # the style preset drawn with ("" = none)
    backend: str = ""  # the preset's preferred backend
    inputs: Mapping[str, Any] = field(default_factory=dict, compare=False)  # the preset's backend inputs
    count: int = 1  # images asked for (the request's flag or words, else the LLM's reading); not yet capped
