"""A classic MaiBot_LLM2pic config rendered as the TOML text of this plugin's config: what
`python -m llm2pic migrate FILE` prints and what the MaiBot front end writes when it adopts a classic file."""

from __future__ import annotations

from typing import Any, Mapping

import tomli_w

from . import legacy
from .load import load_config_data



def render_migrated(raw: Mapping[str, Any], source: str) -> tuple[str, list[str]]:
    """A classic config as the TOML text of this plugin's config, and the migration notes.

    Raises ConfigError when the result would not be a valid config.
    """
    load_config_data(raw)  # validates the migrated form; errors name the classic keys
    new, notes = legacy.migrate(raw)
    header = [f"# Migrated from a classic MaiBot_LLM2pic config by {source}.",
              "# See config.example.toml for every option."]
    header += [f"# note: {note}" for note in notes]
    return "\n".join(header) + "\n\n" + tomli_w.dumps(new), notes
