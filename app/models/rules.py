"""Segment rules a CRM can use: a shallow decision tree on the training customers, read as conditions, text and SQL."""

import math
from typing import Any

import numpy as np

from app.models.features import Feature

RULES_MAX_DEPTH = 3
# Rows the tree is fitted on: a depth-3 tree learns nothing more from millions, and fitting stays well under a second.
RULES_SAMPLE_SIZE = 100_000
# Each leaf needs this many training customers, so a rule never stands for a handful of odd ones.
MIN_LEAF_SHARE = 0.01
# What a segment with no leaf, or a leaf without conditions, reads as in SQL: portable, unlike TRUE and FALSE.
SQL_NOTHING, SQL_EVERYTHING = "1 = 0", "1 = 1"
OPS = (">=", "<")  # a lower bound reads first: "Spending Score ≥ 37 and < 62"

Condition = dict[str, Any]  # {"feature", "column", "op", "value"}


def round_threshold(low: float, high: float) -> float:
    """The roundest number c with low < c <= high: `x < c` then splits the training values exactly as the tree did."""
    if not low < high:
        raise ValueError("low must be below high")
    span = max(abs(low), abs(high), high - low)
    top = math.floor(math.log10(span)) + 1
    for exponent in range(top, top - 16, -1):
        for mantissa in (10, 5, 2, 1):
            step = mantissa * 10.0 ** (exponent - 1)
            decimals = max(0, 1 - exponent)
            candidate = round(math.floor(low / step + 1) * step, decimals)
            if low < candidate <= high:
                return float(candidate)
    return float(high)


def _neighbours(values: np.ndarray, threshold: float) -> tuple[float, float]:
    """The largest training value at or below the tree's threshold and the smallest above it."""
    index = int(np.searchsorted(values, threshold, side="right"))
    return float(values[index - 1]), float(values[index])


def _leaf_paths(tree: Any, specs: list[Feature], sorted_columns: list[np.ndarray]) -> list[tuple[list[Condition], int]]:
    """Every leaf's conditions (tightest bound per feature and side) and the class index it predicts."""
    found: list[tuple[list[Condition], int]] = []

    def walk(node: int, bounds: dict[tuple[int, str], float]) -> None:
        left, right = int(tree.children_left[node]), int(tree.children_right[node])
        if left == right:  # a leaf
            conditions = [
                _condition(specs[feature], op, value)
                for (feature, op), value in sorted(bounds.items(), key=lambda item: (item[0][0], OPS.index(item[0][1])))
            ]
            found.append((conditions, int(np.argmax(tree.value[node][0]))))
            return
        feature = int(tree.feature[node])
        cut = round_threshold(*_neighbours(sorted_columns[feature], float(tree.threshold[node])))
        below = dict(bounds)
        below[(feature, "<")] = min(cut, bounds.get((feature, "<"), math.inf))
        above = dict(bounds)
        above[(feature, ">=")] = max(cut, bounds.get((feature, ">="), -math.inf))
        walk(left, below)
        walk(right, above)

    walk(0, {})
    return found


def _condition(spec: Feature, op: str, value: float) -> Condition:
    return {"feature": spec.name, "column": spec.source_column, "op": op, "value": value}


def matches(X: np.ndarray, alternatives: list[list[Condition]], features: list[str]) -> np.ndarray:
    """Rows of X (original units) that meet any alternative, each alternative all of its conditions."""
    index = {name: i for i, name in enumerate(features)}
    selected = np.zeros(len(X), dtype=bool)
    for conditions in alternatives:
        rows = np.ones(len(X), dtype=bool)
        for condition in conditions:
            column = X[:, index[condition["feature"]]]
            rows &= column < condition["value"] if condition["op"] == "<" else column >= condition["value"]
        selected |= rows
    return selected


def sql_number(value: float) -> str:
    """A plain SQL numeric literal: no exponent, no trailing zeros."""
    return np.format_float_positional(float(value), trim="-")


def quote_identifier(column: str) -> str:
    """An ANSI double-quoted identifier, inner double quotes doubled."""
    return '"' + column.replace('"', '""') + '"'


def sql_where(alternatives: list[list[Condition]]) -> str:
    """The alternatives as one ANSI WHERE clause: ANDed conditions in parentheses, ORed together."""
    if not alternatives:
        return SQL_NOTHING
    parts = []
    for conditions in alternatives:
        if not conditions:
            return SQL_EVERYTHING
        parts.append(
            "("
            + " AND ".join(f"{quote_identifier(c['column'])} {c['op']} {sql_number(c['value'])}" for c in conditions)
            + ")"
        )
    return " OR ".join(parts)


def feature_words(spec: Feature) -> str:
    """A feature's label as a sentence names it: "Annual Income (k$)" reads "Annual Income" (units follow values)."""
    label = spec.label
    if label.endswith(")") and " (" in label:
        label = label[: label.rindex(" (")]
    return label


def number_text(value: float) -> str:
    """A threshold as people write it: thousands separated, no needless decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    whole, _, decimals = sql_number(value).partition(".")
    return f"{int(whole):,}.{decimals}" if whole not in ("-0", "") else f"{whole}.{decimals}"


def clause_text(conditions: list[Condition], specs: list[Feature]) -> str:
    """One alternative in words: "Annual Income ≥ 70 k$ and Spending Score ≥ 61"."""
    by_name = {spec.name: spec for spec in specs}
    if not conditions:
        return "Every customer"
    words = []
    for index, condition in enumerate(conditions):
        spec = by_name[condition["feature"]]
        unit = f" {spec.short_unit}" if spec.short_unit else ""
        op = "<" if condition["op"] == "<" else "≥"
        # The upper bound of a range names its feature once: "Spending Score ≥ 37 and < 62".
        same = index > 0 and conditions[index - 1]["feature"] == condition["feature"]
        if same:
            words[-1] = words[-1].removesuffix(unit)
        words.append(f"{'' if same else feature_words(spec) + ' '}{op} {number_text(condition['value'])}{unit}")
    return " and ".join(words)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def segment_rules(
    X: np.ndarray, segment_ids: np.ndarray, specs: list[Feature], *, seed: int, max_depth: int = RULES_MAX_DEPTH
) -> dict[str, Any]:
    """Fit a shallow tree on X (original units) against each row's segment id; its rules per segment and fidelity."""
    from sklearn.tree import DecisionTreeClassifier  # training only: serving never imports scikit-learn

    X = np.asarray(X, dtype=np.float64)
    segment_ids = np.asarray(segment_ids)
    rng = np.random.default_rng(seed)
    fit_rows = (
        rng.choice(len(X), RULES_SAMPLE_SIZE, replace=False) if len(X) > RULES_SAMPLE_SIZE else slice(None)
    )  # fmt: skip
    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=max(1, int(MIN_LEAF_SHARE * len(X[fit_rows]))), random_state=seed
    ).fit(X[fit_rows], segment_ids[fit_rows])
    # Thresholds are moved to round numbers between neighbouring training values of the whole data, so the rules
    # split every training customer exactly as the tree does.
    sorted_columns = [np.unique(X[:, i]) for i in range(X.shape[1])]
    leaves = _leaf_paths(tree.tree_, specs, sorted_columns)
    features = [spec.name for spec in specs]
    assigned = np.full(len(X), -1, dtype=np.int64)
    by_segment: dict[int, list[list[Condition]]] = {int(s): [] for s in np.unique(segment_ids)}
    for conditions, class_index in leaves:
        segment_id = int(tree.classes_[class_index])
        by_segment[segment_id].append(conditions)
        assigned[matches(X, [conditions], features)] = segment_id
    segments = {}
    for segment_id, alternatives in by_segment.items():
        chosen, actual = assigned == segment_id, segment_ids == segment_id
        hits = int((chosen & actual).sum())
        precision, recall = _share(hits, int(chosen.sum())), _share(hits, int(actual.sum()))
        segments[str(segment_id)] = {
            "clauses": [clause_text(conditions, specs) for conditions in alternatives],
            "conditions": alternatives,
            "sql": sql_where(alternatives),
            "precision": precision,
            "recall": recall,
            "fidelity": min(precision, recall),
        }
    return {
        "method": "DecisionTreeClassifier",
        "max_depth": max_depth,
        "fit_sample_size": len(X[fit_rows]),
        "fidelity": float((assigned == segment_ids).mean()),
        "segments": segments,
    }
