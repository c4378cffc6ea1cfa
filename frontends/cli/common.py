"""What the CLI commands share: exit codes and config loading with warnings."""

from __future__ import annotations

import re
import sys
from typing import Optional

from ...config.load import ConfigError, load_config
from ...config.model import Config

EXIT_OK, EXIT_CONFIG, EXIT_BACKENDS, EXIT_REFUSED = 0, 2, 3, 4


def load(path: Optional[str]) -> Optional[Config]:
    """The config, or None after printing the one-line error; warnings go to stderr."""
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        fail(str(exc))
        return None
    for warning in loaded.warnings:
        print(f"llm2pic: warning: {warning}", file=sys.stderr)
    return loaded.config


def fail(message: str) -> None:
    print(f"llm2pic: {message}", file=sys.stderr)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text for the terminal: control characters a server may send (ANSI escapes, bells, carriage
    returns that overwrite a line) shown as `?`, so what is printed is what was received."""
    return _CONTROL.sub("?", text)
