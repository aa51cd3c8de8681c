"""Values written in another unit than their feature's: about 1,000 times off, as dollars where k$ are expected."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.models.features import Feature

# Currency signs a unit may be written with, and the word a sentence uses for them.
_UNIT_WORDS = {"$": "dollars", "€": "euros", "£": "pounds", "¥": "yen"}
# How far (in decades) the values' median may sit from a power of 1,000 times the range's middle and still be
# read as that unit step: 1,000x within a factor of about 4 either way.
_TOLERANCE_DECADES = 0.6


@dataclass(frozen=True)
class ScaleHint:
    """Why a feature's values miss its range: a unit step (`factor`, 1000 or 0.001) and a sentence saying so."""

    cause: str
    factor: float
    message: str


def _word(unit: str) -> str:
    return _UNIT_WORDS.get(unit, unit)


def scale_hint(
    feature: Feature, values: Sequence[float] | np.ndarray, *, reference: tuple[float, float] | None = None
) -> ScaleHint | None:
    """Whether values sit a power of 1,000 away from a feature's range (`reference`: the training range, else the
    feature's accepted one): "income looks like dollars, this segmentation expects k$: ...", or None.

    The test is the ratio of the values' median to the middle of the range; a range unbounded on either side says
    nothing, and the median brought back by the step must fall inside the accepted range.
    """
    numbers = np.asarray(values, dtype=np.float64)
    numbers = numbers[np.isfinite(numbers)]
    low, high = reference or (feature.minimum, feature.maximum)
    if not numbers.size or not (math.isfinite(low) and math.isfinite(high)) or high <= 0:
        return None
    median = float(np.median(numbers))
    middle = (low + high) / 2 if low >= 0 else high
    if median <= 0 or middle <= 0:
        return None
    decades = math.log10(median / middle)
    steps = round(decades / 3)
    if steps == 0 or abs(decades - 3 * steps) > _TOLERANCE_DECADES:
        return None
    factor = 1000.0**steps
    if not feature.minimum <= median / factor <= feature.maximum:
        return None
    example = float(numbers[np.argmin(np.abs(numbers - median))])  # a value the file holds, near the middle
    return ScaleHint("unit_scale", factor, _sentence(feature, example, factor))


def _sentence(feature: Feature, example: float, factor: float) -> str:
    noun = (feature.noun or feature.label or feature.name).lower()
    unit = feature.short_unit or feature.unit
    fixed = f"{example:.10g} becomes {example / factor:.10g}"
    if factor == 1000 and len(unit) > 1 and unit.startswith("k"):
        return (
            f"{noun} looks like {_word(unit[1:])}, this segmentation expects {unit} (thousands of "
            f"{_word(unit[1:])}): divide the values by 1,000 ({fixed})"
        )
    if factor == 0.001 and unit and not unit.startswith("k"):
        return (
            f"{noun} looks like thousands of {_word(unit)} (k{unit}), this segmentation expects {unit}: multiply "
            f"the values by 1,000 ({fixed})"
        )
    direction = "above" if factor > 1 else "below"
    times = f"{max(factor, 1 / factor):,.0f}"
    unit_text = f" {unit}" if unit else ""
    operation = "divide" if factor > 1 else "multiply"
    return (
        f"{noun} values sit about {times} times {direction} the range this segmentation expects "
        f"({feature.range_text()}{unit_text}): check their unit, and {operation} them by {times} if it differs "
        f"({fixed})"
    )
