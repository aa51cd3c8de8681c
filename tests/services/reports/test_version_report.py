"""The report data of a model version: every segment with its features, age and gender, migration, drift, and the
rules and importance the explanation work adds to a version's info."""

from dataclasses import replace
from pathlib import Path

import pytest

from app.core.errors import DatabaseUnavailable, UnknownModelVersion
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services import lifecycle
from app.services.reports.explanations import feature_importance, segment_rules
from app.services.reports.version import version_report


def _registry(root: Path) -> ModelRegistry:
    return ModelRegistry(VersionStore(root)).load()


def test_a_version_report_has_every_segment_with_every_feature(model_dir):
    registry = _registry(model_dir)
    model = registry.get()
    report = version_report(registry=registry, version="active", segmentation="default")
    assert report.version == model.version
    assert report.data_file == model.info["data_file"]
    assert report.counts["customers"] == model.info["n_samples"]
    assert report.counts["segments"] == len(model.segments)
    assert [s.segment_id for s in report.segments] == [s.segment_id for s in model.segments]
    for profile, segment in zip(report.segments, model.segments, strict=True):
        assert profile.name == segment.name
        assert profile.description == segment.description
        assert profile.strategy == segment.strategy
        assert [f.name for f in profile.features] == model.features
        for feature in profile.features:
            stats = segment.stats[feature.name]
            assert (feature.mean, feature.min, feature.max) == (stats.mean, stats.min, stats.max)
        # The bundled data has Age and Gender, so every segment's profile shows both.
        assert profile.age is not None and profile.age.q1 <= profile.age.median <= profile.age.q3
        gender = next(c for c in profile.compositions if c.column == "Gender")
        assert dict(gender.shares) == pytest.approx(segment.profile["gender"])
    assert sum(s.size for s in report.segments) == report.counts["customers"]


def test_the_overall_ranges_bound_every_segment(model_dir):
    report = version_report(registry=_registry(model_dir), version="active", segmentation="default")
    overall = {f.name: f for f in report.overall}
    for segment in report.segments:
        for feature in segment.features:
            assert overall[feature.name].min <= feature.min <= feature.max <= overall[feature.name].max
    assert all(f.p10 is not None and f.min <= f.p10 <= f.p90 <= f.max for f in report.overall)


def test_an_unknown_version_is_refused(model_dir):
    with pytest.raises(UnknownModelVersion):
        version_report(registry=_registry(model_dir), version="20990101.000000.000000-0000000000", segmentation="x")


def test_the_first_version_says_there_is_nothing_to_migrate_from(model_dir):
    report = version_report(registry=_registry(model_dir), version="active", segmentation="default")
    assert report.migration is None
    assert "first version" in report.migration_note


def test_a_later_version_migrates_from_the_one_before(two_versions):
    root, first, second = two_versions
    registry = _registry(root)
    report = version_report(registry=registry, version=second, segmentation="default")
    comparison = lifecycle.compare(registry=registry, version=second, with_version=first)
    assert report.migration is not None
    assert report.migration.against == f"version {first}"
    assert report.migration.matrix == comparison["migration_matrix"]
    assert report.migration.total == comparison["n_customers"] > 0
    # The earlier version is the first one: it has nothing before it.
    assert version_report(registry=registry, version=first, segmentation="default").migration is None


def test_drift_comes_from_the_prediction_log_or_says_it_cannot(model_dir):
    registry = _registry(model_dir)

    class Broken:
        def __call__(self):
            raise DatabaseUnavailable("the prediction log database cannot be read (OperationalError)")

    report = version_report(registry=registry, version="active", segmentation="default", sessions=Broken())
    assert report.drift.status == "unavailable"
    assert "cannot be read" in report.drift.messages[0]
    assert version_report(registry=registry, version="active", segmentation="default").drift is None


@pytest.mark.parametrize(
    ("rules", "importance"),
    [
        ({"0": ["income below 40"], "1": "spending above 60"}, {"annual_income": 0.3, "spending_score": 0.7}),
        (
            [{"segment_id": 0, "rules": [{"text": "income below 40"}]}, {"segment_id": 1, "text": "spending above 60"}],
            [{"feature": "annual_income", "importance": 0.3}, {"feature": "spending_score", "importance": 0.7}],
        ),
    ],
)
def test_rules_and_importance_are_read_in_either_shape(model, rules, importance):
    explained = replace(model, info={**model.info, "rules": rules, "feature_importance": importance})
    assert segment_rules(explained.info) == {0: ["income below 40"], 1: ["spending above 60"]}
    labels = {spec.name: spec.label for spec in model.feature_specs}
    assert feature_importance(explained) == [(labels["spending_score"], 0.7), (labels["annual_income"], 0.3)]


def test_unreadable_rules_and_importance_are_left_out(model):
    odd = replace(model, info={**model.info, "rules": "all of them", "feature_importance": {"annual_income": "high"}})
    assert segment_rules(odd.info) == {}
    assert feature_importance(odd) == []
    assert feature_importance(model) == [] and segment_rules(model.info) == {}
