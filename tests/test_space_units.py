"""The Space app's settings, input checks, admission bound and ZeroGPU duration, in process.

These modules of space/ import neither torch nor gradio, so they load in the test run's Python.
(The plugin never imports the app; only its tests do.)
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "space"))

from app_checks import Admission, BusyError, InputError, check_job  # noqa: E402
from app_settings import FAMILIES, Settings, SettingsError, detect_family, gpu_seconds  # noqa: E402

SDXL = FAMILIES["sdxl"]


def job(family=SDXL, prompt="a cat", negative="", guidance=6.0, steps=30, width=1024, height=1024, seed=1, count=1):
    return check_job(family, prompt, negative, guidance, steps, width, height, seed, count)


@pytest.mark.parametrize("model, pipeline, family", [
    ("stabilityai/sdxl-turbo", "", "sdxl-turbo"),
    ("stabilityai/sdxl-turbo", "StableDiffusionXLPipeline", "sdxl-turbo"),
    ("stabilityai/stable-diffusion-xl-base-1.0", "StableDiffusionXLPipeline", "sdxl"),
    ("ByteDance/SDXL-Lightning", "StableDiffusionXLPipeline", "sdxl-lightning"),
    ("stabilityai/stable-diffusion-3.5-large-turbo", "StableDiffusion3Pipeline", "sd3-turbo"),
    ("stabilityai/stable-diffusion-3.5-medium", "", "sd3"),
    ("black-forest-labs/FLUX.1-schnell", "FluxPipeline", "flux-schnell"),
    ("black-forest-labs/FLUX.1-dev", "", "flux"),
    ("/models/my-folder", "StableDiffusionPipeline", "sd15"),
    ("stable-diffusion-v1-5/stable-diffusion-v1-5", "", "sd15"),
    ("someone/unknown", "", "sdxl"),
])
def test_family_detection(model, pipeline, family):
    assert detect_family(model, pipeline).name == family


def test_settings_defaults_and_overrides():
    settings = Settings.from_env({})
    assert (settings.model_id, settings.engine, settings.device) == ("stabilityai/sdxl-turbo", "auto", "auto")
    assert (settings.queue_max_size, settings.concurrency) == (8, 1)
    assert settings.inference_url == "https://router.huggingface.co/hf-inference"
    settings = Settings.from_env({"MODEL_ID": "x/y", "ENGINE": "Inference", "MODEL_FAMILY": "flux",
                                  "QUEUE_MAX_SIZE": "3", "INFERENCE_API_URL": "http://127.0.0.1:9/"})
    assert settings.engine == "inference" and settings.family().name == "flux"
    assert settings.queue_max_size == 3 and settings.inference_url == "http://127.0.0.1:9"


@pytest.mark.parametrize("env, names", [
    ({"ENGINE": "gpu"}, "ENGINE"),
    ({"DEVICE": "tpu"}, "DEVICE"),
    ({"MODEL_FAMILY": "sd2"}, "MODEL_FAMILY"),
    ({"QUEUE_MAX_SIZE": "many"}, "QUEUE_MAX_SIZE"),
    ({"QUEUE_MAX_SIZE": "0"}, "QUEUE_MAX_SIZE"),
    ({"CONCURRENCY_LIMIT": "-1"}, "CONCURRENCY_LIMIT"),
    ({"INFERENCE_API_URL": "ftp://x"}, "INFERENCE_API_URL"),
])
def test_bad_settings_name_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


def test_a_good_job_is_normalised():
    checked = job(prompt="  a cat  ", width=1000, height=771.0, steps=29.6, count=7, seed=12.0)
    assert (checked.prompt, checked.width, checked.height, checked.num_inference_steps) == ("a cat", 1000, 768, 30)
    assert (checked.count, checked.seed) == (4, 12)
    flux = job(family=FAMILIES["flux"], width=1000, height=1000)
    assert (flux.width, flux.height) == (1008, 1008)  # multiple of 16
    assert job(width=64, height=64).width == 64


def test_missing_values_take_the_family_defaults_and_random_seeds_vary():
    checked = check_job(SDXL, "a cat", None, None, None, None, None, None, None)
    assert (checked.guidance_scale, checked.num_inference_steps, checked.width, checked.count) == (6.0, 30, 1024, 1)
    assert 0 <= checked.seed < 2**32
    assert len({job(seed=-1).seed for _ in range(5)}) > 1


@pytest.mark.parametrize("kwargs, words", [
    ({"prompt": "   "}, "empty"),
    ({"prompt": "x" * 2001}, "too long"),
    ({"prompt": 5}, "prompt must be text"),
    ({"width": 63}, "width must be from 64 to 2048"),
    ({"height": 4000}, "height must be from 64"),
    ({"width": 2048, "height": 2048}, "budget"),
    ({"width": "wide"}, "width must be a number"),
    ({"width": float("nan")}, "finite"),
    ({"steps": 0}, "num_inference_steps"),
    ({"steps": 101}, "num_inference_steps"),
    ({"guidance": -1}, "guidance_scale"),
    ({"seed": 2**32}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"count": True}, "num_outputs"),
])
def test_bad_inputs_name_the_input(kwargs, words):
    with pytest.raises(InputError, match=words):
        job(**kwargs)


def test_admission_refuses_at_once_when_running_and_waiting_are_full():
    admission = Admission(concurrency=1, max_waiting=1)
    running, release, waited = threading.Event(), threading.Event(), threading.Event()

    def hold():
        with admission.enter():
            running.set()
            release.wait(10)

    def wait_then_run():
        with admission.enter():
            waited.set()

    first = threading.Thread(target=hold)
    first.start()
    assert running.wait(5)
    second = threading.Thread(target=wait_then_run)
    second.start()
    for _ in range(100):  # until the second one is inside, waiting for the slot
        if admission._inside == 2:
            break
        threading.Event().wait(0.01)
    with pytest.raises(BusyError, match="queue is full"):
        with admission.enter():
            pass
    assert not waited.is_set()
    release.set()
    first.join(5)
    second.join(5)
    assert waited.is_set()
    with admission.enter():  # free again
        pass


def test_zero_gpu_duration_grows_with_the_work_and_stays_bounded():
    turbo = FAMILIES["sdxl-turbo"]
    small = gpu_seconds(turbo, 2, 512, 512, 1)
    assert 15 <= small <= 30
    assert gpu_seconds(SDXL, 30, 1024, 1024, 4) > gpu_seconds(SDXL, 30, 1024, 1024, 1) > small
    assert gpu_seconds(FAMILIES["flux"], 100, 2048, 1024, 4) == 300


def test_on_zero_gpu_generation_is_wrapped_with_a_duration_that_fits_the_job(monkeypatch, request):
    """ZeroGPU itself cannot run here: a stand-in `spaces` module records what the app hands to
    spaces.GPU (the real decorator takes `duration` as a number or a function of the call's arguments)."""
    import importlib
    import types

    recorded = {}

    def gpu(duration):
        def wrap(function):
            recorded["duration"], recorded["function"] = duration, function
            return function
        return wrap

    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.delitem(sys.modules, "app", raising=False)
    app = importlib.import_module("app")
    request.addfinalizer(lambda: sys.modules.pop("app", None))  # imported with the stand-in: not kept
    engine = types.SimpleNamespace(name="diffusers", family=FAMILIES["sdxl"], generate=lambda job: job)
    assert app.make_runner(engine) is engine.generate
    assert recorded["function"] is engine.generate
    big, small = job(steps=30, count=4), job(steps=4, count=1, width=512, height=512)
    assert recorded["duration"](big) == gpu_seconds(SDXL, 30, 1024, 1024, 4)
    assert recorded["duration"](big) > recorded["duration"](small)
    monkeypatch.setenv("SPACES_ZERO_GPU", "")
    recorded.clear()
    assert app.make_runner(engine) is engine.generate and not recorded  # not on ZeroGPU: unwrapped


def test_a_deploy_failure_is_one_printable_line_whatever_the_hub_said():
    """An HfHubHTTPError's text has paragraphs; a Space's build log has ANSI colours and CRs (#10/#18:
    every reason one line, nothing a server sends reaches the terminal as a control sequence)."""
    from llm2pic.hub.errors import DeployFailed

    failed = DeployFailed("403 Forbidden\n\nRequest ID: Root=1-abc\nYour token hf_" + "A" * 34 + " cannot write",
                          2, ["\x1b[31mERROR\x1b[0m building\r\nstep 2", "plain"])
    assert "\n" not in failed.message and "hf_" + "A" * 34 not in failed.message
    assert failed.message.startswith("403 Forbidden Request ID: Root=1-abc")
    assert all("\x1b" not in line and "\n" not in line and "\r" not in line for line in failed.log_tail)
    assert failed.log_tail[1] == "plain"
