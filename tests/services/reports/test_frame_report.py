"""The report data of a labelled frame: per segment, the features' percentiles, age, and every categorical column
of the file such as Region."""

import numpy as np
import pandas as pd
import pytest

from app.services.reports.frame import frame_report

REGIONS = ["North", "South", "East", "West"]


def labelled_frame(model, data_path, *, seed: int = 3) -> pd.DataFrame:
    """The bundled customers, scored by the model, with a Region column that depends on the segment."""
    frame = pd.read_csv(data_path)
    X = frame[[spec.source_column for spec in model.feature_specs]].to_numpy(dtype=np.float64)
    scores = model.score(X)
    ids = np.array([model.segments[p].segment_id for p in scores.positions])
    rng = np.random.default_rng(seed)
    # Each segment mostly in "its" region, so a report that mixed segments up would show it.
    own = np.array([REGIONS[position % len(REGIONS)] for position in scores.positions])
    other = rng.choice(REGIONS, size=len(frame))
    frame["Region"] = np.where(rng.random(len(frame)) < 0.8, own, other)
    frame["segment_id"] = ids
    frame["segment_name"] = [model.segments[p].name for p in scores.positions]
    frame["is_atypical"] = scores.is_atypical
    frame["out_of_range"] = scores.any_out_of_range
    return frame


def test_regions_are_shown_per_segment(model, default_data):
    frame = labelled_frame(model, default_data)
    report = frame_report(model=model, frame=frame, segmentation="default", data_file="crm.csv")
    assert report.composition_columns == ["Gender", "Region"]
    for segment in report.segments:
        members = frame[frame["segment_id"] == segment.segment_id]
        region = next(c for c in segment.compositions if c.column == "Region")
        expected = members["Region"].value_counts(normalize=True)
        assert dict(region.shares) == pytest.approx(expected.to_dict())
        assert region.shares[0][1] == max(share for _, share in region.shares)  # largest first
        assert segment.size == len(members)


def test_features_have_percentiles_from_the_rows(model, default_data):
    frame = labelled_frame(model, default_data)
    report = frame_report(model=model, frame=frame, segmentation="default")
    for segment in report.segments:
        members = frame[frame["segment_id"] == segment.segment_id]
        for feature, spec in zip(segment.features, model.feature_specs, strict=True):
            values = members[spec.source_column]
            assert feature.mean == pytest.approx(values.mean())
            assert (feature.p10, feature.p90) == pytest.approx(tuple(np.percentile(values, [10, 90])))
            assert (feature.min, feature.max) == (values.min(), values.max())
        ages = members["Age"]
        assert segment.age.median == pytest.approx(ages.median())
    assert report.counts["customers scored"] == len(frame)
    assert report.counts["atypical"] == int(frame["is_atypical"].sum())


def test_unscored_rows_ids_and_free_text_are_not_profiled(model, default_data):
    frame = labelled_frame(model, default_data)
    frame.loc[:9, "segment_id"] = pd.NA
    frame["Note"] = [f"free text {i}" for i in range(len(frame))]  # one value per row: not a category
    report = frame_report(model=model, frame=frame, segmentation="default")
    assert report.counts["rows"] == len(frame)
    assert report.counts["customers scored"] == len(frame) - 10
    assert sum(s.size for s in report.segments) == len(frame) - 10
    assert "Note" not in report.composition_columns
    assert "segment_name" not in report.composition_columns


def test_columns_scoring_or_the_rfm_builder_wrote_are_not_categories(model, default_data, tmp_path):
    # A run scored with explain and a target showed "confidence_text: <sentence> 100%", "reachable: True 100%" and
    # "position_income: within 79%" per segment; an RFM run its first_purchase, returns and non_positive.
    from app.services.scoring.files import score_file
    from app.services.scoring.options import ScoreOptions

    source = tmp_path / "customers.csv"
    labelled = labelled_frame(model, default_data).drop(columns=["segment_id", "segment_name"])
    labelled.drop(columns=["is_atypical", "out_of_range"]).iloc[:200].to_csv(source, index=False)
    options = ScoreOptions(explain=True, target_segment="VIP / Whale", extra_columns=("runner_up",), on_error="flag")
    score_file(model, source, options=options, target=tmp_path / "out.csv", spool_rows=0)
    frame = pd.read_csv(tmp_path / "out.csv")
    frame["target_segment"] = "VIP / Whale"
    # An RFM run's labelled file keeps the builder's per-customer columns, a few values each in a small file.
    frame["first_purchase"] = np.where(frame.index % 2, "2026-01-05", "2026-02-11")
    frame["last_purchase"] = "2026-03-01"
    frame["returns"] = "0"
    frame["non_positive"] = np.where(frame.index % 3, "false", "true")
    assert {"confidence_text", "reachable", "position_annual_income"} <= set(frame.columns)
    report = frame_report(model=model, frame=frame, segmentation="default")
    assert report.composition_columns == ["Gender", "Region"]
