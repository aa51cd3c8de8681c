"""Linear scales and 'nice' tick values for charts."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LinearScale:
    """Map a data interval onto a pixel interval."""

    domain_min: float
    domain_max: float
    range_min: float
    range_max: float

    def __call__(self, value: float) -> float:
        """The pixel position of a data value."""
        span = self.domain_max - self.domain_min or 1.0
        return self.range_min + (value - self.domain_min) / span * (self.range_max - self.range_min)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def covering_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """`nice_ticks` plus one more step when needed, so the last tick is at or above `high`."""
    ticks = nice_ticks(low, high, count)
    if len(ticks) > 1 and ticks[-1] < high:
        ticks.append(round(ticks[-1] + (ticks[-1] - ticks[-2]), 10))
    return ticks
