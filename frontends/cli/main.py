"""Command line front end: `python -m llm2pic draw | doctor | migrate | space` (space: cli_space.py).

Exit codes: 0 success, 2 configuration error, 3 every backend failed, 4 refused by the safety words.
Progress goes to stderr as it happens; the reason of a failure is the last stderr line, said once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from ...backends.base import Backend, BackendReport
from ...errors import BackendError
from .common import EXIT_BACKENDS, EXIT_CONFIG, EXIT_OK, fail, load, printable
from .draw import _SECRETS, draw
from .space import add_space_commands
from ...config.load import ConfigError, parse_toml
from ...config.model import Config
from ...config.secrets import config_secrets
from ...drawing.engine import Engine
from ...reasons import one_line
from ...redaction import RedactingFilter, redact


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # log text may carry what a server sent: redact it
        handler.addFilter(RedactingFilter(_SECRETS))
    if not args.verbose:
        # Each backend's failure is in the progress lines and the last line; -v logs them again in full.
        logging.getLogger("llm2pic.backends.chain").setLevel(logging.ERROR)
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llm2pic", description="LLM2Pic: draw pictures for a chat bot")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)

    draw_cmd = commands.add_parser("draw", help="draw TEXT and write the image as it would be sent to a chat")
    draw_cmd.add_argument("text", help="what to draw")
    draw_cmd.add_argument("--config", help="config.toml (default: built-in defaults, the free Z-Image-Turbo Space)")
    draw_cmd.add_argument("--out", help="output file (default: llm2pic-<time>.<ext> in the current folder)")
    draw_cmd.add_argument("--backend", help="use only the backend with this name")
    draw_cmd.add_argument("--no-llm", action="store_true", help="send TEXT to the backend as the prompt, unchanged")
    draw_cmd.add_argument("--chat", help="sample conversation, UTF-8, one `name: text` per line, oldest first")
    draw_cmd.add_argument("--selfie", action="store_true", help="selfie mode: draw the bot itself ([selfie] appearance)")
    draw_cmd.add_argument("--json", action="store_true", help="print one JSON object (prompt, backend, seed, out …)")
    draw_cmd.add_argument("--aspect", help="aspect ratio such as 1:1, 16:9, 3:4 (default: [generation] aspect)")
    draw_cmd.add_argument("--style", help="a [styles] preset by name (default: the one TEXT names, e.g. 用水彩风格画…)")
    draw_cmd.add_argument("--seed", type=int, help="seed (default: [generation] seed, -1 random)")
    draw_cmd.add_argument("-n", "--count", type=int, metavar="N",
                          help="draw N images (at most [generation] max_images); they are written to OUT-1, OUT-2, …")
    draw_cmd.add_argument("--reference", action="append", default=[], metavar="FILE",
                          help="an image to draw from (image-to-image, edits); repeat for several; "
                               "an http(s) URL is downloaded under the safe-download rules")
    draw_cmd.set_defaults(handler=draw)

    doctor = commands.add_parser("doctor", help="probe each backend and list a Gradio app's endpoints")
    doctor.add_argument("--config", help="config.toml (default: built-in defaults)")
    doctor.set_defaults(handler=_doctor)

    migrate_cmd = commands.add_parser("migrate", help="print a classic MaiBot_LLM2pic config in the new form")
    migrate_cmd.add_argument("old_config", help="the classic config.toml")
    migrate_cmd.set_defaults(handler=_migrate)
    add_space_commands(commands)
    return parser


# --- doctor -------------------------------------------------------------------------------------


def _doctor(args: argparse.Namespace) -> int:
    config = load(args.config)
    if config is None:
        return EXIT_CONFIG
    _SECRETS[:] = config_secrets(config, os.environ)
    return asyncio.run(_probe_all(config))


async def _probe_all(config: Config) -> int:
    healthy = True
    engine = Engine(config, config.backends)  # every backend, the disabled ones too
    try:
        for backend_config, backend in zip(config.backends, engine.backends):
            report = await _probe(backend)
            state = "enabled" if backend_config.enabled else "disabled"
            # Everything shown may come from the app (defaults, labels, errors) or hold a secret
            # (a URL with user:password@, a key pasted into *_env): one line, redacted and capped.
            print(_shown(f"{report.name} ({backend_config.type}, {state}): {'OK' if report.ok else 'FAIL'} "
                         f"{one_line(report.summary)}"))
            for line in report.lines:
                print(_shown(f"  {line}"))
            healthy = healthy and (report.ok or not backend_config.enabled)
        from ...hub.zero_gpu_report import doctor_lines

        enabled = [b for c, b in zip(config.backends, engine.backends) if c.enabled]
        for line in await doctor_lines(enabled):
            print(_shown(line))
    finally:
        await engine.retire()
    return EXIT_OK if healthy else EXIT_BACKENDS


def _shown(line: str, limit: int = 400) -> str:
    line = printable(redact(line, _SECRETS))
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def _probe(backend: Backend) -> BackendReport:
    try:
        return await backend.probe()
    except BackendError as exc:
        return BackendReport(backend.name, False, str(exc))
    except Exception as exc:  # noqa: BLE001 - one backend's unexpected failure must not stop doctor
        return BackendReport(backend.name, False, f"probe failed unexpectedly: {type(exc).__name__}: {str(exc)[:300]}")


# --- migrate ------------------------------------------------------------------------------------


def _migrate(args: argparse.Namespace) -> int:
    from ...config.legacy import is_legacy  # here: draw and doctor never need the migration code
    from ...config.migration import render_migrated

    try:
        raw = parse_toml(Path(args.old_config).read_text(encoding="utf-8"), args.old_config)
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        fail(f"cannot read {args.old_config}: {exc}")
        return EXIT_CONFIG
    if not is_legacy(raw):
        fail(f"{args.old_config} is not a classic MaiBot_LLM2pic config (it has [[backends]] or no classic keys)")
        return EXIT_CONFIG
    try:
        text, _ = render_migrated(raw, "`python -m llm2pic migrate`")
    except ConfigError as exc:
        fail(f"the migrated config is not valid: {exc}")
        return EXIT_CONFIG
    sys.stdout.write(text)
    return EXIT_OK
