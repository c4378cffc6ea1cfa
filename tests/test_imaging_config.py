"""The [output] section: classic crop keys, per-side crops, load-time refusal of impossible crops."""

from __future__ import annotations

import pytest

from llm2pic.config.load import ConfigError, load_config_data
from llm2pic.config.output import CropAmount, OutputSection
from llm2pic.imaging.crop import CropPlan, crop_plan


def output_of(raw: dict) -> OutputSection:
    return load_config_data({"output": raw}).config.output


def test_defaults_are_qq_friendly_and_crop_off():
    output = OutputSection()
    assert (output.max_edge, output.max_bytes, output.format) == (2048, 3 * 1024 * 1024, "auto")
    assert crop_plan(output) is None


def test_classic_generation_crop_keys_migrate_into_output():
    loaded = load_config_data({"generation": {"crop_enabled": True, "crop_position": "bottom", "crop_pixels": 40}})
    assert loaded.migrated_from_legacy
    output = loaded.config.output
    assert (output.crop_enabled, output.crop_position, output.crop_pixels) == (True, "bottom", 40)
    assert crop_plan(output) == CropPlan(bottom=CropAmount(40))
    assert not any("crop" in w for w in loaded.warnings)


@pytest.mark.parametrize("side", ["top", "bottom", "left", "right"])
def test_classic_one_side_crop(side):
    plan = crop_plan(output_of({"crop_enabled": True, "crop_position": side, "crop_pixels": 10}))
    expected = {"top": (0, 10, 100, 100), "bottom": (0, 0, 100, 90), "left": (10, 0, 100, 100),
                "right": (0, 0, 90, 100)}[side]
    assert plan.box(100, 100) == expected


def test_crop_percent_replaces_crop_pixels_on_the_classic_side():
    plan = crop_plan(output_of({"crop_enabled": True, "crop_position": "right", "crop_percent": 5}))
    assert plan.box(1000, 500) == (0, 0, 950, 500)


def test_per_side_pixels_and_percent():
    output = output_of({"crop_enabled": True, "crop_top": 12, "crop_bottom": "10%", "crop_left": "7px",
                        "crop_right": "2.5%"})
    assert output.crop_bottom == "10%" and output.crop_top == "12" and output.crop_left == "7"
    assert crop_plan(output).box(200, 100) == (7, 12, 195, 90)


def test_crop_disabled_or_zero_means_no_crop():
    assert crop_plan(output_of({"crop_enabled": False, "crop_top": "10%"})) is None
    assert crop_plan(output_of({"crop_enabled": True, "crop_pixels": 0})) is None


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"crop_top": "60%", "crop_bottom": "40%"}, "output: crop_top + crop_bottom = 100% would leave nothing"),
        ({"crop_left": "50%", "crop_right": "70%"}, "crop_left + crop_right = 120%"),
        ({"crop_top": "100%"}, "output.crop_top = '100%': crop_top = 100% would remove the whole image"),
        ({"crop_percent": 100}, "output.crop_percent = 100"),
        ({"crop_top": "abc"}, "crop_top must be pixels (e.g. 40) or a percent string"),
        ({"crop_top": -3}, "output.crop_top"),
        ({"crop_bottom": 1.5}, "whole number"),
        ({"crop_position": "middle"}, "output.crop_position = 'middle'"),
        ({"crop_pixels": 10, "crop_left": 5}, "crop_left and crop_pixels both set a crop; use either the classic"),
        ({"crop_percent": 3, "crop_top": "1%"}, "(set crop_percent = 0 for the latter)"),
        ({"crop_pixels": 10, "crop_percent": 5}, "set crop_pixels or crop_percent, not both"),
        ({"jpeg_quality": 70, "jpeg_min_quality": 80}, "jpeg_min_quality (80) must not exceed jpeg_quality (70)"),
        ({"format": "gif"}, "output.format = 'gif'"),
        ({"alpha_background": "white"}, "alpha_background must be a hex color"),
        ({"max_pixels": 10**9}, "output.max_pixels"),
        ({"max_edge": 10}, "output.max_edge"),
    ],
)
def test_bad_values_fail_at_load_with_one_clear_line(raw, fragment):
    with pytest.raises(ConfigError) as caught:
        load_config_data({"output": raw})
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message


def test_pixel_crop_larger_than_the_image_gives_no_box():
    plan = CropPlan(top=CropAmount(30), bottom=CropAmount(30))
    assert plan.box(100, 60) is None
    assert plan.box(100, 61) == (0, 30, 100, 31)


def test_unknown_output_key_is_reported():
    loaded = load_config_data({"output": {"max_edges": 100}})
    assert any("output.max_edges" in w and "max_edge" in w for w in loaded.warnings)


def test_per_side_crop_works_once_crop_pixels_is_zeroed_as_the_example_says():
    output = output_of({"crop_enabled": True, "crop_pixels": 0, "crop_right": "10%"})
    assert crop_plan(output).box(100, 50) == (0, 0, 90, 50)


def test_example_config_output_block_documents_every_key():
    from pathlib import Path

    import tomllib

    raw = tomllib.loads((Path(__file__).resolve().parents[1] / "config.example.toml").read_text("utf-8"))
    assert set(raw["output"]) == set(OutputSection.model_fields)
    assert load_config_data(raw).config.output == OutputSection()
