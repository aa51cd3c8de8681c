"""The report's charts: long segment names stay on the page, and text is drawn as written."""

from dataclasses import replace

import numpy as np
import pytest

from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.reports.data import Composition, Migration
from app.services.reports.version import version_report
from app.web.reports.charts import LABEL_CHARS, draw_charts, fitted_label, migration_chart, sizes_chart


@pytest.fixture(scope="module")
def report(model_dir):
    return version_report(registry=ModelRegistry(VersionStore(model_dir)).load(), version="active", segmentation="x")


def test_a_long_name_is_wrapped_into_two_lines_and_cut_with_an_ellipsis():
    assert fitted_label("VIP / Whale") == "VIP / Whale"
    two = fitted_label("Customers who buy often " * 2)
    assert two.count("\n") == 1 and not two.endswith("…")
    cut = fitted_label("Customers who buy often and spend little " * 2)
    assert cut.count("\n") == 1 and cut.endswith("…")
    assert all(len(line) <= LABEL_CHARS for line in cut.split("\n"))


@pytest.mark.parametrize("name", ["W" * 60, '=HYPERLINK("http://x") ' + "x" * 37, "Mmmm Wwww " * 6])
def test_the_sizes_chart_keeps_every_name_inside_its_left_edge(report, name):
    # A 60-character name (the most a segment name may have) was cut off at the page's left edge.
    renamed = replace(report, segments=[replace(segment, name=name) for segment in report.segments])
    pixels = np.asarray(sizes_chart(renamed).image)
    ink = pixels.min(axis=2) < 128  # dark pixels: text
    assert ink.any()
    assert not ink[:, :2].any(), "a label reaches the chart's left edge"
    assert name in sizes_chart(renamed).alt


@pytest.mark.parametrize("rows", [1, 2, 10])
def test_the_migration_chart_keeps_the_earlier_versions_name_on_the_page(rows):
    # As the rotated y-axis title, a version id ran off the top and the bottom of a short chart.
    against = "version 20261207.011534.792709-95dfbc5aab"
    names = [f"Segment {i}" for i in range(rows)]
    matrix = [[(i + j) % 3 for j in range(rows)] for i in range(rows)]
    chart = migration_chart(
        Migration(against=against, customers="all", old_names=names, new_names=names, matrix=matrix)
    )
    ink = np.asarray(chart.image).min(axis=2) < 128
    assert ink.any()
    assert not (ink[:2].any() or ink[-2:].any() or ink[:, :2].any() or ink[:, -2:].any()), "text reaches an edge"


# Text people write (a segment name, a feature's label, a file's column and its values) with a pair of `$`, which
# matplotlib reads as math: a broken formula in it failed every report with a 500.
DOLLARS = r"Pay $\frac{1}{$ now"


def test_every_chart_draws_text_with_dollar_signs_as_written(report):
    segments = [
        replace(
            segment,
            name=f"{DOLLARS} {segment.segment_id}",
            features=[replace(feature, label=f"{feature.label} $ ($)") for feature in segment.features],
            compositions=[Composition(column=DOLLARS, shares=[(DOLLARS, 0.6), ("$x^$", 0.4)])],
        )
        for segment in report.segments
    ]
    names = [segment.name for segment in segments]
    migration = Migration(
        against=DOLLARS, customers="all", old_names=names, new_names=names, matrix=[[1] * len(names)] * len(names)
    )
    charts = draw_charts(replace(report, segments=segments, migration=migration, importance=[(DOLLARS, 1.0)]))
    assert DOLLARS in charts.sizes.alt and charts.migration is not None and charts.importance is not None
    assert all(DOLLARS in chart.alt for chart in charts.segments.values())
