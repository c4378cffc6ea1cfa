"""What NoneBot's own config holds for LLM2Pic (one key), and reading the LLM2Pic config file it names."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, Field

from ...config.load import ConfigError, load_config
from ...config.model import Config

DEFAULT_CONFIG_FILE = "llm2pic.toml"


class PluginConfig(BaseModel):
    """NoneBot config (`.env` or `nonebot.init(...)`): `LLM2PIC_CONFIG=path/to/llm2pic.toml`."""

    llm2pic_config: Path = Field(
        default=Path(DEFAULT_CONFIG_FILE),
        description="LLM2Pic config file (the usual config.toml format); relative to the bot's working directory",
    )


@dataclass(frozen=True)
class ConfigReading:
    """The config to draw with, or None (with the reason in the log) when the file cannot be used."""

    config: Optional[Config]
    path: Path


def read_config(path: Path, log: logging.Logger) -> ConfigReading:
    """A missing file gives the defaults; a broken one gives None and one error line: the bot keeps
    running, LLM2Pic refuses to draw until the file is fixed (a restart reads it again)."""
    where = path.expanduser()
    if not where.exists():
        log.info("no LLM2Pic config at %s: drawing with the defaults (the free Z-Image-Turbo Space); "
                 "copy config.example.toml there to change them, or point LLM2PIC_CONFIG in the bot's .env "
                 "at another file", where.resolve())
        return ConfigReading(load_config(None).config, where)
    try:
        loaded = load_config(where)
    except ConfigError as exc:
        log.error("LLM2Pic config %s is not usable, LLM2Pic will not draw until it is fixed: %s", where, exc)
        return ConfigReading(None, where)
    for warning in loaded.warnings:
        log.warning("LLM2Pic config %s: %s", where, warning)
    if loaded.migrated_from_legacy:
        log.warning("LLM2Pic config %s is in the classic MaiBot_LLM2pic format; read as the new format "
                    "(`python -m llm2pic migrate` writes the converted file)", where)
    return ConfigReading(loaded.config, where)
