"""`python -m llm2pic draw`: prompt → backends (the fallback chain) → fit for chat → file."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from contextlib import asynccontextmanager
from typing import AsyncIterator, Optional, Sequence, Union

from ...backends.base import ProgressEvent
from ...errors import BackendError
from ...aspects import normalize_aspect
from .common import EXIT_BACKENDS, EXIT_CONFIG, EXIT_OK, EXIT_REFUSED, fail, load, printable
from ...config.model import Config
from ...config.secrets import config_secrets
from ...redaction import redact
from ...imaging.workers import ImageWorkers
from ...drawing.engine import Engine
from ...drawing.pipeline import Drawn, run_job
from .chatfile import parse_chat_text
from ...drawing.styles import style_for_request, style_of
from ...prompt.types import ChatLLM, ChatMessage, Persona, PromptInput, Style
from ...errors import PromptRefused, ReferenceImageError

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}


def draw(args: argparse.Namespace) -> int:
    config = load(args.config)
    if config is None:
        return EXIT_CONFIG
    _SECRETS[:] = config_secrets(config, os.environ)
    try:
        chosen = _choose_backends(config, args.backend)
        if args.aspect:
            args.aspect = normalize_aspect(args.aspect)  # a bad --aspect fails here, clearly
        style = _choose_style(config, args)
        history = _read_chat(args.chat, config) if args.chat else []
        count = _count(args.count, config)
        references = [_read_reference(source) for source in args.reference]
    except ValueError as exc:
        fail(f"config error: {exc}")
        return EXIT_CONFIG
    try:
        drawn = asyncio.run(_run(config, args, chosen, history, style, count, references))
    except PromptRefused as exc:
        fail(_safe(f"refused ({exc.detail}): {exc.user_message}"))
        return EXIT_REFUSED
    except ReferenceImageError as exc:  # imaging/reference.py refused a --reference: the user's input
        fail(_safe(f"reference image refused ({exc.reason}): {exc.detail}"))
        return EXIT_CONFIG
    except BackendError as exc:
        fail(_safe(f"every backend failed; last: {exc.backend + ': ' if exc.backend else ''}{exc.detail}"))
        return EXIT_BACKENDS
    image_prompt, image = drawn.image_prompt, drawn.image
    images = [drawn.prepared, *drawn.more]
    outs = output_paths(args.out, len(images), _EXTENSIONS.get(drawn.prepared.mime, ".img"))
    for out, prepared in zip(outs, images):
        out.write_bytes(prepared.data)
    if len(images) < drawn.count:
        fail(f"note: {len(images)} of {drawn.count} images were drawn")
    if args.json:
        prepared = drawn.prepared
        print(json.dumps({
            "prompt": _safe(image_prompt.prompt), "negative_prompt": _safe(image_prompt.negative_prompt),
            "aspect": image_prompt.aspect, "selfie": image_prompt.selfie, "style": image_prompt.style,
            "preset": image_prompt.preset,
            "source": image_prompt.source,
            # notes may quote an app's endpoint names and choices: redacted like every printed line
            "notes": [_safe(str(note)) for note in (*image_prompt.notes, *(image.metadata.get("notes") or ()),
                                                     *prepared.notes)],
            "backend": image.backend, "seed": image.seed, "mime": prepared.mime, "bytes": len(prepared.data),
            "width": prepared.width, "height": prepared.height, "out": str(outs[0]),
            # every image written (the first is the one above); fewer than "count" when the chain ended early
            "count": drawn.count, "references": len(references),
            "images": [{"out": str(out), "mime": each.mime, "bytes": len(each.data), "width": each.width,
                        "height": each.height} for out, each in zip(outs, images)],
        }, ensure_ascii=False))
        return EXIT_OK
    for out in outs:
        print(out)
    print(_safe(f"prompt ({image_prompt.source}): {image_prompt.prompt}"), file=sys.stderr)
    seed = f", seed {image.seed}" if image.seed is not None else ""
    for out, prepared in zip(outs, images):
        print(f"{image.backend}: {prepared.mime} {prepared.width}x{prepared.height}, {len(prepared.data)} bytes"
              f"{seed if prepared is drawn.prepared else ''} -> {out}", file=sys.stderr)
    return EXIT_OK


def output_paths(out: Optional[str], count: int, extension: str) -> list[Path]:
    """OUT for one image; OUT-1, OUT-2, … (the number before the extension: cat.png → cat-1.png) for several.
    Without OUT: llm2pic-<time>.<ext> (-1, -2, … likewise)."""
    path = Path(out) if out else Path(f"llm2pic-{time.strftime('%Y%m%d-%H%M%S')}{extension}")
    if count <= 1:
        return [path]
    return [path.with_name(f"{path.stem}-{number}{path.suffix}") for number in range(1, count + 1)]


def _count(count: Optional[int], config: Config) -> Optional[int]:
    if count is None:
        return None
    cap = config.generation.max_images
    if count < 1:
        raise ValueError(f"--count must be at least 1, not {count}")
    if count > cap:
        fail(f"note: --count {count} is more than [generation] max_images = {cap}; drawing {cap}")
    return min(count, cap)


# A reference file larger than this is not read whole (imaging/reference.py refuses it by its size).
_REFERENCE_READ_LIMIT = 64 * 1024 * 1024


def _read_reference(source: str) -> Union[bytes, str]:
    """A --reference: an http(s) URL as given (downloaded under the safe-download rules), else a file."""
    if source.strip().lower().startswith(("http://", "https://")):
        return source.strip()
    try:
        with open(source, "rb") as handle:
            return handle.read(_REFERENCE_READ_LIMIT + 1)
    except OSError as exc:
        raise ValueError(f"cannot read --reference {source}: {exc.strerror or exc}") from None


def _read_chat(path: str, config: Config) -> list[ChatMessage]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read --chat file {path}: {exc}") from None
    return parse_chat_text(text, config.llm.persona_nickname)


def _choose_style(config: Config, args: argparse.Namespace) -> Optional[Style]:
    """--style NAME (an unknown name is a config error), else the preset TEXT names, else none."""
    if getattr(args, "style", None):
        style = style_of(config, args.style)
        if style is None:
            raise ValueError(f"--style {args.style!r} is not a [styles] preset; presets: "
                             f"{', '.join(config.styles) or '(none configured)'}")
        return style
    return style_for_request(config, args.text)


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


async def _run(config: Config, args: argparse.Namespace, backend_configs: list, history: list[ChatMessage],
               style: Optional[Style] = None, count: Optional[int] = None,
               references: Sequence[Union[bytes, str]] = ()) -> Drawn:
    """The same job MaiBot's runs (one deadline from the start, the prompt LLM included)."""
    engine = Engine(config, backend_configs)
    try:
        job = PromptInput(request_text=args.text, history=history, selfie=args.selfie, aspect=args.aspect,
                          persona=Persona(config.llm.persona_nickname, config.llm.persona_personality), style=style,
                          count=count, references=tuple(references))
        seed = args.seed if args.seed is not None and args.seed >= 0 else None
        async with _prompt_llm(config, args) as llm:
            return await run_job(job, engine, ImageWorkers(), llm=llm, seed=seed, progress=_ProgressLines())
    finally:
        await engine.retire()


@asynccontextmanager
async def _prompt_llm(config: Config, args: argparse.Namespace) -> AsyncIterator[Optional[ChatLLM]]:
    """The [llm] endpoint; its client (and its module) only when an LLM will be asked."""
    if args.no_llm:
        yield None
        return
    from ...drawing.llm_endpoint import endpoint_llm

    async with endpoint_llm(config.llm) as llm:
        if llm is None and (args.chat or args.selfie):
            fail(f"note: {'--chat' if args.chat else '--selfie'} wants the LLM to write the prompt, but no "
                 "[llm] base_url and model are configured; drawing the request text as typed")
        yield llm


class _ProgressLines:
    """Progress on stderr, one line per change: a backend that is retried says "working" once."""

    def __init__(self) -> None:
        self._working: Optional[str] = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "backend":
            if event.backend == self._working:
                return
            self._working = event.backend
        text = {
            "backend": "working",
            "queued": f"queued at position {event.rank}" + (f", about {event.eta:.0f} s" if event.eta else ""),
            "started": "started",
            "step": f"step {event.step}/{event.total}",
            "log": event.message,
            "retry": f"retrying in {event.eta:.0f} s" if event.eta is not None else "retrying",
        }.get(event.kind)
        if text:
            # Progress text comes from servers (an app's log lines): never print a secret it echoes.
            print(_safe(f"{event.backend}: {text}"), file=sys.stderr)


# The secrets of the config in use (set by `draw`); everything printed is redacted with them.
_SECRETS: list[str] = []


def _safe(text: str) -> str:
    return printable(redact(text, _SECRETS))
