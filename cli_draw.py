"""`python -m llm2pic draw`: prompt → backends (the fallback chain) → fit for chat → file."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Optional

import httpx

from .backends.base import BackendError, GeneratedImage, GenerationRequest, ProgressEvent, parse_aspect
from .backends.chain import BackendChain
from .cli_common import EXIT_BACKENDS, EXIT_CONFIG, EXIT_OK, EXIT_REFUSED, fail, load, open_backends
from .config.model import Config
from .imaging.prepare import PreparedImage, prepare_for_chat
from .imaging.workers import ImageWorkers
from .prompt.chatfile import parse_chat_text
from .prompt.engine import make_image_prompt
from .prompt.openai_chat import chat_llm_from_config
from .prompt.options import options_from_config
from .prompt.selfie import read_reference_image
from .prompt.types import ChatMessage, ImagePrompt, Persona, PromptInput, PromptRefused

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}
log = logging.getLogger("llm2pic.cli")


def draw(args: argparse.Namespace) -> int:
    config = load(args.config)
    if config is None:
        return EXIT_CONFIG
    try:
        chosen = _choose_backends(config, args.backend)
        if args.aspect:
            parse_aspect(args.aspect)  # a bad --aspect fails here, clearly
        history = _read_chat(args.chat, config) if args.chat else []
    except ValueError as exc:
        fail(f"config error: {exc}")
        return EXIT_CONFIG
    try:
        image_prompt, image, prepared = asyncio.run(_run(config, args, chosen, history))
    except PromptRefused as exc:
        fail(f"refused ({exc.detail}): {exc.user_message}")
        return EXIT_REFUSED
    except BackendError as exc:
        fail(f"every backend failed; last: {exc}")
        return EXIT_BACKENDS
    out = Path(args.out) if args.out else Path(f"llm2pic-{time.strftime('%Y%m%d-%H%M%S')}"
                                               f"{_EXTENSIONS.get(prepared.mime, '.img')}")
    out.write_bytes(prepared.data)
    if args.json:
        print(json.dumps({
            "prompt": image_prompt.prompt, "negative_prompt": image_prompt.negative_prompt,
            "aspect": image_prompt.aspect, "selfie": image_prompt.selfie, "style": image_prompt.style,
            "source": image_prompt.source, "notes": list(image_prompt.notes) + list(prepared.notes),
            "backend": image.backend, "seed": image.seed, "mime": prepared.mime, "bytes": len(prepared.data),
            "width": prepared.width, "height": prepared.height, "out": str(out),
        }, ensure_ascii=False))
        return EXIT_OK
    print(out)
    print(f"prompt ({image_prompt.source}): {image_prompt.prompt}", file=sys.stderr)
    seed = f", seed {image.seed}" if image.seed is not None else ""
    print(f"{image.backend}: {prepared.mime} {prepared.width}x{prepared.height}, {len(prepared.data)} bytes{seed}",
          file=sys.stderr)
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
            log.warning("selfie reference image not used: %s", exc)
    return image_prompt.to_request(
        width=generation.width or None, height=generation.height or None,
        seed=seed if seed is not None and seed >= 0 else None, reference_images=references,
    )


async def _run(config: Config, args: argparse.Namespace, backend_configs: list,
               history: list[ChatMessage]) -> tuple[ImagePrompt, GeneratedImage, PreparedImage]:
    async with open_backends(backend_configs) as backends:
        languages = frozenset.intersection(*(frozenset(b.prompt_languages) for b in backends))
        job = PromptInput(request_text=args.text, history=history, selfie=args.selfie, aspect=args.aspect,
                          persona=Persona(config.llm.persona_nickname, config.llm.persona_personality))
        async with httpx.AsyncClient() as llm_client:
            llm = None if args.no_llm else chat_llm_from_config(config.llm, llm_client)
            image_prompt = await make_image_prompt(job, options_from_config(config, languages), llm)
        request = await _request(config, args, image_prompt)
        chain = BackendChain(backends, config.chain)
        images = await chain.generate(request, _print_progress, deadline=config.chain.deadline)
    image = images[0]
    prepared = await prepare_for_chat(image.data, config.output, workers=ImageWorkers(), backend=image.backend)
    return image_prompt, image, prepared


def _print_progress(event: ProgressEvent) -> None:
    text = {
        "backend": "working",
        "queued": f"queued at position {event.rank}" + (f", about {event.eta:.0f} s" if event.eta else ""),
        "started": "started",
        "step": f"step {event.step}/{event.total}",
        "log": event.message,
        "retry": f"retrying: {event.message}",
    }.get(event.kind)
    if text:
        print(f"{event.backend}: {text}", file=sys.stderr)
