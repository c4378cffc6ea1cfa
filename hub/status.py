"""`space status NAME` and `space quota`, through huggingface_hub."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from ..config.load import ConfigError, load_config
from ..reasons import one_line
from .errors import EXIT_SPACE_DOWN, EXIT_USER_MUST_ACT, DeployFailed, hub_error, status_of
from .hub_client import hub_api, hub_errors
from .probe import probe_until
from .zero_gpu_quota import ZeroGpuQuota, bounded_seconds


def resolve_space(name: str, config_path: Optional[Path], api) -> str:
    """owner/name from NAME: as given, a backend of the config (by name or Space name), or the token's user."""
    if "/" in name:
        return name
    if config_path is not None:
        try:
            config = load_config(config_path).config
        except ConfigError as exc:
            raise DeployFailed(str(exc), EXIT_USER_MUST_ACT) from None
        for backend in config.backends:
            space = getattr(backend, "space", "")
            if space and (backend.name == name or space.split("/", 1)[1].lower() == name.lower()):
                return space
    if api.token:
        HUB_ERRORS = hub_errors()

        try:
            return f"{api.whoami()['name']}/{name}"
        except (*HUB_ERRORS, KeyError) as exc:
            raise hub_error(exc, "checking the token", hardware="", name=name, secrets=[str(api.token)]) from None
    raise DeployFailed(f"{name} is not owner/name, not a backend in the config, and no token says whose it is",
                       EXIT_USER_MUST_ACT)


def space_status(name: str, token: str, config_path: Optional[Path]) -> tuple[list[str], bool]:
    """Lines to print, and whether the Space runs and answers."""
    HUB_ERRORS = hub_errors()

    api = hub_api(token)
    repo_id = resolve_space(name, config_path, api)
    try:
        info = api.space_info(repo_id)
        runtime = info.runtime or api.get_space_runtime(repo_id)
    except HUB_ERRORS as exc:
        if status_of(exc) in (401, 404):
            raise DeployFailed(f"{repo_id}: no such Space, or it is private and the token cannot see it",
                               EXIT_USER_MUST_ACT) from None
        raise hub_error(exc, "reading the Space", hardware="", name=repo_id, secrets=[token]) from None
    # Every value below is the Hub's text: one printable line each, bounded.
    stage = one_line(getattr(runtime, "stage", "") or "unknown", 100)
    hardware = one_line(getattr(runtime, "hardware", None) or "unknown", 100)
    requested = one_line(getattr(runtime, "requested_hardware", None) or "", 100)
    host = one_line(info.host or (f"https://{info.subdomain}.hf.space" if info.subdomain else ""), 300)
    lines = [f"{repo_id}: {stage}",
             f"  hardware: {hardware}" + (f" (requested {requested})" if requested and requested != hardware else ""),
             f"  page: {api.endpoint}/spaces/{repo_id}" + (" (private)" if info.private else ""),
             f"  app: {host or 'no address reported'}"]
    ok = False
    if stage == "RUNNING" and host:
        import time

        answer = probe_until(host, token if info.private else "", time.monotonic() + 20, 5.0)
        lines.append(f"  API: {'answers' if answer.ok else 'does not answer'}: {one_line(answer.summary, 600)}")
        ok = answer.ok
    else:
        lines.append("  API: not checked (the Space is not RUNNING)")
    return lines, ok


def zero_gpu_quota_line(token: str, token_env: str) -> str:
    """The ZeroGPU seconds left and the reset time, through huggingface_hub's `get_zero_gpu_quota`."""
    if not token:
        raise DeployFailed(f"cannot tell: no token in {token_env}. The Hub reports the quota of a token only; "
                           "calls without one share a small per-IP quota", EXIT_USER_MUST_ACT)
    HUB_ERRORS = hub_errors()

    api = hub_api(token)
    try:
        quota = api.get_zero_gpu_quota()
    except HUB_ERRORS as exc:
        if status_of(exc) == 401:
            raise DeployFailed(f"cannot tell: the Hub refused the token in {token_env} (401): it is invalid, or a "
                               "fine-grained token without \"Read billing usage\"", EXIT_USER_MUST_ACT) from None
        raise hub_error(exc, "reading the ZeroGPU quota", hardware="", name="", secrets=[token]) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DeployFailed(f"cannot tell: the Hub's quota answer is unreadable ({type(exc).__name__})",
                           EXIT_SPACE_DOWN) from None
    remaining, base = bounded_seconds(getattr(quota, "remaining", None)), bounded_seconds(getattr(quota, "base", None))
    resets_at = getattr(quota, "resets_at", None)
    if remaining is None or base is None or not (resets_at is None or isinstance(resets_at, datetime)):
        raise DeployFailed("cannot tell: the Hub's quota answer is unreadable", EXIT_SPACE_DOWN)
    if resets_at is not None and resets_at.tzinfo is None:
        resets_at = resets_at.replace(tzinfo=timezone.utc)
    return ZeroGpuQuota(remaining, base, resets_at).describe()
