"""LLM2Pic behind a real LiteLLM proxy (1.108, no database) in front of a loopback image API.

tests/litellm_env/run_cases.py starts both (inside `unshare --net --pid` when that works: only
loopback exists), drives the OpenAI backend, the chain and the CLI through the proxy once, and
prints what LiteLLM answered and what LLM2Pic made of it; this file judges it. The LiteLLM
virtualenv is built and cached by tests/litellm_env/build.sh (.ci/run calls it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llm2pic.reasons import REASON_LIMIT

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "tests" / "litellm_env"
LITELLM_ENV = Path(os.environ.get("LLM2PIC_LITELLM_ENV")
                   or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llm2pic" / "litellm")
sys.path.insert(0, str(HARNESS))
from run_cases import MASTER_KEY, PLAIN_UPSTREAM_KEY, SHAPED_UPSTREAM_KEY  # noqa: E402

SECRETS = (MASTER_KEY, PLAIN_UPSTREAM_KEY, SHAPED_UPSTREAM_KEY)
EXIT_BACKENDS = 3


def litellm_python() -> Path:
    python = LITELLM_ENV / "bin" / "python"
    wanted = hashlib.sha256((HARNESS / "requirements.txt").read_bytes()).hexdigest()
    stamp = LITELLM_ENV / ".requirements-sha256"
    problem = ""
    if not python.exists():
        problem = f"no LiteLLM env at {LITELLM_ENV}"
    elif not stamp.exists() or stamp.read_text().strip() != wanted:
        problem = f"the LiteLLM env at {LITELLM_ENV} was built from another tests/litellm_env/requirements.txt"
    if problem:
        message = f"{problem}: run tests/litellm_env/build.sh"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return python


def netns_prefix() -> list[str]:
    command = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--"]
    if not shutil.which("unshare") or not shutil.which("ip"):
        return []
    try:
        probe = subprocess.run([*command, "ip", "link", "set", "lo", "up"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return command if probe.returncode == 0 else []


@pytest.fixture(scope="module")
def relay():
    python = litellm_python()
    prefix = netns_prefix()
    command = [*prefix, sys.executable, str(HARNESS / "run_cases.py"), "--litellm", str(python)]
    if prefix:
        command.append("--netns")
    done = subprocess.run(command, capture_output=True, text=True, timeout=540, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, f"{result['error']}\n{result.get('proxy_log_tail', '')}"
    print(f"litellm relay: network namespace {'on' if prefix else 'off (unshare not allowed here)'}; "
          f"proxy ready in {result['ready_seconds']} s")
    return result


def case(relay, name):
    return relay["cases"][name]


def statuses(found):
    return [answer["status"] for answer in found["answers"]]


def llm2pic_text(found) -> list[str]:
    """Everything LLM2Pic itself wrote for a case: reasons, log lines, status lines."""
    return [draw.get("reason", "") for draw in found["draws"]] + found["log"] + found["status"]


def test_nothing_left_loopback(relay):
    # In the namespace only lo exists; without it, the proxy's sockets were read after every case.
    assert relay["foreign_connections"] == []


@pytest.mark.parametrize("name", ["images route", "chat route", "unsupported parameter",
                                  "upstream 401, key-shaped key", "upstream 401, plain key", "unknown model",
                                  "rpm limit, no second backend", "rpm limit, second backend",
                                  "relay cooldown after an upstream 401"])
def test_every_reason_log_and_status_line_is_one_bounded_line_without_secrets(relay, name):
    for text in llm2pic_text(case(relay, name)):
        assert "\n" not in text and "\r" not in text
        assert len(text) <= REASON_LIMIT + 200  # the log prefix ("backend x failed: [x] kind: ") and status
        for secret in SECRETS:
            assert secret not in text


def test_images_route(relay):
    found = case(relay, "images route")
    assert found["draws"][0]["ok"] and found["draws"][0]["mime"] == "image/png"
    assert statuses(found) == [200] and found["answers"][0]["path"] == "/v1/images/generations"


def test_chat_route(relay):
    found = case(relay, "chat route")
    assert found["draws"][0]["ok"] and statuses(found) == [200]
    assert found["answers"][0]["path"] == "/v1/chat/completions"


def test_unsupported_parameter_named_only_in_the_message_is_dropped_once_and_remembered(relay):
    found = case(relay, "unsupported parameter")
    refusal = found["answers"][0]
    assert refusal["status"] == 400 and "UnsupportedParamsError" in refusal["text"]
    assert '"param":null' in refusal["text"].replace(" ", "")
    assert [draw["ok"] for draw in found["draws"]] == [True, True]
    assert statuses(found) == [400, 200, 200]  # the second draw leaves it out from the start
    assert "response_format" in found["answers"][0]["fields"]
    assert all("response_format" not in answer["fields"] for answer in found["answers"][1:])


@pytest.mark.parametrize("name,key", [("upstream 401, key-shaped key", SHAPED_UPSTREAM_KEY),
                                      ("upstream 401, plain key", PLAIN_UPSTREAM_KEY)])
def test_upstream_key_echoed_by_the_relay_is_masked(relay, name, key):
    found = case(relay, name)
    assert key in found["answers"][-1]["text"]  # LiteLLM really did echo the upstream key
    draw = found["draws"][0]
    assert not draw["ok"] and draw["kind"] == "configuration"
    assert "Incorrect API key provided: ***" in draw["reason"] and key not in draw["reason"]


def test_unknown_model_is_a_configuration_error_and_not_resent(relay):
    found = case(relay, "unknown model")
    assert found["draws"][0]["kind"] == "configuration" and statuses(found) == [400]
    assert "Invalid model name" in found["draws"][0]["reason"]


def test_rpm_limit_without_a_wait_fails_at_once_instead_of_burning_retries(relay):
    found = case(relay, "rpm limit, no second backend")
    first, second = found["draws"]
    assert first["ok"] and not second["ok"] and second["kind"] == "transient"
    assert statuses(found) == [200, 429]  # one request for the limited draw: no 1 s / 2 s retries
    assert second["seconds"] < 3
    assert not any(answer["headers"] for answer in found["answers"])  # LiteLLM named no wait


def test_rpm_limit_moves_on_to_the_second_backend(relay):
    found = case(relay, "rpm limit, second backend")
    assert found["draws"][0]["ok"] and found["draws"][0]["backend"] == "direct"
    assert statuses(found) == [429, 200]


def test_relay_cooldown_is_waited_out_and_the_real_error_shown(relay):
    found = case(relay, "relay cooldown after an upstream 401")
    first, second = found["draws"]
    assert first["kind"] == second["kind"] == "configuration"
    assert statuses(found) == [401, 429, 401]
    assert "Try again in 5 seconds" in found["answers"][1]["text"]
    assert second["seconds"] >= 4.5
    assert "Incorrect API key provided: ***" in second["reason"]


def test_cli_reason_is_one_line_without_the_upstream_key(relay):
    done = relay["cli"]["upstream 401, plain key"]
    assert done["rc"] == EXIT_BACKENDS
    last = done["stderr"].rstrip("\n").splitlines()[-1]
    assert last.startswith("llm2pic: every backend failed; last: relay: ")
    assert "Incorrect API key provided: ***" in last and "LiteLLM: model group" in last
    for secret in SECRETS:
        assert secret not in done["stderr"] and secret not in done["stdout"]


def test_cli_draws_through_the_unsupported_parameter(relay):
    assert relay["cli"]["unsupported parameter"]["rc"] == 0


def test_llm2pics_own_key_never_reaches_the_upstream(relay):
    requests = relay["upstream_requests"]
    ours = hashlib.sha256(MASTER_KEY.encode()).hexdigest()
    assert requests and all(request["key_sha256"] != ours for request in requests)
    assert {request["key_ok"] for request in requests} == {True, False}  # good and bad upstream keys arrived


def test_the_connection_check_sees_a_socket_that_leaves_loopback():
    """The check used when no network namespace is allowed must be able to fail."""
    import socket

    from run_cases import foreign_connections

    before = set(foreign_connections(os.getpid()))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as leaving, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as staying:
        leaving.connect(("192.0.2.1", 53))  # TEST-NET-1: a UDP connect sends nothing
        staying.connect(("127.0.0.1", 53))
        found = set(foreign_connections(os.getpid())) - before
    assert found == {"udp 010200C0:0035"}
