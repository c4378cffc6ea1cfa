"""Style presets at work: a preset by name or alias, the style a request names, and the style a job
draws with (the one the request names beats the chat's)."""

from __future__ import annotations

import logging
from typing import Optional

from ..config.model import Config
from ..prompt.style_words import style_named_in
from ..prompt.types import Style

log = logging.getLogger(__name__)


def preset_name(config: Config, name: str) -> Optional[str]:
    """The preset `name` spells (its own name or an alias, any case); None when there is none."""
    wanted = name.strip().lower()
    for preset, settings in config.styles.items():
        if wanted == preset.lower() or wanted in (alias.lower() for alias in settings.aliases):
            return preset
    return None


def style_of(config: Config, name: str) -> Optional[Style]:
    """The preset called `name` (or an alias) as the prompt engine takes it; None when it is not configured."""
    found = preset_name(config, name) if name else None
    if found is None:
        return None
    preset = config.styles[found]
    if preset.backend and preset.backend not in {b.name for b in config.enabled_backends()}:
        log.warning("style %r prefers backend %r, which is not an enabled backend; the chain's order is used",
                    found, preset.backend)
    return Style(name=found, prefix=preset.prefix, suffix=preset.suffix, negative_prompt=preset.negative_prompt,
                 aspect=preset.aspect, backend=preset.backend, inputs=dict(preset.inputs),
                 description=preset.description)


def style_for_request(config: Config, text: str, chat_style: str = "") -> Optional[Style]:
    """The style a job draws with: the preset the request names ("用水彩风格画…"), else the chat's."""
    if not config.styles:
        return None
    spellings = [name for name, preset in config.styles.items() for name in (name, *preset.aliases)]
    named = style_named_in(text, spellings)
    return style_of(config, named) if named else style_of(config, chat_style)
