"""The one aspect rule (aspects.py), as every layer uses it."""

import pytest

from llm2pic.aspects import (ASPECTS, named_aspect, nearest, nearest_named, normalize_aspect, parse_aspect,
                             require_named_aspect, size_for)


@pytest.mark.parametrize("text, ratio", [("16:9", 16 / 9), ("16x9", 16 / 9), ("16×9", 16 / 9), ("16：9", 16 / 9),
                                         (" 3 / 2 ", 1.5), ("1.5", 1.5)])
def test_every_spelling_parses(text, ratio):
    assert parse_aspect(text) == pytest.approx(ratio)


@pytest.mark.parametrize("text", ["", "wide", "0:1", "16:0", "-1:2", "16:9:1", "1e3"])
def test_what_is_not_an_aspect_is_refused_with_its_text(text):
    with pytest.raises(ValueError, match="not an aspect ratio"):
        parse_aspect(text)


def test_normalized_form_is_what_travels():
    assert [normalize_aspect(t) for t in ("16x9", "16：9", " 3 / 2 ", "1.5", "21:9")] == \
        ["16:9", "16:9", "3:2", "1.5:1", "21:9"]
    with pytest.raises(ValueError):
        normalize_aspect("banana")


def test_named_aspects_are_the_offered_ones():
    assert named_aspect("16：9") == "16:9" and named_aspect(" 9:16 ") == "9:16"
    assert named_aspect("5:4") is None and named_aspect(None) is None
    assert require_named_aspect("3:4") == "3:4"
    with pytest.raises(ValueError, match="aspect must be one of 1:1"):
        require_named_aspect("5:4")


def test_nearest_is_symmetric_on_a_log_scale():
    # 2:1 and 1:2 are equally far from 1:1; 16:9 is nearest to 1.8
    assert nearest_named(1.8, ASPECTS) == "16:9"
    assert nearest_named(0.5, ("1:1", "9:16", "9:21")) == "9:16"
    assert nearest(1.5, [(1024, 1024), (1536, 1024), (1024, 1536)], lambda s: s[0] / s[1]) == (1536, 1024)


def test_size_for_a_pixel_budget_keeps_the_ratio_and_the_multiple():
    width, height = size_for(16 / 9, 1024 * 1024, 64)
    assert width % 64 == 0 and height % 64 == 0
    assert abs(width / height - 16 / 9) < 0.1 and abs(width * height - 1024 * 1024) / (1024 * 1024) < 0.1
