"""`python -m llm2pic space deploy | status | quota`: your own Hugging Face Space as a backend.

Exit codes: 0 success; 2 the user must act (token, payment, name, rate limit, config); 3 the Space
did not come up or does not answer. The token comes from an environment variable only, and never
appears in what these commands print. One line at the end, always.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Optional

from .common import EXIT_OK, fail
from ...config.secrets import secret_from
from ...reasons import one_line
from ...redaction import redact

EXIT_USER_MUST_ACT, EXIT_SPACE_DOWN = 2, 3
HARDWARE_HINT = "zero-a10g (default: ZeroGPU, free within its rules) | cpu-basic | cpu-upgrade | t4-small | …"


def add_space_commands(commands) -> None:
    space = commands.add_parser("space", help="deploy and check your own Hugging Face Space backend")
    space_commands = space.add_subparsers(dest="space_command", required=True)

    deploy = space_commands.add_parser(
        "deploy", help="create or update the Space NAME with the LLM2Pic app and add it to the config",
        description="The token comes from HF_TOKEN (or --token-env), never from the command line.")
    deploy.add_argument("name", metavar="NAME", help="Space name, or owner/name")
    deploy.add_argument("--model", help="MODEL_ID the app loads (default: stabilityai/sdxl-turbo)")
    deploy.add_argument("--engine", choices=("diffusers", "inference"), default="diffusers",
                        help="diffusers: the model runs in the Space; inference: the Space calls the Inference API "
                             "with your token (stored as a Space secret)")
    deploy.add_argument("--hardware", default="zero-a10g", help=HARDWARE_HINT)
    deploy.add_argument("--private", action="store_true", help="make the Space private (calls then need the token)")
    deploy.add_argument("--config", default="config.toml", help="config file to update (default: ./config.toml)")
    deploy.add_argument("--wait", type=float, default=900.0, metavar="SECONDS",
                        help="how long to wait for the Space to run (default 900)")
    deploy.add_argument("--token-env", default="HF_TOKEN", metavar="VAR", help="variable holding the token")
    deploy.add_argument("--position", choices=("first", "last"),
                        help="where the backend goes in the chain (default: first; an existing entry stays put)")
    deploy.add_argument("--poll-interval", type=float, default=5.0, help=argparse.SUPPRESS)
    deploy.set_defaults(handler=_deploy)

    status = space_commands.add_parser("status", help="stage, hardware, URL of the Space NAME and whether it answers")
    status.add_argument("name", metavar="NAME", help="Space name, owner/name, or a backend name from the config")
    status.add_argument("--config", help="config file to look NAME up in")
    status.add_argument("--token-env", default="HF_TOKEN", metavar="VAR", help="variable holding the token")
    status.set_defaults(handler=_status)

    quota = space_commands.add_parser("quota", help="ZeroGPU seconds left for your token and when they reset")
    quota.add_argument("--token-env", default="HF_TOKEN", metavar="VAR", help="variable holding the token")
    quota.set_defaults(handler=_quota)


def _token(var: str) -> str:
    return secret_from("", var, os.environ)  # never from the command line: only the variable it names


def _hub_missing() -> Optional[str]:
    """Why the Hub client cannot be used (not installed, or older than 2.x), else None."""
    try:
        import huggingface_hub
    except ImportError:
        return "the space commands need huggingface_hub 2.x: pip install 'huggingface_hub>=2.4,<3' tomlkit"
    if int(str(huggingface_hub.__version__).split(".")[0] or 0) < 2:
        return (f"the space commands need huggingface_hub 2.x, found {huggingface_hub.__version__}: "
                "pip install 'huggingface_hub>=2.4,<3'")
    return None


# --- deploy -------------------------------------------------------------------------------------


def _deploy(args: argparse.Namespace, app_folder: Optional[Path] = None) -> int:
    missing = _hub_missing()
    if missing:
        fail(missing)
        return EXIT_USER_MUST_ACT
    from ...hub.deploy import DEFAULT_MODEL, DeployOptions, deploy
    from ...hub.errors import DeployFailed

    token = _token(args.token_env)
    if not token:
        fail(f"no token in {args.token_env}: create one with write access at https://huggingface.co/settings/tokens "
             f"and export {args.token_env}=… (it is never taken from the command line)")
        return EXIT_USER_MUST_ACT
    if args.wait <= 0 or args.poll_interval <= 0:
        fail("--wait must be a positive number of seconds")
        return EXIT_USER_MUST_ACT
    options = DeployOptions(name=args.name, model=args.model or DEFAULT_MODEL, engine=args.engine,
                            hardware=args.hardware, private=args.private, config=Path(args.config), wait=args.wait,
                            token_env=args.token_env, position=args.position, poll_interval=args.poll_interval,
                            app_folder=app_folder)
    try:
        done = deploy(options, token, lambda line: print(_said(line, token), flush=True))
    except DeployFailed as exc:
        for line in exc.log_tail:
            print(f"  {_said(line, token)}", file=sys.stderr)
        fail(_said(exc.message, token))
        return exc.exit_code
    except KeyboardInterrupt:
        fail("interrupted; the Space may still be building: see `python -m llm2pic space status`")
        return EXIT_SPACE_DOWN
    except Exception as exc:  # an answer nobody expected: still one clear, redacted line
        fail(_said(f"deploy failed unexpectedly: {type(exc).__name__}: {exc}", token))
        return EXIT_SPACE_DOWN
    where = "first" if done.index == 0 else ("last" if done.index == done.total - 1 else f"number {done.index + 1}")
    print(f"llm2pic: {done.repo_id} is running ({done.url}); backend \"{done.backend_name}\" "
          f"{'added to' if done.created else 'updated in'} {args.config}, {where} of {done.total} in the chain")
    return EXIT_OK


# --- status -------------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    def ask(token: str) -> tuple[list[str], bool]:
        from ...hub.status import space_status

        return space_status(args.name, token, Path(args.config) if args.config else None)

    return _report("status", args.token_env, ask)


# --- quota --------------------------------------------------------------------------------------


def _quota(args: argparse.Namespace) -> int:
    def ask(token: str) -> tuple[list[str], bool]:
        from ...hub.status import zero_gpu_quota_line

        return [zero_gpu_quota_line(token, args.token_env)], True

    return _report("quota", args.token_env, ask)


def _report(what: str, token_env: str, ask: Callable[[str], tuple[list[str], bool]]) -> int:
    """A read-only Hub command (status, quota): its lines printed, its failure one redacted line."""
    missing = _hub_missing()
    if missing:
        fail(missing)
        return EXIT_USER_MUST_ACT
    from ...hub.errors import DeployFailed

    token = _token(token_env)
    try:
        lines, ok = ask(token)
    except DeployFailed as exc:
        fail(_said(exc.message, token))
        return exc.exit_code
    except Exception as exc:
        fail(_said(f"{what} failed unexpectedly: {type(exc).__name__}: {exc}", token))
        return EXIT_SPACE_DOWN
    for line in lines:
        print(_said(line, token))
    return EXIT_OK if ok else EXIT_SPACE_DOWN


def _said(text: object, token: str) -> str:
    """What the Hub or a Space said, fit to print: the token masked, one bounded line (its indent kept)."""
    text = redact(text, [token])
    return text[:len(text) - len(text.lstrip(" "))] + one_line(text)
