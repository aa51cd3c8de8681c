"""The HTML report of a labelled frame says what its PDF says: regions per segment, in each segment's section, and a
sentence instead of a chart for a segment with no customer."""

import re

from app.services.reports.frame import frame_report
from app.web.reports import render_report
from app.web.reports.charts import segment_chart
from app.web.reports.text import EMPTY_SEGMENT, number
from tests.services.reports.test_frame_report import labelled_frame


def test_the_html_report_of_a_frame_shows_regions_in_each_segments_section(model, default_data):
    frame = labelled_frame(model, default_data)
    report = frame_report(model=model, frame=frame, segmentation="default", data_file="customers-with-region.csv")
    rendered = render_report(report, format="html")
    assert rendered.media_type.startswith("text/html")
    assert rendered.csp is not None and "'sha256-" in rendered.csp
    html = rendered.body.decode()
    for segment in report.segments:
        section = re.search(
            rf'<section class="segment" data-segment-id="{segment.segment_id}".*?</section>', html, re.S
        )
        region = next(c for c in segment.compositions if c.column == "Region")
        expected = ", ".join(f"{value} {share:.0%}" for value, share in region.shares)
        assert f'<p class="composition" data-column="Region"><strong>Region:</strong> {expected}</p>' in section.group(
            0
        )
        # Rows were scored, so the profile table has every feature's 10th-90th percentile band.
        for feature in segment.features:
            assert f"<td>{number(feature.p10)}–{number(feature.p90)}</td>" in section.group(0)


def large_values_report(model, default_data):
    """A frame report whose incomes are in dollars (tens of thousands), as a CRM export holds them."""
    frame = labelled_frame(model, default_data)
    income = model.feature_specs[0].source_column
    frame[income] = frame[income] * 503.1
    return frame_report(model=model, frame=frame, segmentation="default", data_file="dollars.csv")


def test_values_of_ten_thousand_or_more_are_written_in_fixed_notation(model, default_data):
    report = large_values_report(model, default_data)
    html = render_report(report, format="html").body.decode()
    assert not re.search(r"\de[+-]\d", re.sub(r"base64,[^\"]*", "", html))  # the charts' PNG data aside
    income = report.segments[0].features[0]
    assert income.mean >= 10_000
    assert f"<td>{number(income.mean)}</td>" in html and "," in number(income.mean)
    for segment in report.segments:
        alt = segment_chart(report, segment).alt
        assert not re.search(r"\de[+-]\d", alt)
        assert f"mean {number(segment.features[0].mean)} (range {number(segment.features[0].min)}" in alt


def empty_segment_report(model, default_data):
    """A frame report in which the model's first segment has no customer (its rows left out of the file)."""
    frame = labelled_frame(model, default_data)
    empty = model.segments[0].segment_id
    report = frame_report(model=model, frame=frame[frame["segment_id"] != empty], segmentation="default")
    return report, empty


def test_an_empty_segment_says_it_has_no_customers_instead_of_a_blank_chart(model, default_data):
    report, empty = empty_segment_report(model, default_data)
    rendered = render_report(report, format="html")
    assert rendered.media_type.startswith("text/html")
    html = rendered.body.decode()
    sections = {
        int(found[1]): found[0]
        for found in re.finditer(r'<section class="segment" data-segment-id="(\d+)".*?</section>', html, re.S)
    }
    assert set(sections) == {segment.segment_id for segment in report.segments}
    assert f'<p class="empty-segment">{EMPTY_SEGMENT["scoring run"]}</p>' in sections[empty]
    assert "<img" not in sections[empty]
    for segment_id, section in sections.items():
        if segment_id != empty:
            assert section.count('<img class="chart"') == 1 and "empty-segment" not in section
