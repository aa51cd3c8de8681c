"""The smallest change into a chosen segment: exact, minimal, within ranges, on every kind of segmentation."""

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from app.models.counterfactual import (
    STEP_OF_DEVIATION,
    change_decimals,
    counterfactual,
    counterfactuals,
    least_distance,
    model_space,
    original_units,
    standardize,
)
from app.models.model import Segment, SegmentationModel
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_transactions import write_transactions
from app.models.training import train
from app.models.versions.store import load_model
from tests.models import three_features


@pytest.fixture(scope="module")
def columns_model(tmp_path_factory: pytest.TempPathFactory) -> SegmentationModel:
    """Three features (income in dollars as log1p, visits unbounded above, tenure 0 to 60)."""
    folder = tmp_path_factory.mktemp("three")
    path = three_features.write_customers(folder / "customers.csv")
    result = train(path, output_dir=folder / "models", specs=three_features.SPECS, k=3)
    return load_model(folder / "models" / result.model.version)


@pytest.fixture(scope="module")
def rfm_model(tmp_path_factory: pytest.TempPathFactory) -> SegmentationModel:
    root = tmp_path_factory.mktemp("rfm")
    path, _ = write_transactions(root / "t.csv", customers=300, seed=3)
    spec = SegmentationCatalog(root).create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    return train_segmentation(spec, path, models_root=root, k=4, sweep=False).model


@pytest.fixture(params=["default", "columns", "rfm"])
def any_model(request: pytest.FixtureRequest) -> SegmentationModel:
    return request.getfixturevalue({"default": "model", "columns": "columns_model", "rfm": "rfm_model"}[request.param])


def _customers(model: SegmentationModel, count: int = 4) -> np.ndarray:
    """Every segment's centroid (original units) and a few training-range customers."""
    centroids = np.array([[segment.centroid[f] for f in model.features] for segment in model.segments])
    low, high = model.training_range
    rng = np.random.default_rng(11)
    customers = np.vstack([centroids, rng.uniform(low, high, (count, len(model.features)))])
    # Counts are whole, as customers have them.
    whole = model_space(model).whole
    customers[:, whole] = np.round(customers[:, whole])
    return customers


def _constraints(model: SegmentationModel, target: int):
    """The cell and the box as rows a . z <= b in standardized space, written out independently of the solver."""
    space = model_space(model)
    A, b = space.cell(target)
    rows, rhs = list(A), list(b)
    for f in range(len(model.features)):
        unit = np.eye(len(model.features))[f]
        if np.isfinite(space.high[f]):
            rows.append(unit), rhs.append(space.high[f])
        if np.isfinite(space.low[f]):
            rows.append(-unit), rhs.append(-space.low[f])
    return np.array(rows), np.array(rhs)


def _brute_force(model, z0, target, *, weights, fixed) -> float:
    """The exact optimum by enumerating active sets: the least distance over every feasible vertex of the KKT
    system (inf when no feasible point exists)."""
    A, b = _constraints(model, target)
    free = ~fixed
    root = np.sqrt(weights[free])
    C, d = A[:, free] / root, b - A @ z0  # C y <= d with y = root * (z_free - z0_free)
    best = np.inf
    for size in range(int(free.sum()) + 1):
        for subset in itertools.combinations(range(len(C)), size):
            y = np.zeros(int(free.sum())) if not size else np.linalg.lstsq(C[list(subset)], d[list(subset)])[0]
            if (C @ y <= d + 1e-9).all():
                best = min(best, float(np.linalg.norm(y)))
    return best


def _rounding(model: SegmentationModel, weights=None) -> float:
    """How far (weighted, standardized) a change rounded to its step may take an answer from the exact optimum: two
    steps of every feature (half a step of rounding, a step back inside a bound or on past a boundary, and a log1p
    curve's slack)."""
    w = np.ones(len(model.features)) if weights is None else np.asarray(weights, dtype=float)
    space = model_space(model)
    # A count (RFM frequency) moves in whole orders: its step is one order, widest where the count is smallest.
    low = np.maximum(space.minimum, 0.0)
    whole_step = np.where(space.log1p, np.log1p(low + 1) - np.log1p(low), 1.0) / space.scale
    steps = np.where(space.whole, whole_step, STEP_OF_DEVIATION)
    return float(np.linalg.norm(np.sqrt(w) * 2 * steps)) + 1e-9


def _as_shown(model: SegmentationModel, answer) -> bool:
    """Whether every change is a whole number of its feature's steps: what the pages and files show."""
    decimals = change_decimals(model, answer.point[None, :])[0]
    return all(round(c, int(d)) == c for c, d in zip(answer.change, decimals, strict=True))


def _in_cell(model, Z, target) -> np.ndarray:
    A, b = _constraints(model, target)
    return (b >= Z @ A.T).all(axis=1)


def test_every_pair_of_segments_is_reached_exactly_and_minimally(any_model: SegmentationModel) -> None:
    model = any_model
    n = len(model.features)
    weights = np.ones(n)
    for x0 in _customers(model):
        z0 = standardize(model, x0)
        for target in range(model.n_clusters):
            answer = counterfactual(model, x0, target)
            exact = _brute_force(model, z0, target, weights=weights, fixed=np.zeros(n, dtype=bool))
            if answer.current == target:
                assert answer.distance == 0 and (answer.change == 0).all()
                continue
            assert answer.reachable == np.isfinite(exact)
            if not answer.reachable:
                continue
            assert answer.distance == pytest.approx(exact, abs=_rounding(model))
            assert model.labels(answer.point[None, :])[0] == target
            assert answer.change == pytest.approx(answer.point - x0)
            assert _as_shown(model, answer)
            specs = model.feature_specs
            assert all(s.minimum - 1e-9 <= v <= s.maximum + 1e-9 for s, v in zip(specs, answer.point, strict=True))
            z = standardize(model, answer.point)
            assert np.linalg.norm(z - z0) == pytest.approx(answer.distance, abs=1e-9)


def test_no_point_of_a_random_search_inside_the_cell_is_closer(any_model: SegmentationModel) -> None:
    model = any_model
    rng = np.random.default_rng(5)
    x0 = _customers(model)[-1]
    z0 = standardize(model, x0)
    for target in range(model.n_clusters):
        answer = counterfactual(model, x0, target)
        if not answer.reachable or answer.distance == 0:
            continue
        z_star = standardize(model, answer.point)
        around = z_star + rng.normal(0, 1, (20_000, len(z0))) * rng.uniform(1e-6, 0.3, (20_000, 1))
        ball = z0 + rng.normal(0, 1, (20_000, len(z0))) * answer.distance * 1.3
        samples = np.vstack([around, ball])
        inside = samples[_in_cell(model, samples, target)]
        assert len(inside) > 100
        assert np.linalg.norm(inside - z0, axis=1).min() >= answer.distance - _rounding(model)


def test_a_fine_grid_of_the_default_map_finds_nothing_closer(model: SegmentationModel) -> None:
    xs, ys = np.meshgrid(np.linspace(0, 150, 601), np.linspace(1, 100, 397))
    grid = np.column_stack([xs.ravel(), ys.ravel()])
    Z = standardize(model, grid)
    x0 = np.array([60.0, 5.0])
    z0 = standardize(model, x0)
    for target in range(model.n_clusters):
        answer = counterfactual(model, x0, target)
        inside = Z[_in_cell(model, Z, target)]
        assert np.linalg.norm(inside - z0, axis=1).min() >= answer.distance - _rounding(model)


def test_weights_and_fixed_features_match_the_brute_force(any_model: SegmentationModel) -> None:
    model = any_model
    n = len(model.features)
    weights = np.linspace(0.5, 4.0, n)
    for fixed_feature in range(n):
        fixed = np.arange(n) == fixed_feature
        for x0 in _customers(model, count=2):
            z0 = standardize(model, x0)
            for target in range(model.n_clusters):
                answer = counterfactual(
                    model, x0, target, weights=weights.tolist(), immutable={model.features[fixed_feature]}
                )
                if answer.current == target:
                    continue
                exact = _brute_force(model, z0, target, weights=weights, fixed=fixed)
                assert answer.reachable == np.isfinite(exact)
                if answer.reachable:
                    assert answer.point[fixed_feature] == x0[fixed_feature]
                    assert answer.change[fixed_feature] == 0
                    assert answer.distance == pytest.approx(exact, abs=_rounding(model, weights))
                    assert model.labels(answer.point[None, :])[0] == target


def test_unreachable_answers_agree_with_a_linear_program(any_model: SegmentationModel) -> None:
    model = any_model
    n = len(model.features)
    unreachable = 0
    for fixed_feature, x0, target in itertools.product(range(n), _customers(model), range(model.n_clusters)):
        answer = counterfactual(model, x0, target, immutable={model.features[fixed_feature]})
        if answer.current == target:
            continue
        A, b = _constraints(model, target)
        z0 = standardize(model, x0)
        bounds = [(z0[f], z0[f]) if f == fixed_feature else (None, None) for f in range(n)]
        feasible = linprog(np.zeros(n), A_ub=A, b_ub=b, bounds=bounds, method="highs").status == 0
        assert answer.reachable == feasible
        if not feasible:
            unreachable += 1
            assert np.isnan(answer.point).all() and model.feature_specs[fixed_feature].noun.lower() in answer.reason
    assert unreachable  # the case is exercised: some segment is out of reach with one feature fixed


def test_every_change_as_shown_lands_in_its_target(model: SegmentationModel) -> None:
    # An answer on the boundary (+28.84, +44.52) read as the one decimal a spending score is shown to (+28.8, +44.5)
    # predicted the segment it left; the change is now given to that step and the moved customer is in the target.
    for x0 in [np.array([60.0, 5.0]), *_customers(model)]:
        for target in range(model.n_clusters):
            answer = counterfactual(model, x0, target)
            assert (np.round(answer.change, 1) == answer.change).all()
            assert model.labels((x0 + np.round(answer.change, 1))[None, :])[0] == target


def test_an_rfm_frequency_changes_in_whole_orders_and_lands_in_its_target(rfm_model: SegmentationModel) -> None:
    # "+1.62 frequency (orders)" is no change a customer can make: a count moves by whole orders.
    frequency = rfm_model.features.index("frequency")
    customers = _customers(rfm_model, count=8)
    reached = 0
    for x0 in customers:
        assert change_decimals(rfm_model, x0[None, :])[0][frequency] <= 0
        for target in range(rfm_model.n_clusters):
            answer = counterfactual(rfm_model, x0, target)
            if not answer.reachable:
                continue
            reached += 1
            assert float(answer.change[frequency]).is_integer()
            assert rfm_model.labels((x0 + answer.change)[None, :])[0] == target
    assert reached > rfm_model.n_clusters


def test_the_target_segment_itself_is_no_change(model: SegmentationModel) -> None:
    x0 = np.array([60.0, 5.0])
    current = model.labels(x0[None, :])[0]
    answer = counterfactual(model, x0, current, immutable=set(model.features))
    assert answer.reachable and answer.distance == 0 and (answer.change == 0).all()
    assert (answer.point == x0).all()


def test_every_feature_fixed_cannot_move(model: SegmentationModel) -> None:
    x0 = np.array([60.0, 5.0])
    other = (model.labels(x0[None, :])[0] + 1) % model.n_clusters
    answer = counterfactual(model, x0, other, immutable=set(model.features))
    assert not answer.reachable and "cannot move" in answer.reason
    assert np.isnan(answer.distance)


def _two_segment_model() -> SegmentationModel:
    segments = [
        Segment(i, f"S{i}", i, {}, "", [], [], {}, 1, 0.5, {}, 1.0)  # id, name, label, ..., distance_p95
        for i in range(2)
    ]
    return SegmentationModel(
        ["annual_income", "spending_score"], [50.0, 50.0], [10.0, 10.0], [[-1.0, 0.0], [1.0, 0.0]], segments
    )


def test_a_known_answer_across_one_boundary() -> None:
    model = _two_segment_model()
    answer = counterfactual(model, [20.0, 47.0], 1)
    # The boundary is income 50; a change is given to a step of 0.1 (a hundredth of the deviation, 10), and the
    # first step past the boundary is the answer; spending does not move.
    assert answer.change == pytest.approx([30.1, 0.0], abs=1e-12)
    assert answer.point == pytest.approx([50.1, 47.0], abs=1e-12)
    assert answer.distance == pytest.approx(3.01, abs=1e-12)
    heavy = counterfactual(model, [20.0, 47.0], 1, weights=[4.0, 1.0])
    assert heavy.distance == pytest.approx(2 * 3.01, abs=1e-12)


def test_a_segment_beyond_the_valid_range_is_unreachable() -> None:
    model = _two_segment_model()
    # Segment 1 starts at income 50 + margin: cap the valid income below it.
    capped = SegmentationModel(
        model.features, model.mean, model.scale, model.cluster_centers, model.segments,
        {"feature_spec": [{"name": "annual_income", "max": 45.0}, {"name": "spending_score"}]},
    )  # fmt: skip
    answer = counterfactual(capped, [20.0, 47.0], 1)
    assert not answer.reachable and "valid range" in answer.reason
    many = counterfactuals(capped, np.array([[20.0, 47.0], [30.0, 60.0]]), np.array([1, 0]))
    assert many.reachable.tolist() == [False, True] and np.isnan(many.points[0]).all()
    assert many.distances[1] == 0 and (many.changes[1] == 0).all()


def test_the_closed_form_for_files_agrees_with_the_general_solver(model: SegmentationModel) -> None:
    rng = np.random.default_rng(2)
    X = rng.uniform([0, 1], [150, 100], (300, 2))
    targets = rng.integers(0, model.n_clusters, 300)
    for weights in (None, [3.0, 0.5]):
        many = counterfactuals(model, X, targets, weights=weights)
        for i in range(len(X)):
            one = counterfactual(model, X[i], int(targets[i]), weights=weights)
            assert many.reachable[i] == one.reachable
            assert many.points[i] == pytest.approx(one.point, abs=1e-7)
            assert many.distances[i] == pytest.approx(one.distance, abs=1e-9)
        assert (many.current == model.labels(X)).all()
        assert (model.labels(many.points) == targets).all()


def test_files_of_more_features_are_answered_row_by_row(columns_model: SegmentationModel) -> None:
    X = _customers(columns_model)
    targets = np.arange(len(X)) % columns_model.n_clusters
    many = counterfactuals(columns_model, X, targets)
    for i in range(len(X)):
        one = counterfactual(columns_model, X[i], int(targets[i]))
        assert many.distances[i] == pytest.approx(one.distance, abs=1e-12)
    assert (columns_model.labels(many.points) == targets).all()


def test_an_unbounded_cell_is_cut_without_changing_the_answer() -> None:
    model = _two_segment_model()
    free = SegmentationModel(
        model.features, model.mean, model.scale, model.cluster_centers, model.segments,
        {"feature_spec": [{"name": "annual_income"}, {"name": "spending_score"}]},
    )  # fmt: skip
    X = np.array([[-500.0, 3_000.0], [20.0, 47.0]])
    many = counterfactuals(free, X, np.array([1, 1]))
    assert many.points[:, 0] == pytest.approx([50.1, 50.1])  # the first step past the boundary, income 50
    assert many.points[:, 1] == pytest.approx(X[:, 1])


def test_original_units_round_trip(columns_model: SegmentationModel, tmp_path: Path) -> None:
    X = _customers(columns_model)
    assert original_units(columns_model, standardize(columns_model, X)) == pytest.approx(X)


@pytest.mark.parametrize("n", [2, 5, 8])
def test_least_distance_answers_satisfy_the_kkt_conditions(n: int) -> None:
    rng = np.random.default_rng(n)
    for _ in range(200):
        m = int(rng.integers(1, 27))
        G, h = rng.normal(size=(m, n)), rng.normal(size=m)
        y = least_distance(G, h)
        feasible = linprog(np.zeros(n), A_ub=-G, b_ub=-h, bounds=[(None, None)] * n, method="highs").status == 0
        assert (y is not None) == feasible
        if y is None:
            continue
        slack = G @ y - h
        assert (slack >= -1e-9).all()
        active = np.abs(slack) <= 1e-9
        if not active.any():
            assert np.allclose(y, 0)
            continue
        # Stationarity with non-negative multipliers on the active constraints: y = G_A^T lambda, lambda >= 0.
        multipliers, *_ = np.linalg.lstsq(G[active].T, y, rcond=None)
        assert np.allclose(G[active].T @ multipliers, y, atol=1e-9)
        assert (multipliers >= -1e-9).all()


def test_contradictory_constraints_have_no_answer() -> None:
    assert least_distance(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1.0, 0.0])) is None
    assert least_distance(np.zeros((1, 2)), np.array([1.0])) is None


def test_a_solver_that_loses_precision_calls_the_target_unreachable(model: SegmentationModel) -> None:
    # Weights the API refuses (1e-200) overflow the scaled constraints; the point found then lies outside the
    # target, and is never handed out as reachable.
    current = int(model.predict(np.array([[60.0, 5.0]]))[0][0])
    target = next(position for position in range(model.n_clusters) if position != current)
    answer = counterfactual(model, [60.0, 5.0], target, weights=[1e-200, 1.0])
    assert not answer.reachable
    assert "precisely enough" in answer.reason
