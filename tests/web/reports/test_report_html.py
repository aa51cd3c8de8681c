"""The HTML report of a labelled frame says what its PDF says: regions per segment, in each segment's section."""

import re

from app.services.reports.frame import frame_report
from app.web.reports import render_report
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
            assert f"<td>{feature.p10:,.4g}–{feature.p90:,.4g}</td>" in section.group(0)
