"""Crop geometry: the `[output]` crop amounts turned into a Pillow box for one image size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..config.output import CropAmount, OutputSection


def amount_pixels(amount: CropAmount, axis_length: int) -> int:
    """The pixels `amount` cuts from an axis this long (a percent is of that axis)."""
    if amount.percent:
        return int(round(axis_length * amount.value / 100))
    return int(amount.value)


@dataclass(frozen=True)
class CropPlan:
    """The crop of every side; `box` turns it into a Pillow box for one image size."""

    top: CropAmount = CropAmount()
    bottom: CropAmount = CropAmount()
    left: CropAmount = CropAmount()
    right: CropAmount = CropAmount()

    def box(self, width: int, height: int) -> Optional[tuple[int, int, int, int]]:
        """(left, upper, right, lower), or None when the crop would leave nothing of this image."""
        left, right = amount_pixels(self.left, width), amount_pixels(self.right, width)
        top, bottom = amount_pixels(self.top, height), amount_pixels(self.bottom, height)
        if left + right >= width or top + bottom >= height:
            return None
        return left, top, width - right, height - bottom


def crop_plan(output: OutputSection) -> Optional[CropPlan]:
    """The crop to apply, or None when cropping is off or every side is zero."""
    if not output.crop_enabled:
        return None
    plan = CropPlan(**output.crop_amounts())
    if not any((plan.top, plan.bottom, plan.left, plan.right)):
        return None
    return plan
