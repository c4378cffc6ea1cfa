"""PromptOptions from the loaded config. Duck-typed on purpose: prompt/ does not import the
config package, so any object with the same attributes (a test double, a future schema) works."""

from __future__ import annotations

from typing import Any, Iterable

from .types import PromptOptions, SafetyOptions, SelfieOptions


def options_from_config(config: Any, prompt_languages: Iterable[str] = ("en",)) -> PromptOptions:
    """`config` is the root Config (sections llm, selfie, safety, generation).

    prompt_languages: what the image backend that will draw understands (Backend.prompt_languages);
    when it includes "zh" a Chinese prompt is not translated.
    """
    llm, selfie, safety, generation = config.llm, config.selfie, config.safety, config.generation
    return PromptOptions(
        system_prompt=llm.system_prompt,
        custom_prompt_add=generation.custom_prompt_add,
        negative_prompt=generation.negative_prompt,
        default_aspect=generation.aspect,
        history_limit=llm.context_message_limit,
        history_minutes=llm.context_time_minutes,
        history_max_chars=llm.context_max_chars,
        max_prompt_chars=llm.max_prompt_chars,
        llm_timeout=llm.timeout,
        on_refusal=llm.on_refusal,
        prompt_languages=frozenset(prompt_languages),
        selfie=SelfieOptions(
            appearance=selfie.appearance,
            reference_image=selfie.reference_image,
            aspect=selfie.aspect,
            trigger_words=tuple(selfie.trigger_words),
        ),
        safety=SafetyOptions(
            enabled=safety.enabled,
            forbidden_words=tuple(safety.forbidden_words),
            match_mode=safety.match_mode,
            refusal_message=safety.refusal_message,
        ),
    )
