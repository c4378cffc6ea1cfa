"""`python -m llm2pic space deploy NAME`: check the token, create or update the Space, upload the app,
set its variables (and, for the inference engine, the token as a secret), wait until it runs, check that
its API answers, then add or update its `[[backends]]` entry in the config.

Everything goes through huggingface_hub (2.x), imported here only, so the plugin never pays for it.
The token comes from an environment variable; every text shown passes through `redact` with it.
"""

from __future__ import annotations

import collections
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..config.load import ConfigError
from ..redaction import redact
from .app_folder import check_app_folder, installed_app_folder, stage_app
from .config_edit import add_or_update_backend, check_config_file
from .errors import EXIT_SPACE_DOWN, EXIT_USER_MUST_ACT, DeployFailed, hub_error, status_of
from .hub_client import hub_api, hub_errors
from .probe import pick_api_name, probe_until

DEFAULT_MODEL = "stabilityai/sdxl-turbo"
LOG_TAIL_LINES = 20
_LOG_LINE_CHARS = 500
_LOG_LINES_READ = 20000  # a log stream is read at most this far (the tail is what matters)
INTERMEDIATE = {"BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING"}


@dataclass
class DeployOptions:
    name: str
    model: str = DEFAULT_MODEL
    engine: str = "diffusers"
    hardware: str = "zero-a10g"
    private: bool = False
    config: Path = Path("config.toml")
    wait: float = 900.0
    token_env: str = "HF_TOKEN"
    position: Optional[str] = None  # None: a new entry goes first, an existing one stays where it is
    poll_interval: float = 5.0
    app_folder: Optional[Path] = None  # internal: the tests deploy a small fixture app


@dataclass(frozen=True)
class Deployed:
    repo_id: str
    url: str
    backend_name: str
    index: int
    total: int
    created: bool


def deploy(options: DeployOptions, token: str, say: Callable[[str], None]) -> Deployed:
    """Runs the whole deploy; raises DeployFailed (with its exit code) when it cannot finish."""
    secrets = [token]
    app_folder = options.app_folder or installed_app_folder()
    try:  # before anything is created: the app must be there and the config editable afterwards
        check_app_folder(app_folder)
        check_config_file(options.config)
    except (ConfigError, ValueError) as exc:
        raise DeployFailed(redact(str(exc), secrets), EXIT_USER_MUST_ACT) from None
    api = hub_api(token)
    HUB_ERRORS = hub_errors()

    def failed(error: Exception, step: str) -> DeployFailed:
        return hub_error(error, step, hardware=options.hardware, name=repo_id, secrets=secrets)

    repo_id = options.name
    from huggingface_hub.utils import validate_repo_id

    try:  # before any request: the library would raise this later, as a ValueError nobody expects
        validate_repo_id(options.name if "/" in options.name else f"user/{options.name}")
    except ValueError as exc:
        raise DeployFailed(f"{options.name!r} is not a valid Space name: {exc}", EXIT_USER_MUST_ACT) from None
    try:
        who = api.whoami()
    except HUB_ERRORS as exc:
        raise failed(exc, "checking the token") from None
    user = str(who.get("name") or "")
    check_write_access(who, options.token_env)
    repo_id = options.name if "/" in options.name else f"{user}/{options.name}"
    say(f"deploying {repo_id} as {user} on {options.hardware} ({'private' if options.private else 'public'}), "
        f"model {options.model}, engine {options.engine}")

    variables = {"MODEL_ID": options.model, "ENGINE": options.engine}
    try:
        created = _create_space(api, repo_id, options, variables)
    except HUB_ERRORS as exc:
        raise failed(exc, "creating the Space") from None
    say(("created" if created else "updating existing") + f" Space {repo_id}")
    try:
        if not created:
            for key, value in variables.items():
                api.add_space_variable(repo_id, key, value)
        if options.engine == "inference":
            api.add_space_secret(repo_id, "HF_TOKEN", token,
                                 description="used by the LLM2Pic app to call the Inference API")
        with tempfile.TemporaryDirectory(prefix="llm2pic-space-") as staging:
            try:
                folder = stage_app(app_folder, Path(staging),
                                   hardware=options.hardware, model=options.model)
            except (OSError, ValueError) as exc:
                raise DeployFailed(redact(str(exc), secrets), EXIT_USER_MUST_ACT) from None
            commit = api.upload_folder(repo_id=repo_id, repo_type="space", folder_path=folder,
                                       commit_message="Deploy the LLM2Pic app (python -m llm2pic space deploy)")
    except HUB_ERRORS as exc:
        raise failed(exc, "uploading the app") from None
    except ValueError as exc:  # the Hub refused the README's metadata
        raise DeployFailed(f"the Hub refused the app's README metadata: {redact(str(exc), secrets)[:500]}",
                           EXIT_USER_MUST_ACT) from None
    say(f"uploaded the app (commit {str(getattr(commit, 'oid', '') or '')[:8]})")

    deadline = time.monotonic() + options.wait
    _wait_until_running(api, repo_id, str(getattr(commit, "oid", "") or ""), deadline, options, say, secrets)

    try:
        info = api.space_info(repo_id)
    except HUB_ERRORS as exc:
        raise failed(exc, "reading the Space's address") from None
    host = info.host or (f"https://{info.subdomain}.hf.space" if info.subdomain else "")
    if not host:
        raise DeployFailed(f"{repo_id} is RUNNING but the Hub reports no address for it", EXIT_SPACE_DOWN)
    say(f"checking the app's API at {host}")
    answer = probe_until(host, token if options.private else "", max(deadline, time.monotonic() + 1),
                         min(options.poll_interval, 5.0))
    if not answer.ok:
        raise DeployFailed(f"{repo_id} is RUNNING but its API does not answer at {host}: {answer.summary}",
                           EXIT_SPACE_DOWN, _log_tail(api, repo_id, build=False, secrets=secrets))
    say(f"the app answers: {answer.summary}")

    entry = backend_entry(repo_id, options, pick_api_name(answer.endpoints))
    try:
        placed = add_or_update_backend(options.config, entry, position=options.position)
    except (ConfigError, OSError) as exc:
        raise DeployFailed(f"{repo_id} runs, but the config was not updated: {redact(str(exc), secrets)}",
                           EXIT_USER_MUST_ACT) from None
    return Deployed(repo_id, f"{api.endpoint}/spaces/{repo_id}", placed.name, placed.index, placed.total,
                    placed.created)


def check_write_access(who: dict, token_env: str) -> None:
    """Refuse a read-only token before creating anything (the Hub would answer 403 later)."""
    access = ((who.get("auth") or {}).get("accessToken") or {})
    role = str(access.get("role") or "")
    if role == "read":
        raise DeployFailed(f"the token in {token_env} can only read: create one with write access at "
                           "https://huggingface.co/settings/tokens", EXIT_USER_MUST_ACT)
    if role == "fineGrained":
        scoped = (access.get("fineGrained") or {}).get("scoped") or []
        user = who.get("name")
        writable = any("repo.write" in (scope.get("permissions") or []) and
                       (scope.get("entity") or {}).get("name") == user for scope in scoped if isinstance(scope, dict))
        if not writable:
            raise DeployFailed(f"the fine-grained token in {token_env} cannot write repositories of {user}: give it "
                               "\"Write access to contents/settings of all repos under your personal namespace\"",
                               EXIT_USER_MUST_ACT)


def _create_space(api, repo_id: str, options: DeployOptions, variables: dict[str, str]) -> bool:
    """True when the Space was created, False when it already existed (it is then updated)."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.create_repo(repo_id, repo_type="space", space_sdk="gradio", space_hardware=options.hardware,
                        private=options.private,
                        space_variables=[{"key": k, "value": v} for k, v in variables.items()])
        return True
    except HfHubHTTPError as exc:
        if status_of(exc) != 409:
            raise
        if api.repo_exists(repo_id, repo_type="space"):
            return False
        raise DeployFailed(f"the name {repo_id} is already taken by a repository of another type (a model or a "
                           f"dataset): choose another NAME. Hub said: {str(exc.server_message or '')[:200]}",
                           EXIT_USER_MUST_ACT) from None


def _wait_until_running(api, repo_id: str, commit: str, deadline: float, options: DeployOptions,
                        say: Callable[[str], None], secrets: list[str]) -> None:
    """Poll the runtime with one progress line per stage until RUNNING, or raise DeployFailed (exit 3)."""
    HUB_ERRORS = hub_errors()

    started = time.monotonic()
    last = ""
    while True:
        try:
            runtime = api.get_space_runtime(repo_id)
        except HUB_ERRORS as exc:
            if status_of(exc) and status_of(exc) < 500:
                raise hub_error(exc, "waiting for the Space", hardware=options.hardware, name=repo_id,
                                secrets=secrets) from None
            runtime = None  # a passing Hub hiccup: keep waiting
        stage = str(getattr(runtime, "stage", "") or "") if runtime is not None else last.split(" ")[0]
        running_sha = str((getattr(runtime, "raw", None) or {}).get("sha") or "")
        ours = not (commit and running_sha and running_sha != commit)
        elapsed = time.monotonic() - started
        label = stage if ours or not stage.startswith("RUNNING") else f"{stage} (previous version)"
        if label != last and stage:
            say(f"  {label} ({elapsed:.0f} s)")
            last = label
        if stage == "RUNNING" and ours:
            return
        if stage and stage not in INTERMEDIATE and stage != "RUNNING":
            build = stage in ("BUILD_ERROR", "CONFIG_ERROR", "NO_APP_FILE")
            reason = str((getattr(runtime, "raw", None) or {}).get("errorMessage") or "")
            detail = f": {redact(reason[:300], secrets)}" if reason else ""
            raise DeployFailed(f"{repo_id} did not come up: {stage}{detail}", EXIT_SPACE_DOWN,
                               _log_tail(api, repo_id, build=build, secrets=secrets))
        if time.monotonic() + options.poll_interval > deadline:
            building = stage in ("BUILDING", "RUNNING_BUILDING", "")
            raise DeployFailed(f"{repo_id} did not reach RUNNING within {options.wait:g} s (still {stage or 'unknown'}); "
                               "it may still come up: see `python -m llm2pic space status`", EXIT_SPACE_DOWN,
                               _log_tail(api, repo_id, build=building, secrets=secrets))
        time.sleep(options.poll_interval)


def _log_tail(api, repo_id: str, *, build: bool, secrets: list[str]) -> list[str]:
    """The last lines of the build or run log, redacted and bounded; a note when the log cannot be read."""
    kind = "build" if build else "run"
    tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
    try:
        for count, line in enumerate(api.fetch_space_logs(repo_id, build=build)):
            if count >= _LOG_LINES_READ:
                break
            text = str(line).rstrip("\r\n")
            tail.append(text[:_LOG_LINE_CHARS] + ("…" if len(text) > _LOG_LINE_CHARS else ""))
    except Exception as exc:  # the log is a diagnostic: its failure must not hide the real one
        return [f"({kind} log unavailable: {redact(str(exc)[:200], secrets)})"]
    if not tail:
        return [f"({kind} log is empty)"]
    return [f"{kind} log, last {len(tail)} lines:"] + [redact(line, secrets) for line in tail]


def backend_entry(repo_id: str, options: DeployOptions, api_name: Optional[str]) -> dict:
    """The `[[backends]]` entry for the Space (never the token: only the name of its variable)."""
    entry: dict = {"type": "gradio", "name": repo_id.split("/", 1)[1].lower(), "space": repo_id}
    if options.private:
        entry["hf_token_env"] = options.token_env
    if not options.hardware.startswith("zero"):
        entry["zero_gpu"] = "no"  # a paid GPU or CPU: its failures do not pause the ZeroGPU Spaces
    if api_name:
        entry["api_name"] = api_name
    return entry
