"""The smallest change that moves a customer into a chosen segment: a nearest point in a Voronoi cell.

A nearest-centroid model sends z (standardized model space) to segment X exactly when |z - c_X|^2 <= |z - c_j|^2 for
every other centroid c_j: half-spaces 2 (c_j - c_X) . z <= |c_j|^2 - |c_X|^2. With a margin inside the boundary, the
valid ranges (a box, since log1p and standardizing are monotonic per feature) and some features held fixed, the
nearest such point in a weighted metric is a least-distance program, min |y| subject to G y >= h, which Lawson and
Hanson solve exactly by one non-negative least-squares problem; the active set found is then solved once more in
closed form, so answers are exact to rounding. In two dimensions a file is answered by a vectorised closed form:
the cell clipped to the box is a convex polygon, and the nearest point is the customer or a projection on an edge.
Either way the change is then rounded to each feature's step (as it is shown), and the rounded point is checked to
be in the target: the margin is what rounding can move, so it is (a point on a boundary or past a log1p curve is
nudged a step on).
"""

import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.errors import UnknownSegment
from app.models.features import from_model_space, to_model_space
from app.models.model import SegmentationModel
from app.models.segmentations.spec import RFM_COUNTS
from app.utils.geometry import clip_half_plane
from app.utils.numbers import whole_number

# A change is given to a power of ten at most this fraction of the feature's standard deviation where the customer
# lands (0.1 for a spending score whose deviation is 25; for a log1p feature, the deviation at that value): finer only
# looks precise, coarser is not the smallest change. Answers lie far enough inside the boundary for that rounding.
STEP_OF_DEVIATION = 0.01
# How many more steps a rounded point that missed the target is moved on before the answer is given up.
_NUDGES = 8
# Below this, the LDP residual's last component says "no point satisfies the constraints".
_INFEASIBLE = 1e-13
# Slack accepted when checking that a point satisfies constraints of unit-sized coefficients.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Counterfactual:
    """One customer's smallest move into a target segment (positions index model.segments)."""

    current: int
    target: int
    point: np.ndarray  # target point in original units (NaN when unreachable)
    change: np.ndarray  # point - customer, original units
    distance: float  # weighted distance in standardized model space (NaN when unreachable)
    reachable: bool
    reason: str | None = None


@dataclass(frozen=True)
class Counterfactuals:
    """Many customers' smallest moves, one row each (NaN where unreachable)."""

    current: np.ndarray
    targets: np.ndarray
    points: np.ndarray
    changes: np.ndarray
    distances: np.ndarray
    reachable: np.ndarray


@dataclass(frozen=True)
class Space:
    """A model's centroids (segment order), scaler and standardized valid box."""

    centroids: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    low: np.ndarray
    high: np.ndarray
    # The valid ranges in original units, and which features are log1p (a step that depends on the value).
    minimum: np.ndarray
    maximum: np.ndarray
    log1p: np.ndarray
    # Which features are counts, changed in whole steps (an RFM segmentation's frequency).
    whole: np.ndarray
    # The most rounding a change to its step moves each feature, in standardized units: half a step.
    rounding: np.ndarray
    cells: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def cell(self, target: int) -> tuple[np.ndarray, np.ndarray]:
        """`cell` of one target, each rival's half-space shrunk by the most rounding can move 2 (c_j - c_X) . z, so
        that a rounded answer stays in the target; computed once."""
        if target not in self.cells:
            gaps = np.abs(np.delete(self.centroids, target, axis=0) - self.centroids[target])
            self.cells[target] = cell(self.centroids, target, 2 * gaps @ self.rounding)
        return self.cells[target]


# A fitted model never changes, so its space is built once; weak keys let a retired version go.
_spaces: "weakref.WeakKeyDictionary[SegmentationModel, Space]" = weakref.WeakKeyDictionary()


def model_space(model: SegmentationModel) -> Space:
    """A model's centroids in segment order, its scaler, and its valid ranges in standardized units."""
    space = _spaces.get(model)
    if space is None:
        space = _spaces[model] = _new_space(model)
    return space


def _new_space(model: SegmentationModel) -> Space:
    order = [segment.kmeans_label for segment in model.segments]
    specs = model.feature_specs
    with np.errstate(invalid="ignore", divide="ignore"):
        # log1p(x) needs x >= -1; a lower bound below that is no bound in model space.
        lows = np.array([max(s.minimum, -1.0) if s.transform == "log1p" else s.minimum for s in specs], dtype=float)
        highs = np.array([s.maximum for s in specs], dtype=float)
        low = (to_model_space(lows, specs) - model.mean) / model.scale
        high = (to_model_space(highs, specs) - model.mean) / model.scale
    # A feature as it is has one step everywhere; a log1p feature's step is at most STEP_OF_DEVIATION anywhere (a
    # count's whole step can round further: the rounded point is then nudged on, a step at a time, into the target).
    log1p = np.array([spec.transform == "log1p" for spec in specs])
    whole = np.array([model.info.get("kind") == "rfm" and spec.name in RFM_COUNTS for spec in specs])
    steps = 10.0 ** -_decimals(model.scale, log1p, whole, np.zeros((1, len(specs))))[0].astype(float)
    rounding = np.where(log1p, STEP_OF_DEVIATION, steps / model.scale) / 2
    minimum = np.array([s.minimum for s in specs], dtype=float)
    maximum = np.array([s.maximum for s in specs], dtype=float)
    return Space(
        model.cluster_centers[order], model.mean, model.scale, low, high, minimum, maximum, log1p, whole, rounding
    )


def change_decimals(model: SegmentationModel, points: np.ndarray) -> np.ndarray:
    """The decimals each value of `points` (rows, original units) is given to (negative for tens, hundreds, ...):
    the power of ten at most STEP_OF_DEVIATION of its feature's standard deviation there, and never below 1 for a
    count."""
    space = model_space(model)
    return _decimals(space.scale, space.log1p, space.whole, points)


def _decimals(scale: np.ndarray, log1p: np.ndarray, whole: np.ndarray, points: np.ndarray) -> np.ndarray:
    # What one standardized unit is worth at the point: the scale, or for log1p the scale times d(expm1)/dz.
    per_unit = scale * np.where(log1p, 1 + np.maximum(np.nan_to_num(points), 0), 1.0)
    decimals = -np.floor(np.log10(per_unit * STEP_OF_DEVIATION)).astype(int)
    return np.where(whole, np.minimum(decimals, 0), decimals)


def _to_steps(values: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """Values rounded to their decimals, as short decimals (28.9, not 289 * 0.1)."""
    power = 10.0 ** np.abs(decimals)
    return np.where(decimals >= 0, np.rint(values * power) / power, np.rint(values / power) * power)


def shown_changes(
    model: SegmentationModel, X: np.ndarray, points: np.ndarray, targets: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    """Each row of X's change to `points` rounded to each feature's step, that moves it into its target and keeps it
    within the valid ranges; NaN where no rounded change a few steps on does (or `points` is NaN already)."""
    space = model_space(model)
    low, high = space.minimum, space.maximum
    decimals = _decimals(space.scale, space.log1p, space.whole, points)
    steps = np.where(decimals >= 0, 1 / 10.0 ** np.abs(decimals), 10.0 ** np.abs(decimals))
    direction = np.sign(points - X)
    rounded = _to_steps(points - X, decimals)
    # A fixed feature stays as it is, nudges included (its point can differ from X by a rounding error).
    rounded[:, fixed] = direction[:, fixed] = 0.0
    answer = np.full_like(X, np.nan)
    todo = np.flatnonzero(np.isfinite(rounded).all(axis=1))
    for _ in range(_NUDGES + 1):
        if not todo.size:
            break
        x, change, step = X[todo], rounded[todo], steps[todo]
        # Rounding past a bound takes the last step inside it instead.
        change = np.where(x + change > high, np.floor((high - x) / step) * step, change)
        change = _to_steps(np.where(x + change < low, np.ceil((low - x) / step) * step, change), decimals[todo])
        landed = model.labels(x + change) == targets[todo]
        answer[todo[landed]] = change[landed]
        todo = todo[~landed]
        rounded[todo] = _to_steps(rounded[todo] + direction[todo] * steps[todo], decimals[todo])
    return answer


def segment_position(model: SegmentationModel, target: int | str) -> int:
    """The position in model.segments of a segment given by id, by name (any case) or by id in digits; UnknownSegment
    (a 404) for none."""
    for position, segment in enumerate(model.segments):
        if segment.segment_id == target if isinstance(target, int) else segment.name.casefold() == target.casefold():
            return position
    if isinstance(target, str) and whole_number(target.strip()) is not None:
        return segment_position(model, int(target.strip()))
    known = ", ".join(f"{segment.segment_id} ({segment.name})" for segment in model.segments)
    shown = target if isinstance(target, int) else repr(target[:60])
    raise UnknownSegment(f"no segment {shown} in model version {model.version}; its segments are {known}")


def standardize(model: SegmentationModel, X: np.ndarray) -> np.ndarray:
    """Original units to standardized model space (rows or one row)."""
    return (to_model_space(np.asarray(X, dtype=float), model.feature_specs) - model.mean) / model.scale


def original_units(model: SegmentationModel, Z: np.ndarray) -> np.ndarray:
    """Standardized model space back to original units."""
    return from_model_space(np.asarray(Z, dtype=float) * model.scale + model.mean, model.feature_specs)


def cell(centroids: np.ndarray, target: int, margin: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment `target`'s Voronoi cell as A z <= b, each rival's half-space shrunk by `margin` (one, or one each)."""
    others = np.delete(centroids, target, axis=0)
    own = centroids[target]
    return 2.0 * (others - own), (others * others).sum(axis=1) - own @ own - margin


def least_distance(G: np.ndarray, h: np.ndarray) -> np.ndarray | None:
    """The shortest y with G y >= h (Lawson-Hanson LDP through NNLS, then the active set solved exactly); None when
    no y satisfies the constraints."""
    # scipy on first use: serving predictions never loads it (tests/models/test_artifacts.py).
    from scipy.optimize import nnls

    m, n = G.shape
    if m == 0 or (h <= 0).all():
        return np.zeros(n)
    # Rows of unit length keep NNLS and the infeasibility test on one scale; the constraints are unchanged.
    norms = np.linalg.norm(G, axis=1)
    empty = norms == 0
    if (h[empty] > 0).any():
        return None
    G, h = G[~empty] / norms[~empty, None], h[~empty] / norms[~empty]
    E = np.vstack([G.T, h[None, :]])
    f = np.zeros(n + 1)
    f[n] = 1.0
    u, _ = nnls(E, f, maxiter=50 * (m + n + 1))
    r = E @ u - f
    if abs(r[n]) < _INFEASIBLE:
        return None
    y = -r[:n] / r[n]
    # The constraints holding with equality fix the answer: the least-norm solution of G_A y = h_A, exact up to
    # rounding, kept when it is feasible and satisfies the KKT conditions (y a non-negative combination of G_A).
    active = np.flatnonzero(u > 0)
    if active.size:
        exact = np.linalg.lstsq(G[active], h[active], rcond=None)[0]
        weights = np.linalg.lstsq(G[active].T, exact, rcond=None)[0]
        if (G @ exact - h >= -1e-12 * (1 + np.abs(h))).all() and (weights >= -1e-12).all():
            y = exact
    # Whatever NNLS said, only a point that satisfies every constraint is an answer.
    if (G @ y - h < -_TOLERANCE * (1 + np.abs(h))).any():
        return None
    return y


def _fixed_names(model: SegmentationModel, fixed: np.ndarray) -> str:
    names = [model.feature_specs[f].noun.lower() for f in np.flatnonzero(fixed)]
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


def counterfactual(
    model: SegmentationModel,
    values: Sequence[float],
    target: int,
    *,
    weights: Sequence[float] | None = None,
    immutable: Collection[str] = (),
) -> Counterfactual:
    """The nearest point to one customer (original units) that the model puts in segment position `target`, its
    change rounded to each feature's step.

    `weights` (one positive number per feature, default 1) weigh each feature's squared standardized change;
    `immutable` names features that keep their value; every feature stays within its valid range.
    """
    space = model_space(model)
    x0 = np.asarray(values, dtype=float)
    z0 = standardize(model, x0)
    current = int(np.argmin(((space.centroids - z0) ** 2).sum(axis=1)))
    name = model.segments[target].name
    if current == target:
        return Counterfactual(current, target, x0.copy(), np.zeros_like(x0), 0.0, True)
    fixed = np.array([feature in immutable for feature in model.features])
    unreachable = np.full_like(x0, np.nan)
    if fixed.all():
        reason = f"every feature is fixed, so this customer cannot move: they stay in {model.segments[current].name}"
        return Counterfactual(current, target, unreachable, unreachable, float("nan"), False, reason)
    w = np.ones(len(x0)) if weights is None else np.asarray(weights, dtype=float)
    free = ~fixed
    root = np.sqrt(w[free])
    A, b = space.cell(target)
    # A z <= b with z_free = z0_free + y / root:  -(A_free / root) y >= -(b - A z0).
    rows = [-(A[:, free] / root)]
    rhs = [-(b - A @ z0)]
    eye = np.eye(int(free.sum()))
    for bound, sign in ((space.low, 1.0), (space.high, -1.0)):
        finite = np.isfinite(bound[free])
        rows.append(sign * eye[finite])
        rhs.append(sign * root[finite] * (bound[free] - z0[free])[finite])
    y = least_distance(np.vstack(rows), np.concatenate(rhs))
    if y is None:
        if fixed.any():
            reason = (
                f"with {_fixed_names(model, fixed)} kept as they are, no values within the valid ranges are in {name}"
            )
        else:
            reason = f"no values within the features' valid ranges are in {name}"
        return Counterfactual(current, target, unreachable, unreachable, float("nan"), False, reason)
    z = z0.copy()
    z[free] += y / root
    exact = original_units(model, z)
    # The rounded point is checked against the model: a solver that lost precision (weights far apart) must not
    # call a point in another segment reachable.
    change = shown_changes(model, x0[None, :], exact[None, :], np.array([target]), fixed)[0]
    if np.isnan(change).any():
        reason = f"no point in {name} could be found precisely enough with these weights; bring them closer together"
        return Counterfactual(current, target, unreachable, unreachable, float("nan"), False, reason)
    point = x0 + change
    distance = float(np.linalg.norm(np.sqrt(w) * (standardize(model, point) - z0)))
    return Counterfactual(current, target, point, change, distance, True)


def _polygon(space: Space, target: int, root: np.ndarray) -> np.ndarray:
    """Segment `target`'s cell within the valid box, in y = root * z coordinates, as a convex polygon (V, 2)."""
    A, b = space.cell(target)
    A = A / root
    low, high = space.low * root, space.high * root
    # An unbounded side is cut far out first; `_nearest_on_polygon` bounds what that cut may change.
    reach = 1e6 * (1 + np.abs(space.centroids * root).max())
    low, high = np.where(np.isfinite(low), low, -reach), np.where(np.isfinite(high), high, reach)
    polygon = [(low[0], low[1]), (high[0], low[1]), (high[0], high[1]), (low[0], high[1])]
    for a, bound in zip(A, b, strict=True):
        if not polygon:
            break
        polygon = clip_half_plane(polygon, (float(a[0]), float(a[1])), float(bound))
    return np.array(polygon, dtype=float).reshape(-1, 2)


def _nearest_on_polygon(polygon: np.ndarray, A: np.ndarray, b: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Each row of Y's nearest point in a convex polygon that is {y : A y <= b}: itself inside, else the nearest
    projection onto an edge."""
    start, end = polygon, np.roll(polygon, -1, axis=0)
    edge = end - start
    length = np.maximum((edge * edge).sum(axis=1), np.finfo(float).tiny)
    best = np.empty_like(Y)
    best_d = np.full(len(Y), np.inf)
    for s, e, ll in zip(start, edge, length, strict=True):
        t = np.clip(((Y - s) @ e) / ll, 0.0, 1.0)
        p = s + t[:, None] * e
        d = ((Y - p) ** 2).sum(axis=1)
        closer = d < best_d
        best[closer], best_d[closer] = p[closer], d[closer]
    inside = (b >= Y @ A.T).all(axis=1)
    best[inside] = Y[inside]
    return best


def counterfactuals(
    model: SegmentationModel,
    X: np.ndarray,
    targets: np.ndarray,
    *,
    weights: Sequence[float] | None = None,
) -> Counterfactuals:
    """`counterfactual` for many customers (rows of X, original units) and targets (segment positions), vectorised:
    the closed form for two features, one exact solve per row otherwise."""
    X = np.asarray(X, dtype=float)
    targets = np.asarray(targets, dtype=np.intp)
    n, n_features = X.shape
    space = model_space(model)
    Z = standardize(model, X)
    current = model.labels(X) if n else np.zeros(0, dtype=np.intp)
    points = np.full_like(X, np.nan)
    distances = np.full(n, np.nan)
    w = np.ones(n_features) if weights is None else np.asarray(weights, dtype=float)
    root = np.sqrt(w)
    same = current == targets
    changes = np.full_like(X, np.nan)
    points[same], changes[same], distances[same] = X[same], 0.0, 0.0
    if n_features != 2:
        for i in np.flatnonzero(~same):
            answer = counterfactual(model, X[i], int(targets[i]), weights=weights)
            points[i], changes[i], distances[i] = answer.point, answer.change, answer.distance
        return Counterfactuals(current, targets, points, changes, distances, np.isfinite(distances))
    Y = Z * root
    for target in np.unique(targets[~same]).tolist():
        rows = np.flatnonzero((targets == target) & ~same)
        polygon = _polygon(space, target, root)
        if not len(polygon):
            continue
        A, b = space.cell(target)
        A = A / root
        box_a = np.vstack([-np.eye(2), np.eye(2)])
        box_b = np.concatenate([-space.low * root, space.high * root])
        keep = np.isfinite(box_b)
        A, b = np.vstack([A, box_a[keep]]), np.concatenate([b, box_b[keep]])
        # The far cut of an unbounded side changes nothing within 2 |y| + |q| of the origin, for any q in the cell:
        # the nearest point lies there (it is no farther from y than q is).
        radius = 2 * np.linalg.norm(Y[rows], axis=1).max() + np.linalg.norm(polygon.mean(axis=0)) + 1
        box = np.array([[-radius, -radius], [radius, -radius], [radius, radius], [-radius, radius]])
        bounded = [tuple(p) for p in box]
        for a, bound in zip(A, b, strict=True):
            bounded = clip_half_plane(bounded, (float(a[0]), float(a[1])), float(bound))
        nearest = _nearest_on_polygon(np.array(bounded, dtype=float).reshape(-1, 2), A, b, Y[rows])
        exact = original_units(model, nearest / root)
        changes[rows] = shown_changes(model, X[rows], exact, targets[rows], np.zeros(2, dtype=bool))
        points[rows] = X[rows] + changes[rows]
        distances[rows] = np.linalg.norm((standardize(model, points[rows]) - Z[rows]) * root, axis=1)
    return Counterfactuals(current, targets, points, changes, distances, np.isfinite(distances))
