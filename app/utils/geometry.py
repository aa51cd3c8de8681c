"""Plane geometry for charts."""

Point = tuple[float, float]


def clip_half_plane(polygon: list[Point], a: tuple[float, float], b: float) -> list[Point]:
    """The part of a convex polygon where a . p <= b (one Sutherland-Hodgman step)."""
    kept: list[Point] = []
    for i, current in enumerate(polygon):
        previous = polygon[i - 1]
        d_now = a[0] * current[0] + a[1] * current[1] - b
        d_prev = a[0] * previous[0] + a[1] * previous[1] - b
        if (d_now <= 0) != (d_prev <= 0):
            t = d_prev / (d_prev - d_now)
            kept.append((previous[0] + t * (current[0] - previous[0]), previous[1] + t * (current[1] - previous[1])))
        if d_now <= 0:
            kept.append(current)
    return kept
