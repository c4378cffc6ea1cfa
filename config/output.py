"""The [output] section: watermark crop, and fitting the image to what a chat (QQ) will accept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import field_validator, model_validator

from .section import Section, setting
from .ui import section_i18n

SIDES = ("top", "bottom", "left", "right")
MAX_CROP_PIXELS = 8192
# Pillow's own decompression-bomb threshold; above it Pillow warns, so our cap may not exceed it.
PILLOW_PIXEL_LIMIT = 89_478_485
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|px)?\s*$")
_COLOR = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class CropAmount:
    """How much to cut from one side: pixels, or percent of that side's axis (`imaging.crop` applies it)."""

    value: float = 0.0
    percent: bool = False

    def __bool__(self) -> bool:
        return self.value > 0


def parse_crop_amount(value: Any, key: str) -> CropAmount:
    """40 / "40" / "40px" → 40 pixels; "5%" → 5 percent."""
    if isinstance(value, bool):
        raise ValueError(f"{key} must be pixels (e.g. 40) or a percent string (e.g. \"5%\")")
    text = str(value)
    match = _AMOUNT.match(text)
    if not match:
        raise ValueError(f"{key} must be pixels (e.g. 40) or a percent string (e.g. \"5%\"), not {value!r}")
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        if number >= 100:
            raise ValueError(f"{key} = {text.strip()} would remove the whole image; use less than 100%")
        return CropAmount(number, percent=True)
    if number != int(number):
        raise ValueError(f"{key} in pixels must be a whole number, not {value!r}")
    if number > MAX_CROP_PIXELS:
        raise ValueError(f"{key} = {int(number)} pixels is more than any image here ({MAX_CROP_PIXELS} max)")
    return CropAmount(number)


class OutputSection(Section):
    __ui_label__ = "输出"
    __ui_icon__ = "image"
    __ui_order__ = 100
    __ui_i18n__ = section_i18n("Output")

    crop_enabled: bool = setting(
        False, "裁剪边缘", "Crop edges",
        "是否裁掉图片边缘（去水印）",
        "Cut the edges of the image, e.g. to remove a watermark.",
    )
    crop_position: Literal["top", "bottom", "left", "right"] = setting(
        "bottom", "单边裁剪位置", "One-side crop: side",
        "经典单边裁剪：裁哪一边 top/bottom/left/right",
        "Classic one-side crop: which side (top/bottom/left/right).",
    )
    crop_pixels: int = setting(
        40, "单边裁剪像素", "One-side crop: pixels",
        "经典单边裁剪的像素数",
        "Classic one-side crop, in pixels.",
        ge=0, le=MAX_CROP_PIXELS,
    )
    crop_percent: float = setting(
        0.0, "单边裁剪百分比", "One-side crop: percent",
        "经典单边裁剪的百分比，大于 0 时代替 crop_pixels",
        "Classic one-side crop in percent; above 0 it replaces the pixels.",
        ge=0, lt=100,
    )
    crop_top: str = setting(
        "0", "上边裁剪", "Crop top",
        "上边裁剪：像素如 40，或百分比如 \"5%\"",
        "Pixels such as 40, or a percent such as \"5%\".",
    )
    crop_bottom: str = setting("0", "下边裁剪", "Crop bottom", "下边裁剪：像素或百分比", "Pixels or percent.")
    crop_left: str = setting("0", "左边裁剪", "Crop left", "左边裁剪：像素或百分比", "Pixels or percent.")
    crop_right: str = setting("0", "右边裁剪", "Crop right", "右边裁剪：像素或百分比", "Pixels or percent.")
    max_edge: int = setting(
        2048, "最长边上限", "Longest edge",
        "最长边上限，超过则等比缩小",
        "Longest edge in pixels; larger images are scaled down.",
        ge=256, le=8192,
    )
    max_bytes: int = setting(
        3 * 1024 * 1024, "图片体积上限", "Size budget",
        "图片体积上限，字节；QQ 建议 3 MB 以内",
        "Size budget in bytes; about 3 MB suits QQ.",
        ge=100 * 1024, le=50 * 1024 * 1024,
    )
    format: Literal["auto", "jpeg", "png", "webp"] = setting(
        "auto", "输出格式", "Output format",
        "输出格式：auto 保留能装下的 PNG/JPEG，其余转 JPEG；或固定 jpeg/png/webp",
        "auto keeps PNG/JPEG when it fits and converts the rest to JPEG; or always jpeg/png/webp.",
    )
    jpeg_quality: int = setting(
        90, "JPEG 质量", "JPEG quality",
        "JPEG/WebP 起始（最高）质量",
        "Starting (highest) JPEG/WebP quality.",
        ge=30, le=100,
    )
    jpeg_min_quality: int = setting(
        60, "JPEG 最低质量", "JPEG minimum quality",
        "JPEG/WebP 最低质量，再大就缩小尺寸",
        "Lowest JPEG/WebP quality; below it the image is scaled down instead.",
        ge=10, le=100,
    )
    max_pixels: int = setting(
        40_000_000, "解码像素上限", "Pixel cap",
        "解码像素上限，防解压炸弹",
        "Pixel cap for decoding; refuses decompression bombs.",
        ge=1_000_000, le=PILLOW_PIXEL_LIMIT,
    )
    alpha_background: str = setting(
        "#ffffff", "透明底色", "Transparency background",
        "透明图转 JPEG 时的底色",
        "Background color for transparent images converted to JPEG.",
        placeholder_zh="#ffffff", placeholder_en="#ffffff",
    )
    strip_metadata: bool = setting(
        True, "去除元数据", "Strip metadata",
        "去掉 EXIF/文本等元数据（如 SD 的生成参数）",
        "Remove EXIF and text metadata (such as SD generation parameters).",
    )

    @field_validator("crop_top", "crop_bottom", "crop_left", "crop_right", mode="before")
    @classmethod
    def _amount(cls, value: Any, info) -> str:
        amount = parse_crop_amount(value, info.field_name)
        if amount.percent:
            return f"{amount.value:g}%"
        return str(int(amount.value))

    @field_validator("alpha_background")
    @classmethod
    def _color(cls, value: str) -> str:
        match = _COLOR.match(value.strip())
        if not match:
            raise ValueError("alpha_background must be a hex color like \"#ffffff\"")
        return "#" + match.group(1).lower()

    @model_validator(mode="after")
    def _consistent(self) -> "OutputSection":
        if self.jpeg_min_quality > self.jpeg_quality:
            raise ValueError(f"jpeg_min_quality ({self.jpeg_min_quality}) must not exceed jpeg_quality "
                             f"({self.jpeg_quality})")
        per_side = [side for side in SIDES if parse_crop_amount(getattr(self, f"crop_{side}"), side)]
        classic_set = {"crop_pixels", "crop_percent"} & self.model_fields_set
        if per_side and any(getattr(self, key) for key in classic_set):
            key = sorted(k for k in classic_set if getattr(self, k))[0]
            raise ValueError(f"crop_{per_side[0]} and {key} both set a crop; use either the classic one-side "
                             f"crop or crop_top/bottom/left/right (set {key} = 0 for the latter)")
        if "crop_percent" in self.model_fields_set and "crop_pixels" in self.model_fields_set \
                and self.crop_percent and self.crop_pixels:
            raise ValueError("set crop_pixels or crop_percent, not both")
        amounts = self.crop_amounts()
        for first, second in (("top", "bottom"), ("left", "right")):
            a, b = amounts[first], amounts[second]
            if a.percent and b.percent and a.value + b.value >= 100:
                raise ValueError(f"crop_{first} + crop_{second} = {a.value + b.value:g}% would leave nothing "
                                 "of the image; the two must sum to less than 100%")
        return self

    def crop_amounts(self) -> dict[str, CropAmount]:
        """What to cut from each side (top, bottom, left, right): the per-side keys, or else the classic
        one-side crop. Whether to crop at all is `crop_enabled`; `imaging.crop` turns this into a box."""
        sides = {side: parse_crop_amount(getattr(self, f"crop_{side}"), f"crop_{side}") for side in SIDES}
        if not any(sides.values()):
            if self.crop_percent:
                sides[self.crop_position] = CropAmount(self.crop_percent, percent=True)
            else:
                sides[self.crop_position] = CropAmount(float(self.crop_pixels))
        return sides

    def background_rgb(self) -> tuple[int, int, int]:
        value = int(self.alpha_background[1:], 16)
        return (value >> 16) & 255, (value >> 8) & 255, value & 255
