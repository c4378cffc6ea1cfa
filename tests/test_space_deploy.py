"""`python -m llm2pic space deploy | status | quota` with the real huggingface_hub 2.x client against a
loopback fake Hub (tests/fake_hub.py). The Space's reported host is the real lab app under Gradio 6 on
127.0.0.1 (or a closed loopback port, for an app that does not answer)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fake_hub import FakeHub
from gradio_servers import free_port
from llm2pic.frontends.cli import main as cli
from llm2pic.config.load import load_config_data

TOKEN = "hf_" + "Q" * 34
READ_TOKEN = "hf_" + "R" * 34
EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"

USER_CONFIG = """\
# my bot's drawing config (this comment must survive)
[plugin]
enabled = true
config_version = "1.0.0"

# the public Space I used before
[[backends]]
type = "gradio"
name = "z-image-turbo"   # keep this comment too
space = "Tongyi-MAI/Z-Image-Turbo"

# paid fallback
[[backends]]
type = "openai"
name = "relay"
base_url = "https://relay.example.com/v1"
api_key_env = "RELAY_KEY"

[chain]
deadline = 200   # seconds
"""


@pytest.fixture
def lab6(lab_servers):
    return lab_servers["6"]  # the session's real Gradio 6 lab app (conftest.py)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    fake = FakeHub().start()
    fake.scenario.app_host = f"http://127.0.0.1:{free_port()}"  # loopback always; a test sets a live app
    fake.add_user(TOKEN, "alice")
    fake.add_user(READ_TOKEN, "alice", role="read")
    for key, value in {"HF_ENDPOINT": fake.url, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
                       "HF_HOME": str(tmp_path / "hf-home"), "HF_TOKEN": TOKEN, "NO_PROXY": "127.0.0.1"}.items():
        monkeypatch.setenv(key, value)
    # HF_ENDPOINT and HF_HUB_DISABLE_XET are read when huggingface_hub is imported (constants.py);
    # another test may have imported it first.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", fake.url)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def app_folder(tmp_path):
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "app.py").write_text("import gradio as gr\n", encoding="utf-8")
    (folder / "requirements.txt").write_text("diffusers\n", encoding="utf-8")
    (folder / "README.md").write_text("---\ntitle: LLM2Pic\nsdk: gradio\nsdk_version: 6.31.0\nlicense: gpl-3.0\n---\n\n"
                                      "# LLM2Pic app\n", encoding="utf-8")
    return folder


def deploy(app_folder, *argv):
    args = cli._parser().parse_args(["space", "deploy", *argv, "--poll-interval", "0.1"])
    return args.handler(args, app_folder=app_folder)


def config_file(tmp_path, text=USER_CONFIG) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- success ------------------------------------------------------------------------------------


@pytest.mark.gradio_server
def test_deploy_end_to_end_then_a_second_deploy_updates(hub, lab6, app_folder, tmp_path, capsys):
    hub.scenario.app_host = lab6.url
    path = config_file(tmp_path)
    assert deploy(app_folder, "my-pics", "--config", str(path), "--model", "stabilityai/sdxl-turbo") == 0
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err

    space = hub.space("alice/my-pics")
    assert space is not None and space.hardware == "zero-a10g" and not space.private
    assert space.variables == {"MODEL_ID": "stabilityai/sdxl-turbo", "ENGINE": "diffusers"}
    assert space.secrets == {}  # the token is a secret only for the inference engine
    assert set(space.files) == {"app.py", "requirements.txt", "README.md"}
    readme = space.files["README.md"].decode()
    for line in ("sdk: gradio", "app_file: app.py", "suggested_hardware: zero-a10g", "- stabilityai/sdxl-turbo",
                 "title: LLM2Pic", "# LLM2Pic app"):
        assert line in readme
    # progress, in order, with the elapsed time
    assert out.out.index("BUILDING (") < out.out.index("APP_STARTING (") < out.out.index("RUNNING (")
    last = out.out.strip().splitlines()[-1]
    assert last.startswith("llm2pic: alice/my-pics is running") and '"my-pics"' in last and "first of 3" in last

    text = path.read_text(encoding="utf-8")
    for kept in ("# my bot's drawing config (this comment must survive)", "# the public Space I used before",
                 'name = "z-image-turbo"   # keep this comment too', "deadline = 200   # seconds", "# paid fallback"):
        assert kept in text
    config = load_config_data(tomllib.loads(text)).config
    assert [b.name for b in config.backends] == ["my-pics", "z-image-turbo", "relay"]
    mine = config.backends[0]
    assert (mine.type, mine.space, mine.zero_gpu, mine.api_name) == ("gradio", "alice/my-pics", "auto", "/predict")
    assert TOKEN not in text

    # A second deploy updates the Space and the entry (no duplicate), and keeps the entry where it is.
    commits = sum(1 for method, p in hub.requests if p.startswith("/api/spaces/alice/my-pics/commit"))
    assert deploy(app_folder, "my-pics", "--config", str(path), "--model", "black-forest-labs/FLUX.1-schnell") == 0
    out = capsys.readouterr().out
    assert "updating existing Space alice/my-pics" in out and "updated in" in out
    # The old build still runs for a moment: not mistaken for the new one.
    stages = [line.strip().split(" (")[0] for line in out.splitlines() if line.startswith("  ")]
    assert stages == ["RUNNING", "BUILDING", "APP_STARTING", "RUNNING"]
    assert "RUNNING (previous version) (" in out
    assert sum(1 for method, p in hub.requests if p.startswith("/api/spaces/alice/my-pics/commit")) == commits + 1
    assert hub.space("alice/my-pics").variables["MODEL_ID"] == "black-forest-labs/FLUX.1-schnell"
    config = load_config_data(tomllib.loads(path.read_text(encoding="utf-8"))).config
    assert [b.name for b in config.backends] == ["my-pics", "z-image-turbo", "relay"]


@pytest.mark.gradio_server
def test_private_inference_space_on_cpu_goes_last_with_its_token_variable(hub, lab6, app_folder, tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("MY_HF", TOKEN)
    hub.scenario.app_host = lab6.url
    path = tmp_path / "example.toml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    code = deploy(app_folder, "alice/cpu-pics", "--config", str(path), "--engine", "inference", "--private",
                  "--hardware", "cpu-upgrade", "--token-env", "MY_HF", "--position", "last")
    out = capsys.readouterr()
    assert code == 0, out.err
    assert TOKEN not in out.out + out.err
    space = hub.space("alice/cpu-pics")
    assert space.private and space.hardware == "cpu-upgrade" and space.secrets == {"HF_TOKEN": TOKEN}
    text = path.read_text(encoding="utf-8")
    assert TOKEN not in text
    example_lines = [line for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = [line for line in text.splitlines() if line.strip()]
    start = kept.index("# added by `python -m llm2pic space deploy`") - 1
    end = next(i for i in range(start + 2, len(kept)) if kept[i].startswith(("#", "[")))
    assert kept[start] == "[[backends]]"
    assert kept[:start] + kept[end:] == example_lines  # every line of the user's file kept, in order
    config = load_config_data(tomllib.loads(text)).config
    mine = config.backends[-1]
    assert (mine.name, mine.space, mine.hf_token_env, mine.zero_gpu) == ("cpu-pics", "alice/cpu-pics", "MY_HF", "no")
    # The section comment that followed the last backend still sits right above its section.
    assert text.index('space = "alice/cpu-pics"') < text.index("# 功能开关 (components)")


# --- the user must act (exit 2) -----------------------------------------------------------------


def test_invalid_token_401(hub, app_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_" + "X" * 34)
    assert deploy(app_folder, "my-pics", "--config", str(config_file(tmp_path))) == 2
    err = capsys.readouterr().err
    assert "401" in err and "write access" in err and "hf_XXXX" not in err
    assert not hub.repos


def test_read_only_token_is_refused_before_anything_is_created(hub, app_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", READ_TOKEN)
    assert deploy(app_folder, "my-pics", "--config", str(config_file(tmp_path))) == 2
    assert "can only read" in capsys.readouterr().err
    assert not hub.repos


def test_forbidden_namespace_403(hub, app_folder, tmp_path, capsys):
    assert deploy(app_folder, "someone-else/pics", "--config", str(config_file(tmp_path))) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "403" in err and "write access" in err


def test_payment_required_402_explains_the_zero_gpu_rules(hub, app_folder, tmp_path, capsys):
    hub.scenario.create_status = (402, {}, {"error": "Static Spaces are free for everyone, but hosting Gradio and "
                                                      "Docker Spaces on free cpu-basic requires a PRO subscription"})
    path = config_file(tmp_path)
    before = path.read_text(encoding="utf-8")
    assert deploy(app_folder, "my-pics", "--config", str(path), "--hardware", "cpu-basic") == 2
    err = capsys.readouterr().err
    for words in ("402", "PRO", "--hardware zero-a10g", "older than 30 days", "verified", "2 ZeroGPU Spaces"):
        assert words in err
    assert path.read_text(encoding="utf-8") == before


def test_name_taken_by_a_model_repo_409(hub, app_folder, tmp_path, capsys):
    from fake_hub import Repo

    hub.repos["model/alice/my-pics"] = Repo("model")
    assert deploy(app_folder, "my-pics", "--config", str(config_file(tmp_path))) == 2
    err = capsys.readouterr().err
    assert "already taken by a repository of another type" in err and "alice/my-pics" in err
    assert hub.space("alice/my-pics") is None


def test_rate_limited_429_says_how_long_to_wait(hub, app_folder, tmp_path, capsys):
    hub.scenario.whoami_status = (429, {"Retry-After": "120"}, {"error": "Too Many Requests"})
    assert deploy(app_folder, "my-pics", "--config", str(config_file(tmp_path))) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "429" in err and "120 s" in err


def test_a_bad_name_stops_before_the_hub(hub, app_folder, tmp_path, capsys):
    assert deploy(app_folder, "bad name!", "--config", str(config_file(tmp_path))) == 2
    assert "'bad name!' is not a valid Space name" in capsys.readouterr().err
    assert not [r for r in hub.requests if r[1] != "/api/agent-harnesses"]


def test_a_missing_app_folder_stops_before_the_hub(hub, tmp_path, capsys):
    assert deploy(tmp_path / "no-app", "my-pics", "--config", str(config_file(tmp_path))) == 2
    assert "no-app is missing" in capsys.readouterr().err
    assert not hub.repos and not [r for r in hub.requests if r[1] != "/api/agent-harnesses"]


def test_missing_token_and_unusable_config_stop_before_the_hub(hub, app_folder, tmp_path, capsys, monkeypatch):
    bad = config_file(tmp_path, "[chain]\ndeadline = = 3\n")
    assert deploy(app_folder, "my-pics", "--config", str(bad)) == 2
    assert "not valid TOML" in capsys.readouterr().err
    monkeypatch.delenv("HF_TOKEN")
    assert deploy(app_folder, "my-pics", "--config", str(config_file(tmp_path))) == 2
    assert "no token in HF_TOKEN" in capsys.readouterr().err
    assert not [r for r in hub.requests if r[1] != "/api/agent-harnesses"]


# --- the Space does not come up (exit 3) --------------------------------------------------------


def test_an_unreachable_hub_is_one_line(hub, app_folder, tmp_path, capsys, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    assert deploy(app_folder, "my-pics", "--config", str(config_file(tmp_path))) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("llm2pic: cannot reach the Hub while checking the token: ConnectError")


def test_build_error_prints_the_log_tail_with_the_token_redacted(hub, app_folder, tmp_path, capsys):
    hub.scenario.stages = [("BUILDING", 0.2), ("BUILD_ERROR", 0.0)]
    hub.scenario.error_message = "Build failed with exit code: 1"
    hub.scenario.build_log = [f"line {i}" for i in range(40)] + [
        f"ERROR: could not fetch https://user:{TOKEN}@example.com/wheel", "pip failed"]
    path = config_file(tmp_path)
    before = path.read_text(encoding="utf-8")
    assert deploy(app_folder, "my-pics", "--config", str(path)) == 3
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    assert "could not fetch https://***@example.com/wheel" in out.err  # the whole user:password@ masked
    assert "pip failed" in out.err and "line 21" not in out.err  # only the tail
    assert out.err.strip().splitlines()[-1].startswith("llm2pic: alice/my-pics did not come up: BUILD_ERROR")
    assert path.read_text(encoding="utf-8") == before


def test_runtime_error_prints_the_run_log(hub, app_folder, tmp_path, capsys):
    hub.scenario.stages = [("BUILDING", 0.1), ("APP_STARTING", 0.1), ("RUNTIME_ERROR", 0.0)]
    hub.scenario.error_message = "Exit code: 1. Reason: CUDA out of memory"
    hub.scenario.run_log = ["Loading model", f"token={TOKEN} rejected", "torch.OutOfMemoryError: CUDA out of memory"]
    assert deploy(app_folder, "my-pics", "--config", str(config_file(tmp_path))) == 3
    err = capsys.readouterr().err
    assert TOKEN not in err and "token=*** rejected" in err and "run log, last 3 lines:" in err
    assert err.strip().splitlines()[-1] == ("llm2pic: alice/my-pics did not come up: RUNTIME_ERROR: Exit code: 1. "
                                            "Reason: CUDA out of memory")


def test_a_space_that_never_starts_times_out(hub, app_folder, tmp_path, capsys):
    hub.scenario.stages = [("BUILDING", 0.0)]
    assert deploy(app_folder, "my-pics", "--config", str(config_file(tmp_path)), "--wait", "1") == 3
    err = capsys.readouterr().err
    assert "did not reach RUNNING within 1 s (still BUILDING)" in err.strip().splitlines()[-1]
    assert "build log, last" in err


def test_running_but_the_api_does_not_answer(hub, app_folder, tmp_path, capsys):
    hub.scenario.app_host = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    path = config_file(tmp_path)
    before = path.read_text(encoding="utf-8")
    assert deploy(app_folder, "my-pics", "--config", str(path), "--wait", "3") == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "is RUNNING but its API does not answer at http://127.0.0.1:" in last
    assert path.read_text(encoding="utf-8") == before


# --- status and quota ---------------------------------------------------------------------------


@pytest.mark.gradio_server
def test_status_reports_stage_hardware_url_and_the_api(hub, lab6, app_folder, tmp_path, capsys):
    hub.scenario.app_host = lab6.url
    path = config_file(tmp_path)
    assert deploy(app_folder, "my-pics", "--config", str(path)) == 0
    capsys.readouterr()
    assert cli.main(["space", "status", "my-pics", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "alice/my-pics: RUNNING" in out and "hardware: zero-a10g" in out
    assert f"{hub.url}/spaces/alice/my-pics" in out and "API: answers" in out
    hub.scenario.app_host = f"http://127.0.0.1:{free_port()}"
    assert cli.main(["space", "status", "alice/my-pics"]) == 3
    assert "API: does not answer" in capsys.readouterr().out


def test_quota_shows_seconds_left_and_the_reset(hub, capsys, monkeypatch):
    hub.scenario.quota = {"base": 300, "current": 123.4, "resetsAt": "2030-01-01T12:30:00Z", "overquotaUsed": 0}
    assert cli.main(["space", "quota"]) == 0
    out = capsys.readouterr().out
    assert "ZeroGPU: 123 s of 300 s left today, resets at 2030-01-01 12:30 UTC" in out
    monkeypatch.setenv("HF_TOKEN", "hf_" + "Z" * 34)
    assert cli.main(["space", "quota"]) == 2
    err = capsys.readouterr().err
    assert "401" in err and "hf_ZZZZ" not in err
    monkeypatch.delenv("HF_TOKEN")
    assert cli.main(["space", "quota"]) == 2
    assert "cannot tell: no token in HF_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize("quota", [{"base": 300, "current": 10 ** 400}, {"base": 1e308, "current": 1},
                                   {"base": 300, "current": "12"}, {"base": True, "current": 1}])
def test_quota_with_numbers_that_are_not_seconds_is_one_unreadable_line(hub, capsys, quota):
    """A Hub answer with a 400-digit integer (float() overflows), 1e308 or text: `space quota` says it
    cannot tell, in one line, exit 3; never a traceback or a 300-digit figure (#10: every server number bounded)."""
    hub.scenario.quota = {**quota, "resetsAt": None}
    assert cli.main(["space", "quota"]) == 3
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and "unreadable" in out.err


def test_a_token_that_is_not_token_shaped_is_still_never_shown(hub, app_folder, tmp_path, capsys, caplog,
                                                                 monkeypatch):
    canary = "CANARY-7f3e9a0b1c2d4e5f"  # only explicit redaction can hide it
    hub.add_user(canary, "alice")
    monkeypatch.setenv("HF_TOKEN", canary)
    caplog.set_level("DEBUG")
    hub.scenario.stages = [("BUILDING", 0.1), ("BUILD_ERROR", 0.0)]
    hub.scenario.error_message = f"bad secret {canary}"
    hub.scenario.build_log = [f"echo {canary}", f"url https://x:{canary}@example.com"]
    assert deploy(app_folder, "my-pics", "--config", str(config_file(tmp_path)), "--engine", "inference") == 3
    hub.scenario.create_status = (402, {}, {"error": f"payment required for token {canary}"})
    assert deploy(app_folder, "other", "--config", str(config_file(tmp_path))) == 2
    hub.scenario.quota = {"base": 300, "current": 10, "resetsAt": None}
    assert cli.main(["space", "quota"]) == 0
    out = capsys.readouterr()
    shown = out.out + out.err + caplog.text
    assert canary not in shown
    assert "echo ***" in out.err and "payment required for token ***" in out.err
