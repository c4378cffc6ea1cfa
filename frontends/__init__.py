"""Thin adapters from chat hosts (MaiBot, the CLI, NoneBot2, AstrBot) to the host-neutral `drawing` core."""
