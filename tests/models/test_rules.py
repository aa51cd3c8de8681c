"""Segment rules recorded at training: faithful to the model, exact in SQL, readable in the features' own words."""

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from app.models.features import Feature
from app.models.rules import round_threshold, segment_rules
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_transactions import write_transactions
from app.models.training import TrainingResult, train
from tests.models.three_features import SPECS, write_customers

KINDS = ("default", "columns", "rfm")


@pytest.fixture(scope="module", params=KINDS)
def trained(request: pytest.FixtureRequest, default_data: Path, tmp_path_factory) -> TrainingResult:
    """A version of each segmentation kind, with the data it was trained on."""
    folder = tmp_path_factory.mktemp(f"rules-{request.param}")
    if request.param == "default":
        return train(default_data, output_dir=folder / "models", sweep=False)
    if request.param == "columns":
        return train(write_customers(folder / "customers.csv"), output_dir=folder / "models", specs=SPECS, k=3)
    transactions, _ = write_transactions(folder / "t.csv", customers=300, seed=3)
    spec = SegmentationCatalog(folder).create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    return train_segmentation(spec, transactions, models_root=folder, k=4, sweep=False)


def _training(result: TrainingResult) -> tuple[np.ndarray, np.ndarray]:
    """The training customers in original units and the segment id the model gives each."""
    model = result.model
    X = result.dataset.frame[model.features].to_numpy(dtype=np.float64)
    ids = np.array([segment.segment_id for segment in model.segments])[model.labels(X)]
    return X, ids


def _selected(X: np.ndarray, features: list[str], alternatives: list[list[dict]]) -> set[int]:
    """Rows meeting the conditions, evaluated one row at a time (independently of the model code)."""
    ops = {"<": lambda a, b: a < b, ">=": lambda a, b: a >= b}
    return {
        row
        for row in range(len(X))
        if any(
            all(ops[c["op"]](X[row, features.index(c["feature"])], c["value"]) for c in conditions)
            for conditions in alternatives
        )
    }


def test_rules_fidelity_is_what_the_rules_do_on_the_training_customers(trained: TrainingResult) -> None:
    model = trained.model
    recorded = model.info["segment_rules"]
    X, ids = _training(trained)
    selected = {
        int(key): _selected(X, model.features, rules["conditions"]) for key, rules in recorded["segments"].items()
    }
    assert set(selected) == {segment.segment_id for segment in model.segments}
    # The leaves of a tree partition the customers: every one is selected by exactly one segment's rules.
    assert sorted(row for rows in selected.values() for row in rows) == list(range(len(X)))
    agree = 0
    for segment_id, rows in selected.items():
        actual = set(np.flatnonzero(ids == segment_id).tolist())
        hits = len(rows & actual)
        agree += hits
        rules = recorded["segments"][str(segment_id)]
        precision = hits / len(rows) if rows else 0.0
        recall = hits / len(actual)
        assert math.isclose(rules["precision"], precision) and math.isclose(rules["recall"], recall)
        assert math.isclose(rules["fidelity"], min(precision, recall))
        assert 0 <= rules["fidelity"] <= 1
    assert math.isclose(recorded["fidelity"], agree / len(X))
    assert recorded["fidelity"] >= 0.8  # planted groups: a depth-3 tree reproduces most of the segments


def test_the_sql_selects_in_sqlite_exactly_the_rows_the_conditions_select(trained: TrainingResult) -> None:
    model = trained.model
    X, _ = _training(trained)
    columns = [spec.source_column for spec in model.feature_specs]
    quoted = ", ".join('"' + column.replace('"', '""') + '"' for column in columns)
    with sqlite3.connect(":memory:") as db:
        db.execute(f"CREATE TABLE customers (row INTEGER, {quoted})")
        db.executemany(
            f"INSERT INTO customers VALUES (?, {', '.join('?' * len(columns))})",
            [(row, *map(float, values)) for row, values in enumerate(X)],
        )
        for rules in model.info["segment_rules"]["segments"].values():
            rows = {row for (row,) in db.execute(f"SELECT row FROM customers WHERE {rules['sql']}")}
            assert rows == _selected(X, model.features, rules["conditions"]), rules["sql"]
            for column in columns:
                if any(c["column"] == column for alternative in rules["conditions"] for c in alternative):
                    assert f'"{column}"' in rules["sql"]


def test_sentences_use_the_features_labels_and_units(trained: TrainingResult) -> None:
    model = trained.model
    by_name = {spec.name: spec for spec in model.feature_specs}
    for rules in model.info["segment_rules"]["segments"].values():
        assert len(rules["clauses"]) == len(rules["conditions"])
        for clause, conditions in zip(rules["clauses"], rules["conditions"], strict=True):
            for condition in conditions:
                spec = by_name[condition["feature"]]
                assert spec.label.split(" (")[0] in clause
                if spec.short_unit:
                    assert f" {spec.short_unit}" in clause
            assert "feature" not in clause and "_" not in clause  # never the API names


def test_default_sentences_read_in_income_and_spending_words(model) -> None:
    clauses = [c for rules in model.info["segment_rules"]["segments"].values() for c in rules["clauses"]]
    assert any("Annual Income" in clause and " k$" in clause for clause in clauses)
    assert any("Spending Score" in clause for clause in clauses)
    assert not any("Annual Income (k$)" in clause for clause in clauses)  # the unit follows the number instead


def test_sql_quotes_column_names_and_doubles_their_quotes() -> None:
    specs = [
        Feature.from_dict({"name": "spend", "column": 'Spend "net"', "label": "Spend", "unit": "€"}),
        Feature.from_dict({"name": "visits", "column": "visits; DROP TABLE x", "label": "Visits"}),
    ]
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal((10, 2), 1, (50, 2)), rng.normal((40, 9), 1, (50, 2))])
    ids = np.repeat([0, 1], 50)
    recorded = segment_rules(X, ids, specs, seed=1)
    sql = recorded["segments"]["1"]["sql"]
    assert '"Spend ""net"""' in sql or '"visits; DROP TABLE x"' in sql
    assert recorded["fidelity"] == 1.0
    with sqlite3.connect(":memory:") as db:
        db.execute('CREATE TABLE t ("Spend ""net""" REAL, "visits; DROP TABLE x" REAL)')
        db.executemany("INSERT INTO t VALUES (?, ?)", X.tolist())
        for segment_id in ("0", "1"):
            (count,) = db.execute(f"SELECT COUNT(*) FROM t WHERE {recorded['segments'][segment_id]['sql']}").fetchone()
            assert count == 50


def test_a_segment_the_tree_never_predicts_has_no_rules_and_selects_nothing() -> None:
    spec = [Feature.from_dict({"name": "x", "column": "X", "label": "X"})]
    X = np.concatenate([np.arange(200.0), [1000.0]])[:, None]
    ids = np.array([0] * 100 + [1] * 100 + [2])  # one customer: below any leaf's minimum size
    recorded = segment_rules(X, ids, spec, seed=0)
    lone = recorded["segments"]["2"]
    assert lone["conditions"] == [] and lone["clauses"] == [] and lone["sql"] == "1 = 0"
    assert lone["recall"] == 0 and lone["fidelity"] == 0
    with sqlite3.connect(":memory:") as db:
        db.execute('CREATE TABLE t ("X" REAL)')
        db.executemany("INSERT INTO t VALUES (?)", X.tolist())
        assert db.execute(f"SELECT COUNT(*) FROM t WHERE {lone['sql']}").fetchone() == (0,)


@pytest.mark.parametrize(("low", "high", "expected"), [(34.2, 35.9, 35.0), (44_999.5, 45_123.0, 45_000.0)])
def test_thresholds_become_round_numbers(low: float, high: float, expected: float) -> None:
    assert round_threshold(low, high) == expected


def test_a_rounded_threshold_always_lies_between_its_neighbours() -> None:
    rng = np.random.default_rng(0)
    for _ in range(2000):
        low = float(rng.normal(0, 10.0 ** rng.integers(-4, 7)))
        high = low + float(rng.exponential(10.0 ** rng.integers(-6, 5)))
        if high > low:
            assert low < round_threshold(low, high) <= high, (low, high)
