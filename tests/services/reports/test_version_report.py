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
from app.services.rules import all_rules


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


def test_a_report_carries_the_rules_and_importance_the_version_recorded(model):
    recorded = all_rules(model)
    assert recorded, "the session's model is trained with rules"
    rules = segment_rules(model)
    assert set(rules) == {segment.segment_id for segment in model.segments}
    for item in recorded:
        assert rules[item["segment_id"]] == item["rules"]
        assert all(text.endswith(f"→ {item['segment_name']}") for text in rules[item["segment_id"]])
    importance = feature_importance(model)
    assert {label for label, _ in importance} == {spec.label for spec in model.feature_specs}
    assert [value for _, value in importance] == sorted((value for _, value in importance), reverse=True)


def test_a_version_trained_before_rules_leaves_them_out(model):
    older = replace(
        model, info={key: value for key, value in model.info.items() if key not in ("segment_rules", "importance")}
    )
    assert segment_rules(older) == {} and feature_importance(older) == []


def test_an_rfm_versions_transaction_lines_go_with_its_customers_not_in_a_count_of_their_own(model_dir, monkeypatch):
    registry = _registry(model_dir)
    model = registry.get()
    rfm = replace(model, info={**model.info, "rfm_summary": {"rows_read": 1_606}})
    monkeypatch.setattr(registry, "get", lambda version=None: rfm)
    report = version_report(registry=registry, version="active", segmentation="rfm")
    # Said with the customers ("61 (from 606 transaction lines)"), as a run's report says them; an RFM version's
    # input rows are its customers, so no row count either.
    assert report.transaction_lines == 1_606
    assert list(report.counts) == ["customers", "segments"]
    plain = version_report(registry=_registry(model_dir), version="active", segmentation="default")
    assert plain.transaction_lines is None
    assert plain.counts["rows in the training file"] == model.info["n_input_rows"]
