"""Why a customer is in their segment: typical ranges recorded at training, shares of distance and margin, and
the confidence sentence, on the default model, a 3-feature `columns` segmentation (log1p) and an `rfm` one."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.models.explanation import (
    FAR_FROM_ALL,
    HIGH,
    MEASURES,
    MODERATE,
    NEAR_BOUNDARY,
    NOT_RECORDED,
    UNKNOWN,
    confidence_index,
    confidence_texts,
    explain,
    explanation_dicts,
)
from app.models.features import Feature, find_column
from app.models.model import FeatureStats, Segment, SegmentationModel
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_crm import write_crm
from app.models.synthetic_transactions import write_transactions
from app.models.training import train
from app.models.versions.artifacts import save_model
from app.models.versions.store import load_model

CRM_SPECS = [
    Feature.from_dict({"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"}),
    Feature.from_dict({"name": "visits", "column": "Visits", "label": "Visits"}),
    Feature.from_dict({"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years"}),
]


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> tuple[SegmentationModel, np.ndarray]:
    folder = tmp_path_factory.mktemp("crm")
    path = write_crm(folder / "crm.csv")
    result = train(path, output_dir=folder / "models", specs=CRM_SPECS, k=3, sweep=False)
    return result.model, result.dataset.frame[result.model.features].to_numpy(dtype=np.float64)


@pytest.fixture(scope="module")
def rfm(tmp_path_factory: pytest.TempPathFactory) -> tuple[SegmentationModel, np.ndarray]:
    root = tmp_path_factory.mktemp("rfm")
    path, _ = write_transactions(root / "t.csv", customers=300, seed=3)
    spec = SegmentationCatalog(root).create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    result = train_segmentation(spec, path, models_root=root, k=4, sweep=False)
    return result.model, result.dataset.frame[result.model.features].to_numpy(dtype=np.float64)


@pytest.fixture(scope="module")
def default(model: SegmentationModel, default_data: Path) -> tuple[SegmentationModel, np.ndarray]:
    frame = pd.read_csv(default_data)
    columns = [find_column(list(frame.columns), spec) for spec in model.feature_specs]
    return model, frame[columns].to_numpy(dtype=np.float64)


KINDS = ["default", "crm", "rfm"]


@pytest.fixture(params=KINDS)
def trained(request: pytest.FixtureRequest) -> tuple[SegmentationModel, np.ndarray]:
    return request.getfixturevalue(request.param)


def test_each_segment_records_p10_and_p90_of_its_training_members(trained) -> None:
    model, X = trained
    labels = model.labels(X)
    for position, segment in enumerate(model.segments):
        members = X[labels == position]
        assert len(members) == segment.size
        for f, name in enumerate(model.features):
            low, high = np.percentile(members[:, f], [10, 90])
            assert segment.stats[name].p10 == pytest.approx(low)
            assert segment.stats[name].p90 == pytest.approx(high)
            assert segment.stats[name].min <= segment.stats[name].p10 <= segment.stats[name].p90


def test_shares_split_the_models_own_squared_distances_exactly(trained) -> None:
    model, X = trained
    rows = X[:: max(1, len(X) // 150)] * np.random.default_rng(1).uniform(0.6, 1.4, size=(1, X.shape[1]))
    scores = model.score(rows)
    explained = explain(model, rows, scores)
    assert np.allclose(explained.share_of_distance.sum(axis=1), 1.0)
    assert (explained.share_of_distance >= 0).all()
    # Rebuilt from the model's own distances: each share times d^2 is that feature's squared standardized offset.
    parts = explained.share_of_distance * scores.nearest[:, None] ** 2
    assert np.allclose(parts.sum(axis=1), scores.nearest**2)
    margin = scores.runner_up_distance**2 - scores.nearest**2
    tied = margin <= 1e-12
    assert np.allclose(explained.share_of_margin[~tied].sum(axis=1), 1.0)
    assert np.isnan(explained.share_of_margin[tied]).all()


def test_a_log_feature_is_measured_where_the_model_clusters_it(crm) -> None:
    model, X = crm
    row = X[:1]
    scores = model.score(row)
    explained = explain(model, row, scores)
    z = (np.log1p(row[0, 0]) - model.mean[0]) / model.scale[0]
    own = model.cluster_centers[model.segments[int(scores.positions[0])].kmeans_label][0]
    assert explained.share_of_distance[0, 0] == pytest.approx((z - own) ** 2 / scores.nearest[0] ** 2)


def test_position_says_below_within_or_above_the_typical_range(trained) -> None:
    model, X = trained
    scores = model.score(X)
    explained = explain(model, X, scores)
    low, high = explained.typical_low, explained.typical_high
    assert ((explained.position == 0) == (low > X)).all()
    assert ((explained.position == 2) == (high < X)).all()
    assert ((explained.position == 1) == ((low <= X) & (high >= X))).all()
    # By construction about 80% of a segment's members lie within its own typical range, feature by feature.
    assert 0.7 < (explained.position == 1).mean() < 0.9


def test_the_batch_explanation_equals_one_row_at_a_time(trained) -> None:
    model, X = trained
    rows = X[:25]
    batch = explanation_dicts(model, explain(model, rows, model.score(rows)), model.score(rows))
    singles = []
    for row in rows.tolist():
        scores = model.score_one(row)
        singles += explanation_dicts(model, explain(model, [row], scores), scores)
    assert [b["confidence_text"] for b in batch] == [s["confidence_text"] for s in singles]
    for b, s in zip(batch, singles, strict=True):
        for bf, sf in zip(b["features"], s["features"], strict=True):
            assert bf["position"] == sf["position"] and bf["text"] == sf["text"]
            assert bf["share_of_distance"] == pytest.approx(sf["share_of_distance"])


def test_the_answer_names_every_feature_in_words(trained) -> None:
    model, X = trained
    scores = model.score(X[:1])
    [answer] = explanation_dicts(model, explain(model, X[:1], scores), scores)
    assert [item["feature"] for item in answer["features"]] == model.features
    for item, spec in zip(answer["features"], model.feature_specs, strict=True):
        assert set(item) == {
            "feature", "value", "typical_low", "typical_high", "position", "text", "share_of_distance",
            "share_of_margin",
        }  # fmt: skip
        assert item["text"].startswith(spec.noun) and item["position"] in item["text"]
    assert "missing" not in answer


def test_income_60_spending_5_is_below_its_segments_income(model: SegmentationModel) -> None:
    rows = np.array([[60.0, 5.0]])
    scores = model.score(rows)
    [answer] = explanation_dicts(model, explain(model, rows, scores), scores)
    income = answer["features"][model.features.index("annual_income")]
    assert income["position"] == "below" and income["value"] == 60
    assert income["text"].startswith("Income 60 k$ is below this segment's usual ")
    assert income["typical_low"] > 60
    assert "low because" in answer["confidence_text"]


def test_confidence_text_says_what_confidence_is_and_why_it_is_low(model: SegmentationModel) -> None:
    rows = np.array([[122.0, 50.0], [60.0, 5.0]])
    scores = model.score(rows)
    explained = explain(model, rows, scores)
    texts = confidence_texts(model)
    picks = confidence_index(model, explained, scores)
    for i in range(len(rows)):
        text = texts[picks[i]]
        assert text.startswith(MEASURES)
        assert explained.reason[i] in (NEAR_BOUNDARY, FAR_FROM_ALL)
        assert model.segments[scores.runner_up[i]].name in text and model.segments[scores.positions[i]].name in text
    # A customer at a centroid is sure of their segment, and the sentence says so.
    centre = np.array([[segment.centroid[f] for f in model.features] for segment in model.segments])
    at_centre = model.score(centre)
    assert (explain(model, centre, at_centre).reason == HIGH).all()
    assert all(
        "here it is high" in texts[i] for i in confidence_index(model, explain(model, centre, at_centre), at_centre)
    )


def test_far_customers_are_told_apart_from_boundary_ones(trained) -> None:
    model, X = trained
    rng = np.random.default_rng(5)
    # Training customers (some near a boundary) and made-up ones over and past the training range (some far out).
    rows = np.vstack([X, rng.uniform(X.min(axis=0), X.max(axis=0) * 1.3, size=(2_000, X.shape[1]))])
    scores = model.score(rows)
    explained = explain(model, rows, scores)
    far = scores.nearest > np.array([s.distance_p95 for s in model.segments])[scores.positions]
    low, high = scores.confidence < 0.3, scores.confidence >= 0.6
    assert ((explained.reason == FAR_FROM_ALL) == (low & far)).all()
    assert ((explained.reason == NEAR_BOUNDARY) == (low & ~far)).all()
    assert ((explained.reason == MODERATE) == (~low & ~high)).all()
    assert ((explained.reason == HIGH) == high).all()
    assert {HIGH, MODERATE, FAR_FROM_ALL} <= set(explained.reason.tolist())


BANDS = [(0.28, "low"), (0.31, "moderate"), (0.58, "moderate"), (0.62, "high")]


@pytest.mark.parametrize(("confidence", "word"), BANDS)
def test_the_confidence_sentence_says_the_band_the_number_is_in(model: SegmentationModel, confidence, word) -> None:
    # A customer on the segment between two centroids, at the distance ratio that gives this confidence.
    own, rival = (np.array([model.segments[i].centroid[f] for f in model.features]) for i in (0, 1))
    ratio = 1 - confidence  # nearest ÷ second-nearest, where both distances run along the line between the two
    row = own + (rival - own) * (ratio / (1 + ratio))
    scores = model.score(row[None, :])
    assert scores.positions[0] == 0 and scores.runner_up[0] == 1
    assert scores.confidence[0] == pytest.approx(confidence, abs=0.005)
    text = confidence_texts(model)[confidence_index(model, explain(model, row[None, :], scores), scores)[0]]
    assert f"here it is {word}" in text
    assert ("high" in text) == (word == "high")


def _without_ranges(model: SegmentationModel) -> SegmentationModel:
    """The model as a version trained before typical ranges were recorded."""
    segments = [
        dataclasses.replace(
            segment,
            stats={name: FeatureStats(**stats.summary()) for name, stats in segment.stats.items()},
        )
        for segment in model.segments
    ]
    return SegmentationModel(model.features, model.mean, model.scale, model.cluster_centers, segments, model.info)


def test_an_old_version_answers_what_it_has_and_says_what_is_missing(trained) -> None:
    model, X = trained
    old = _without_ranges(model)
    scores = old.score(X[:3])
    answers = explanation_dicts(old, explain(old, X[:3], scores), scores)
    for answer in answers:
        assert all(item["typical_low"] is None and item["position"] is None for item in answer["features"])
        assert all(item["share_of_distance"] is not None for item in answer["features"])
        [note] = answer["missing"]
        assert "did not record" in note and "retrain" in note and old.version in note
    assert (explain(old, X[:3], scores).position == UNKNOWN).all()


def test_a_version_missing_only_the_low_end_of_a_range_still_says_so(trained) -> None:
    model, X = trained
    first = model.segments[0]
    name = model.features[0]
    stats = {**first.stats, name: dataclasses.replace(first.stats[name], p10=None)}
    segments = [dataclasses.replace(first, stats=stats), *model.segments[1:]]
    partial = SegmentationModel(model.features, model.mean, model.scale, model.cluster_centers, segments, model.info)
    scores = partial.score(X[:3])
    assert explain(partial, X[:3], scores).missing == [NOT_RECORDED.format(version=model.version)]


def test_typical_ranges_survive_saving_and_an_old_info_still_loads(crm, tmp_path: Path) -> None:
    model, _ = crm
    segment = model.segments[0]
    saved = Segment.from_dict(segment.to_dict())
    assert saved.stats == segment.stats
    old = {**segment.to_dict(), "stats": {name: stats.summary() for name, stats in segment.stats.items()}}
    assert all(stats.p10 is None for stats in Segment.from_dict(old).stats.values())
    assert "p10" not in Segment.from_dict(old).to_dict()["stats"][model.features[0]]
    loaded = load_model(save_model(model, tmp_path))
    assert [s.stats for s in loaded.segments] == [s.stats for s in model.segments]
