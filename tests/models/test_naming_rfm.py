"""The RFM vocabulary: names come from app.models.rfm.naming.rfm_names, then keep their identity across retrains."""

import re
import sys
import types

import numpy as np
import pandas as pd
import pytest

from app.models.model import FeatureStats, Segment
from app.models.naming import FIRST_DESCRIPTIVE_ID, name_segments, vocabulary_of
from app.models.segmentations.spec import RFM_FEATURES
from app.models.training import train

FEATURES = [spec.name for spec in RFM_FEATURES]
# (recency days, orders, spend) in the features' own units.
SHOWN = np.array([(10.0, 20.0, 3_000.0), (300.0, 1.0, 40.0), (15.0, 1.0, 60.0), (200.0, 12.0, 2_000.0)])


def _model_space(shown: np.ndarray) -> np.ndarray:
    return np.column_stack([shown[:, 0], np.log1p(shown[:, 1]), np.log1p(shown[:, 2])])


def _name(shown, features=FEATURES, **kwargs):
    order = [FEATURES.index(f) for f in features]
    seen = _model_space(shown)[:, order]
    specs = [RFM_FEATURES[i] for i in order]
    named = name_segments(
        seen, list(features), seen.mean(axis=0), seen.std(axis=0), specs=specs, shown=shown[:, order], **kwargs
    )
    return sorted(named, key=lambda segment: segment.kmeans_label)


@pytest.fixture
def fake_rules(monkeypatch):
    """A stand-in for the RFM rules: recent or not, frequent or not; records what it was given."""
    seen: list[np.ndarray] = []

    def rfm_names(centroids):
        seen.append(np.array(centroids))
        names = []
        for recency, frequency, _ in centroids:
            if recency < 12 and frequency > 5:
                name = "Champions"
            else:
                name = "New Customers" if recency < 60 and frequency <= 5 else "At Risk"
            names.append((name, f"About {name}.", [f"Look after {name}", "Then measure"]))
        return names

    module = types.ModuleType("app.models.rfm.naming")
    module.rfm_names = rfm_names
    monkeypatch.setitem(sys.modules, "app.models.rfm.naming", module)
    return seen


def test_the_rfm_hook_names_from_the_rules_in_original_units(fake_rules):
    named = _name(SHOWN, vocabulary="rfm")
    np.testing.assert_allclose(fake_rules[0], SHOWN)
    assert [segment.name for segment in named] == ["Champions", "At Risk", "New Customers", "At Risk (2)"]
    assert named[0].description == "About Champions."
    assert named[0].strategy == ("Look after Champions", "Then measure")
    assert min(segment.segment_id for segment in named) == FIRST_DESCRIPTIVE_ID


def test_rfm_features_choose_the_rfm_vocabulary_in_any_column_order(fake_rules):
    features = ["monetary", "recency_days", "frequency"]
    assert vocabulary_of(features) == "rfm"
    named = _name(SHOWN, features=features)
    np.testing.assert_allclose(fake_rules[0], SHOWN)  # always handed over as recency, frequency, monetary
    assert named[0].name == "Champions"


def test_the_rfm_vocabulary_needs_the_three_rfm_features():
    with pytest.raises(ValueError, match="recency_days"):
        vocabulary_of(["recency_days", "frequency"], "rfm")
    assert vocabulary_of(["recency_days", "frequency", "monetary", "tenure"]) == "descriptive"


def test_a_matched_rfm_segment_keeps_its_id_name_and_advice_whatever_the_rules_say_now(fake_rules):
    first = _name(SHOWN, vocabulary="rfm")
    reference = [_segment(named, shown) for named, shown in zip(first, SHOWN, strict=True)]
    # Retrained: the same groups in another label order, one moved a little; the rules would now call it otherwise.
    again = SHOWN[[3, 2, 1, 0]].copy()
    again[3, 0] = 14.0  # Champions' recency drifts past the fake rules' 12 days (well within the match distance)
    named = _name(again, vocabulary="rfm", reference=reference, used_ids=[s.segment_id for s in first])
    assert {s.segment_id: (s.name, s.strategy) for s in named} == {s.segment_id: (s.name, s.strategy) for s in first}


def _segment(named, shown):
    stats = FeatureStats(0.0, 0.0, 0.0, 0.0)
    return Segment(
        segment_id=named.segment_id,
        name=named.name,
        kmeans_label=named.kmeans_label,
        levels=named.levels,
        description=named.description,
        strategy=list(named.strategy),
        characteristics=list(named.characteristics),
        centroid=dict(zip(FEATURES, map(float, shown), strict=True)),
        size=1,
        share=0.25,
        stats=dict.fromkeys(FEATURES, stats),
        distance_p95=1.0,
    )


def test_the_real_rfm_rules_give_unique_names_from_the_vocabulary():
    pytest.importorskip("app.models.rfm.naming")
    vocabulary = {
        "Champions",
        "Loyal Customers",
        "Potential Loyalists",
        "New Customers",
        "At Risk",
        "Can't Lose Them",
        "Hibernating",
        "Lost",
    }
    named = _name(SHOWN)
    names = [segment.name for segment in named]
    assert len(set(names)) == len(names)
    assert {re.sub(r" \(\d+\)$", "", name) for name in names} <= vocabulary  # "At Risk (2)" past eight
    assert named[0].name.startswith("Champions")  # recent, frequent, big spenders
    assert all(segment.description and segment.strategy for segment in named)


def test_an_rfm_model_is_named_by_the_rules_and_keeps_its_names_when_retrained(tmp_path):
    pytest.importorskip("app.models.rfm.naming")
    # (recency days, orders, spend) of four planted groups: champions, new, at risk, lost.
    groups = {"Champions": (5, 30, 5_000), "New Customers": (8, 1, 80), "Lost": (350, 1, 40), "x": (200, 15, 2_500)}

    def write(name: str, seed: int):
        rng = np.random.default_rng(seed)
        rows = np.vstack(
            [
                np.column_stack(
                    [rng.normal(r, 2 + r / 20, 100), rng.poisson(f, 100), m * rng.lognormal(0, 0.1, 100)]
                ).clip(0, None)
                for r, f, m in groups.values()
            ]
        )
        rows = rows[rng.permutation(len(rows))]
        path = tmp_path / name
        pd.DataFrame(rows.round(2), columns=FEATURES).to_csv(path, index=False)
        return path

    first = train(write("a.csv", 1), output_dir=tmp_path / "m", specs=list(RFM_FEATURES), k=4, seed=1)
    names = {s.name for s in first.model.segments}
    assert {"Champions", "New Customers", "Lost"} <= names
    second = train(write("b.csv", 2), output_dir=tmp_path / "m", specs=list(RFM_FEATURES), k=4, seed=9)
    assert {s.segment_id: s.name for s in second.model.segments} == {s.segment_id: s.name for s in first.model.segments}
