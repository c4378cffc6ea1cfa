"""`python -m llm2pic draw --count N --reference FILE` against the real lab Gradio app: several images
as OUT-1, OUT-2, …, --json listing them all, a reference reaching the image-to-image endpoint, and a
reference that cannot be used ending with exit code 2 and one clear line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from llm2pic.frontends.cli.draw import output_paths
from llm2pic.frontends.cli.main import main

pytestmark = pytest.mark.gradio_server


def write_config(tmp_path, lab, settings: str, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[plugin]
config_version = "1.0.0"

[generation]
max_images = 3
{extra}

[[backends]]
type = "gradio"
name = "lab"
base_url = "{lab.url}"
{settings}
""", encoding="utf-8")
    return path


def test_output_names_put_the_number_before_the_extension():
    assert output_paths("cat.png", 1, ".jpg") == [Path("cat.png")]
    assert output_paths("out/cat.png", 3, ".jpg") == [Path("out/cat-1.png"), Path("out/cat-2.png"),
                                                      Path("out/cat-3.png")]
    assert output_paths("cat", 2, ".jpg") == [Path("cat-1"), Path("cat-2")]
    assert [p.suffix for p in output_paths(None, 2, ".jpg")] == [".jpg", ".jpg"]


def test_count_writes_out_1_out_2_and_json_lists_them(tmp_path, lab_servers, capsys):
    config = write_config(tmp_path, lab_servers["6"], 'preset = "flux-schnell"')
    out = tmp_path / "cat.png"
    assert main(["draw", "a cat", "--no-llm", "--config", str(config), "--out", str(out), "--count", "2",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    written = [tmp_path / "cat-1.png", tmp_path / "cat-2.png"]
    assert [Path(image["out"]) for image in report["images"]] == written and report["count"] == 2
    assert report["out"] == str(written[0]) and not out.exists()
    pictures = [Image.open(io.BytesIO(path.read_bytes())) for path in written]
    assert len({picture.tobytes() for picture in pictures}) == 2  # two seeds, two pictures
    assert all(image["bytes"] == path.stat().st_size for image, path in zip(report["images"], written))


def test_a_count_over_max_images_is_capped_with_a_note(tmp_path, lab_servers, capsys):
    config = write_config(tmp_path, lab_servers["6"], 'preset = "flux-schnell"')
    assert main(["draw", "a cat", "--no-llm", "--config", str(config), "--out", str(tmp_path / "c.jpg"),
                 "-n", "9"]) == 0
    captured = capsys.readouterr()
    assert "--count 9 is more than [generation] max_images = 3; drawing 3" in captured.err
    assert captured.out.split() == [str(tmp_path / f"c-{n}.jpg") for n in (1, 2, 3)]


def test_count_zero_is_a_usage_error(tmp_path, lab_servers, capsys):
    config = write_config(tmp_path, lab_servers["6"], 'preset = "flux-schnell"')
    assert main(["draw", "a cat", "--no-llm", "--config", str(config), "--count", "0"]) == 2
    assert "--count must be at least 1" in capsys.readouterr().err


def test_a_reference_file_reaches_the_image_to_image_endpoint(tmp_path, lab_servers, capsys):
    config = write_config(tmp_path, lab_servers["6"], 'preset = "none"\napi_name = "/edit"')
    reference = tmp_path / "me.png"
    Image.new("RGB", (120, 60), (240, 240, 240)).save(reference)
    out = tmp_path / "edited.png"
    assert main(["draw", "watercolor", "--no-llm", "--config", str(config), "--out", str(out),
                 "--reference", str(reference), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["references"] == 1 and report["width"] == 2 * report["height"]  # the reference's shape


@pytest.mark.parametrize("content, reason", [(b"GIF89a but not really", "not_image"), (None, "unsafe_url")])
def test_a_reference_that_cannot_be_used_exits_2_with_one_line(tmp_path, lab_servers, capsys, content, reason):
    config = write_config(tmp_path, lab_servers["6"], 'preset = "none"\napi_name = "/edit"')
    if content is None:
        source = f"{lab_servers['6'].url}/file=secret.png?token=abc123"  # loopback: never downloaded
    else:
        (tmp_path / "x.png").write_bytes(content)
        source = str(tmp_path / "x.png")
    assert main(["draw", "watercolor", "--no-llm", "--config", str(config), "--reference", source]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"llm2pic: reference image refused ({reason})") and "abc123" not in last


def test_a_missing_reference_file_is_a_usage_error(tmp_path, lab_servers, capsys):
    config = write_config(tmp_path, lab_servers["6"], 'preset = "flux-schnell"')
    assert main(["draw", "a cat", "--config", str(config), "--reference", str(tmp_path / "nope.png")]) == 2
    assert "cannot read --reference" in capsys.readouterr().err
