"""The orchestration: request + chat + persona → ImagePrompt, with an LLM when one is given.

Order: safety check on the request → LLM (with timeout; any failure → fallback to the request
text) → parse and clean → translate once if the backend needs English → selfie framing →
the style preset's prefix/suffix → custom_prompt_add → safety check on the final prompt → aspect.

Aspect: the tool's/CLI's explicit one > the request's words ("横图", "1920x1080") > the style
preset's > the selfie default > the LLM's choice > the configured default.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Optional

from ..aspects import named_aspect, normalize_aspect
from .aspect_words import WordAspect, aspect_from_words
from ..redaction import redact
from .build import build_messages, build_translation_messages, select_history
from .count import count_from_words
from .fallback import request_to_prompt
from .parse import ParsedAnswer, cap_length, clean_text, collapse_whitespace, has_cjk, normalize_join, parse_answer
from .safety import find_forbidden
from .selfie import appearance_needs_translation, apply_selfie, is_selfie_request
from .types import ChatLLM, ImagePrompt, PromptInput, PromptOptions, PromptSource, Style
from ..errors import PromptRefused
from ..phrases import NOTHING_TO_DRAW

DEFAULT_LOGGER = "llm2pic.prompt"
NOTHING_TO_DRAW = NOTHING_TO_DRAW


async def make_image_prompt(
    job: PromptInput,
    options: PromptOptions,
    llm: Optional[ChatLLM] = None,
    *,
    logger: Optional[logging.Logger] = None,
) -> ImagePrompt:
    """The image prompt for one job. Raises PromptRefused (a ContentRejectedError) and nothing else."""
    log = logger or logging.getLogger(DEFAULT_LOGGER)
    notes: list[str] = []
    job = _cleaned(job)
    _check_safety(job.request_text, options, "request", log)
    selfie = job.selfie or is_selfie_request(job.request_text, options.selfie.trigger_words)
    appearance = options.selfie.appearance.strip()
    explicit = _valid_aspect(job.aspect)
    words = aspect_from_words(job.request_text) if explicit is None else None
    if words is not None:
        notes.append(f"aspect {words.aspect} from the words {words.words!r}")
    style = job.style
    # What the LLM is told was asked for; the selfie default and its own choice come after.
    fixed = explicit or (words.aspect if words else None) or _valid_aspect(style.aspect if style else None)
    named_count = requested_count(job)

    answer = ParsedAnswer()
    source: PromptSource = "direct"
    if llm is not None:
        answer = await _ask_llm(dataclasses.replace(job, aspect=fixed), options, llm, selfie, log, notes,
                                named_count)
        source = "llm" if answer.prompt else "fallback"
        if answer.refused:
            if options.on_refusal == "refuse":
                raise PromptRefused(
                    f"prompt LLM refused: {answer.refusal_reason or '(no reason)'}",
                    user_message=options.safety.refusal_message,
                )
            notes.append("LLM refused; drawing the request text (on_refusal = fallback)")
    body = answer.prompt
    if source == "direct":
        body = collapse_whitespace(job.request_text)  # no LLM by choice: the text is the prompt, as typed
    elif not body:  # source "fallback"
        body = request_to_prompt(job.request_text, options.max_prompt_chars)
        log.warning("prompt LLM gave no usable prompt; drawing the request text: %r", body)
        notes.append("fallback: no usable LLM answer, drew the request text")

    if source == "llm" and has_cjk(body) and "zh" not in options.prompt_languages:
        body = await _translate(body, options, llm, log, notes)

    selfie = selfie or answer.selfie is True
    custom = options.custom_prompt_add.strip()
    reserved = (len(custom) + 2 if custom else 0) + (len(appearance) + len(job.persona.nickname) + 24 if selfie else 0)
    if style is not None:
        reserved += len(style.prefix) + len(style.suffix) + 4
    body = cap_length(body, max(options.max_prompt_chars - reserved, options.max_prompt_chars // 2))
    prompt = apply_selfie(body, job.persona.nickname, appearance) if selfie else body
    if selfie and appearance_needs_translation(appearance, options.prompt_languages):
        notes.append("selfie appearance contains Chinese but the backend reads English; write it in English")
    if not prompt:
        raise PromptRefused("nothing to draw: empty request and no usable LLM answer", user_message=NOTHING_TO_DRAW)
    if style is not None and prompt:
        prompt = _with_style(prompt, style)
    prompt = _append_custom(prompt, options.custom_prompt_add)
    _check_safety(prompt, options, "prompt", log)
    aspect = _pick_aspect(explicit, words, style, answer.aspect, selfie, options)
    sized = words is not None and words.width is not None and aspect == words.aspect

    return ImagePrompt(
        prompt=prompt,
        negative_prompt=cap_length(
            normalize_join(options.negative_prompt, style.negative_prompt if style else "", answer.negative_prompt),
            options.max_prompt_chars,
        ),
        aspect=aspect,
        selfie=selfie,
        style=answer.style,
        reference_image=options.selfie.reference_image if selfie else "",
        source=source,
        notes=tuple(notes),
        width=words.width if sized else None,
        height=words.height if sized else None,
        preset=style.name if style else "",
        backend=style.backend if style else "",
        inputs=dict(style.inputs) if style else {},
        count=named_count or answer.count or 1,
    )


def requested_count(job: PromptInput) -> Optional[int]:
    """The images a job names itself: its explicit count (a flag, the tool's argument), else its words."""
    if job.count is not None:
        return max(1, int(job.count))
    return count_from_words(job.request_text)


async def _ask_llm(
    job: PromptInput, options: PromptOptions, llm: ChatLLM, selfie: bool, log: logging.Logger, notes: list[str],
    count: Optional[int] = None,
) -> ParsedAnswer:
    now = time.time() if job.now is None else job.now
    history = select_history(
        job.history,
        now=now,
        limit=options.history_limit,
        minutes=options.history_minutes,
        max_chars=options.history_max_chars,
    )
    messages = build_messages(
        request_text=job.request_text,
        history=history,
        persona=job.persona,
        selfie=selfie,
        appearance=options.selfie.appearance,
        aspect=job.aspect,
        style=job.style,
        system_prompt=options.system_prompt,
        now=now,
        count=count,
        references=len(job.references),
    )
    text = await _call(llm, messages, options.llm_timeout, log, notes, "prompt")
    if text is None:
        return ParsedAnswer()
    answer = parse_answer(text, options.max_prompt_chars)
    # JSON escapes in the answer can decode to lone surrogates (an emoji cut off by max_tokens)
    return dataclasses.replace(answer, prompt=clean_text(answer.prompt),
                               negative_prompt=clean_text(answer.negative_prompt), style=clean_text(answer.style),
                               aspect=clean_text(answer.aspect), refusal_reason=clean_text(answer.refusal_reason))


async def _translate(
    body: str, options: PromptOptions, llm: Optional[ChatLLM], log: logging.Logger, notes: list[str]
) -> str:
    """One more LLM call to turn a Chinese (or mixed) prompt into English; the original on failure.

    CJK spans are never deleted: a mixed prompt is better than one whose subject vanished.
    """
    text = await _call(llm, build_translation_messages(body), options.llm_timeout, log, notes, "translation")
    translated = clean_text(parse_answer(text, options.max_prompt_chars).prompt) if text is not None else ""
    if translated and not has_cjk(translated):
        notes.append("translated the LLM's Chinese prompt to English")
        return translated
    log.warning("prompt still contains Chinese after one translation attempt; keeping it as is")
    notes.append("prompt kept with Chinese: translation failed")
    return body


def _cleaned(job: PromptInput) -> PromptInput:
    """The job's text made safe for every encoder, once, before anything uses it (see clean_text)."""
    history = tuple(dataclasses.replace(m, speaker=clean_text(m.speaker), text=clean_text(m.text)) for m in job.history)
    persona = dataclasses.replace(job.persona, nickname=clean_text(job.persona.nickname),
                                  personality=clean_text(job.persona.personality))
    aspect = clean_text(job.aspect) if job.aspect is not None else None
    return dataclasses.replace(job, request_text=clean_text(job.request_text), history=history, persona=persona,
                               aspect=aspect)


async def _call(
    llm: Optional[ChatLLM],
    messages: list[dict[str, str]],
    timeout: float,
    log: logging.Logger,
    notes: list[str],
    purpose: str,
) -> Optional[str]:
    if llm is None:
        return None
    try:
        answer = clean_text(await asyncio.wait_for(llm(messages), timeout) or "")
        # An LLM that echoes its own key (or any token) must not put it into the image prompt,
        # which is printed, logged and sent to another host.
        # Key-echo phrases are not masked here: "a secret: hidden door" is a picture, not an error text.
        return redact(answer, getattr(llm, "secrets", ()), key_echoes=False)
    except asyncio.TimeoutError:
        log.warning("%s LLM timed out after %.0f s; falling back", purpose, timeout)
        notes.append(f"{purpose} LLM timed out")
    except Exception as exc:  # noqa: BLE001 - any LLM failure must still end in a drawing
        log.warning("%s LLM failed (%s: %s); falling back", purpose, type(exc).__name__, redact(exc))
        notes.append(f"{purpose} LLM failed: {type(exc).__name__}")
    return None


def _check_safety(text: str, options: PromptOptions, what: str, log: logging.Logger) -> None:
    if not options.safety.enabled:
        return
    word = find_forbidden(text, options.safety.forbidden_words, options.safety.match_mode)
    if word is not None:
        log.info("drawing refused: forbidden word %r in the %s", word, what)
        raise PromptRefused(f"forbidden word {word!r} in the {what}", user_message=options.safety.refusal_message)


def _append_custom(prompt: str, addition: str) -> str:
    addition = addition.strip().lstrip(",，").strip()
    if not addition or addition.lower() in prompt.lower():
        return prompt
    return f"{prompt}, {addition}" if prompt else addition


def _with_style(prompt: str, style: Style) -> str:
    """The preset's prefix before and suffix after the prompt, each left out when the prompt already has it."""
    prefix = style.prefix.strip().rstrip(",，").strip()
    suffix = style.suffix.strip().lstrip(",，").strip()
    if prefix and prefix.lower() not in prompt.lower():
        prompt = f"{prefix}, {prompt}"
    if suffix and suffix.lower() not in prompt.lower():
        prompt = f"{prompt}, {suffix}"
    return prompt


def _valid_aspect(text: Optional[str]) -> Optional[str]:
    """`text` as an aspect when it parses ("16:9", "1.5"); None otherwise."""
    if not text or not text.strip():
        return None
    try:
        return normalize_aspect(text)
    except ValueError:
        return None


def _pick_aspect(explicit: Optional[str], words: Optional[WordAspect], style: Optional[Style], answered: str,
                 selfie: bool, options: PromptOptions) -> str:
    """Explicit request > the request's words > the style preset > selfie portrait default > the LLM's
    choice > the configured default."""
    for chosen in (explicit, words.aspect if words else None, _valid_aspect(style.aspect if style else None)):
        if chosen:
            return chosen
    for candidate in (options.selfie.aspect if selfie else None, answered):
        if named_aspect(candidate):
            return named_aspect(candidate)
    return options.default_aspect
