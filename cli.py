"""Command line front end: `python -m llm2pic draw | doctor | migrate`.

Exit codes: 0 success, 2 configuration error, 3 every backend failed. Reasons go to stderr in one line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import httpx
import tomli_w

from .backends.base import Backend, BackendError, GenerationRequest, ProgressEvent, parse_aspect
from .backends.chain import generate_with_fallback
from .backends.registry import build_backend, make_client
from .config.legacy import is_legacy, migrate
from .config.load import ConfigError, load_config, load_config_data
from .config.model import Config
from .prompt.chatfile import parse_chat_text
from .prompt.engine import make_image_prompt
from .prompt.openai_chat import chat_llm_from_config
from .prompt.options import options_from_config
from .prompt.selfie import read_reference_image
from .prompt.types import ChatMessage, ImagePrompt, Persona, PromptInput, PromptRefused

EXIT_OK, EXIT_CONFIG, EXIT_BACKENDS, EXIT_REFUSED = 0, 2, 3, 4
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llm2pic", description="LLM2Pic: draw pictures for a chat bot")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)

    draw = commands.add_parser("draw", help="draw TEXT and write the image as it would be sent to a chat")
    draw.add_argument("text", help="what to draw")
    draw.add_argument("--config", help="config.toml (default: built-in defaults, the free Z-Image-Turbo Space)")
    draw.add_argument("--out", help="output file (default: llm2pic-<time>.<ext> in the current folder)")
    draw.add_argument("--backend", help="use only the backend with this name")
    draw.add_argument("--no-llm", action="store_true", help="send TEXT to the backend as the prompt, unchanged")
    draw.add_argument("--chat", help="sample conversation, UTF-8, one `name: text` per line, oldest first")
    draw.add_argument("--selfie", action="store_true", help="selfie mode: draw the bot itself ([selfie] appearance)")
    draw.add_argument("--json", action="store_true", help="print one JSON object (prompt, backend, seed, out …)")
    draw.add_argument("--aspect", help="aspect ratio such as 1:1, 16:9, 3:4 (default: [generation] aspect)")
    draw.add_argument("--seed", type=int, help="seed (default: [generation] seed, -1 random)")
    draw.set_defaults(handler=_draw)

    doctor = commands.add_parser("doctor", help="probe each backend and list a Gradio app's endpoints")
    doctor.add_argument("--config", help="config.toml (default: built-in defaults)")
    doctor.set_defaults(handler=_doctor)

    migrate_cmd = commands.add_parser("migrate", help="print a classic MaiBot_LLM2pic config in the new form")
    migrate_cmd.add_argument("old_config", help="the classic config.toml")
    migrate_cmd.set_defaults(handler=_migrate)
    return parser


# --- draw ---------------------------------------------------------------------------------------


def _draw(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    try:
        chosen = _choose_backends(config, args.backend)
        if args.aspect:
            parse_aspect(args.aspect)  # a bad --aspect fails here, clearly
        history = _read_chat(args.chat, config) if args.chat else []
    except ValueError as exc:
        _fail(f"config error: {exc}")
        return EXIT_CONFIG
    try:
        image_prompt, images = asyncio.run(_prompt_and_generate(config, args, chosen, history))
    except PromptRefused as exc:
        _fail(f"refused ({exc.detail}): {exc.user_message}")
        return EXIT_REFUSED
    except BackendError as exc:
        _fail(f"every backend failed; last: {exc}")
        return EXIT_BACKENDS
    image = images[0]
    out = Path(args.out) if args.out else Path(f"llm2pic-{time.strftime('%Y%m%d-%H%M%S')}"
                                               f"{_EXTENSIONS.get(image.mime, '.img')}")
    out.write_bytes(image.data)
    if args.json:
        print(json.dumps({
            "prompt": image_prompt.prompt, "negative_prompt": image_prompt.negative_prompt,
            "aspect": image_prompt.aspect, "selfie": image_prompt.selfie, "style": image_prompt.style,
            "source": image_prompt.source, "notes": list(image_prompt.notes), "backend": image.backend,
            "seed": image.seed, "mime": image.mime, "bytes": len(image.data), "out": str(out),
        }, ensure_ascii=False))
        return EXIT_OK
    print(out)
    print(f"prompt ({image_prompt.source}): {image_prompt.prompt}", file=sys.stderr)
    seed = f", seed {image.seed}" if image.seed is not None else ""
    print(f"{image.backend}: {image.mime}, {len(image.data)} bytes{seed}", file=sys.stderr)
    return EXIT_OK


def _read_chat(path: str, config: Config) -> list[ChatMessage]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read --chat file {path}: {exc}") from None
    return parse_chat_text(text, config.llm.persona_nickname)


def _choose_backends(config: Config, name: Optional[str]) -> list:
    if name:
        matches = [b for b in config.backends if b.name == name]
        if not matches:
            raise ValueError(f"--backend {name!r} is not configured; backends: "
                             f"{', '.join(b.name for b in config.backends)}")
        return matches
    enabled = config.enabled_backends()
    if not enabled:
        raise ValueError("no backend is enabled (set enabled = true on one of [[backends]])")
    return enabled


async def _request(config: Config, args: argparse.Namespace, image_prompt: ImagePrompt) -> GenerationRequest:
    generation = config.generation
    seed = args.seed if args.seed is not None else generation.seed
    references: tuple[bytes, ...] = ()
    if image_prompt.reference_image:
        try:
            references = (await read_reference_image(image_prompt.reference_image),)
        except (OSError, ValueError) as exc:
            logging.getLogger("llm2pic.cli").warning("selfie reference image not used: %s", exc)
    return image_prompt.to_request(
        width=generation.width or None, height=generation.height or None,
        seed=seed if seed is not None and seed >= 0 else None, reference_images=references,
    )


async def _prompt_and_generate(config: Config, args: argparse.Namespace, backend_configs: list,
                               history: list[ChatMessage]):
    async with _backends(backend_configs) as backends:
        languages = frozenset.intersection(*(frozenset(b.prompt_languages) for b in backends))
        job = PromptInput(request_text=args.text, history=history, selfie=args.selfie, aspect=args.aspect,
                          persona=Persona(config.llm.persona_nickname, config.llm.persona_personality))
        async with httpx.AsyncClient() as llm_client:
            llm = None if args.no_llm else chat_llm_from_config(config.llm, llm_client)
            image_prompt = await make_image_prompt(job, options_from_config(config, languages), llm)
        request = await _request(config, args, image_prompt)
        return image_prompt, await generate_with_fallback(backends, request, _print_progress)


@contextlib.asynccontextmanager
async def _backends(backend_configs: list):
    clients = [make_client(c) for c in backend_configs]
    try:
        yield [build_backend(c, client, os.environ) for c, client in zip(backend_configs, clients)]
    finally:
        for client in clients:
            await client.aclose()


def _print_progress(event: ProgressEvent) -> None:
    text = {
        "backend": "working",
        "queued": f"queued at position {event.rank}" + (f", about {event.eta:.0f} s" if event.eta else ""),
        "started": "started",
        "step": f"step {event.step}/{event.total}",
        "log": event.message,
    }.get(event.kind)
    if text:
        print(f"{event.backend}: {text}", file=sys.stderr)


# --- doctor -------------------------------------------------------------------------------------


def _doctor(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    return asyncio.run(_probe_all(config))


async def _probe_all(config: Config) -> int:
    healthy = True
    async with _backends(config.backends) as backends:
        for backend_config, backend in zip(config.backends, backends):
            report = await _probe(backend)
            state = "enabled" if backend_config.enabled else "disabled"
            print(f"{report.name} ({backend_config.type}, {state}): {'OK' if report.ok else 'FAIL'} {report.summary}")
            for line in report.lines:
                print(f"  {line}")
            healthy = healthy and (report.ok or not backend_config.enabled)
    return EXIT_OK if healthy else EXIT_BACKENDS


async def _probe(backend: Backend):
    from .backends.base import BackendReport

    try:
        return await backend.probe()
    except BackendError as exc:
        return BackendReport(backend.name, False, str(exc))


# --- migrate ------------------------------------------------------------------------------------


def _migrate(args: argparse.Namespace) -> int:
    from .config.load import tomllib

    try:
        raw = tomllib.loads(Path(args.old_config).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        _fail(f"cannot read {args.old_config}: {exc}")
        return EXIT_CONFIG
    if not is_legacy(raw):
        _fail(f"{args.old_config} is not a classic MaiBot_LLM2pic config (it has [[backends]] or no classic keys)")
        return EXIT_CONFIG
    new, notes = migrate(raw)
    try:
        load_config_data(new)
    except ConfigError as exc:
        _fail(f"the migrated config is not valid: {exc}")
        return EXIT_CONFIG
    header = ["# Migrated from a classic MaiBot_LLM2pic config by `python -m llm2pic migrate`.",
              "# See config.example.toml for every option."]
    header += [f"# note: {note}" for note in notes]
    sys.stdout.write("\n".join(header) + "\n\n" + tomli_w.dumps(new))
    return EXIT_OK


# --- shared -------------------------------------------------------------------------------------


def _load(path: Optional[str]) -> Optional[Config]:
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        _fail(str(exc))
        return None
    for warning in loaded.warnings:
        print(f"llm2pic: warning: {warning}", file=sys.stderr)
    return loaded.config


def _fail(message: str) -> None:
    print(f"llm2pic: {message}", file=sys.stderr)
