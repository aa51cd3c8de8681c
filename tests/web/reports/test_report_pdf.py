"""The PDF report as people see it: PNG pages from pdftoppm, text from pdftotext, on A4 and Letter."""

import re
import subprocess
from pathlib import Path

import pytest

from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.reports.frame import frame_report
from app.services.reports.version import version_report
from app.web.reports import render_report
from app.web.reports.text import EMPTY_SEGMENT, number
from tests.pdf_pages import PdfPages, coloured_pixels, filled_share, read_pdf
from tests.services.reports.test_frame_report import labelled_frame

# Width over height of each paper.
PAPER_RATIOS = {"a4": 210 / 297, "letter": 8.5 / 11}


def _words(text: str) -> str:
    """Text with every run of whitespace made one space (pdftotext lays lines out with many)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def default_report(model_dir):
    return version_report(registry=ModelRegistry(VersionStore(model_dir)).load(), version="active", segmentation="x")


@pytest.fixture(scope="module", params=["a4", "letter"])
def default_pages(request, default_report, tmp_path_factory) -> tuple[str, PdfPages]:
    """The default version's report on each paper, rendered and read once for the tests of this module."""
    rendered = render_report(default_report, format="pdf", paper=request.param)
    assert rendered.media_type == "application/pdf"
    return request.param, read_pdf(rendered.body, tmp_path_factory.mktemp(f"report-{request.param}"))


def test_the_default_version_report_has_every_segment_table_and_chart(default_report, default_pages):
    paper, pages = default_pages
    for page in pages.pixels:
        height, width, _ = page.shape
        assert width / height == pytest.approx(PAPER_RATIOS[paper], abs=0.01)
    text = _words(pages.text)
    assert default_report.version in text
    for segment in default_report.segments:
        assert f"{segment.name} · {segment.size:,} customers" in text
        assert segment.description in text
        for step in segment.strategy:
            assert step in text
    # One profile table per segment: its header, and each feature's row with the segment's own mean.
    assert text.count("Feature Mean 10th–90th percentile Range") == len(default_report.segments)
    for segment in default_report.segments:
        for feature in segment.features:
            assert f"{feature.label} {number(feature.mean)}" in text
    # The sizes chart, the importance chart and one chart per segment, drawn in colour on the pages.
    assert default_report.importance, "the session's model records feature importance"
    assert pages.images == 2 + len(default_report.segments)
    assert sum(coloured_pixels(page) for page in pages.pixels) > 500 * (1 + len(default_report.segments))


def test_no_page_is_mostly_empty(default_pages):
    _, pages = default_pages
    assert len(pages.pixels) >= 2
    # Every page but the last is at least half filled; the last one holds something besides its footer.
    for index, page in enumerate(pages.pixels[:-1], start=1):
        assert filled_share(page) >= 0.5, f"page {index} of {len(pages.pixels)} is mostly empty"
    assert filled_share(pages.pixels[-1]) > 0.1
    assert all(len(_words(page)) > 40 for page in pages.texts)


def test_a_report_of_a_labelled_frame_shows_regions_per_segment(model, default_data, tmp_path: Path):
    frame = labelled_frame(model, default_data)
    # Names beyond Latin-1 too: the PDF's font prints them (reportlab's built-in ones would not).
    frame["Region"] = frame["Region"].map({"North": "Nord-Öst", "South": "Süd", "East": "Москва", "West": "Łódź"})
    report = frame_report(model=model, frame=frame, segmentation="default", data_file="customers-with-region.csv")
    text = _words(read_pdf(render_report(report, format="pdf").body, tmp_path).text)
    assert "customers-with-region.csv" in text
    for segment in report.segments:
        region = next(c for c in segment.compositions if c.column == "Region")
        line = "Region: " + ", ".join(f"{value} {share:.0%}" for value, share in region.shares)
        assert line in text
    for name in ("Nord-Öst", "Süd", "Москва", "Łódź"):
        assert name in text
    # Scored from rows, so each feature has a 10th-90th percentile band.
    first = report.segments[0].features[0]
    assert f"{number(first.p10)}–{number(first.p90)}" in text


def test_values_of_ten_thousand_or_more_are_in_fixed_notation_in_the_pdf(model, default_data, tmp_path: Path):
    from tests.web.reports.test_report_html import large_values_report

    report = large_values_report(model, default_data)
    text = _words(read_pdf(render_report(report, format="pdf").body, tmp_path).text)
    assert not re.search(r"\de[+-]\d", text)
    income = report.segments[0].features[0]
    assert f"{number(income.min)}–{number(income.max)}" in text and "," in number(income.max)


def test_an_empty_segment_says_it_has_no_customers_instead_of_a_blank_chart(model, default_data, tmp_path: Path):
    from tests.web.reports.test_report_html import empty_segment_report

    report, empty = empty_segment_report(model, default_data)
    pages = read_pdf(render_report(report, format="pdf").body, tmp_path)
    text = _words(pages.text)
    name = next(segment.name for segment in report.segments if segment.segment_id == empty)
    assert f"{name} · 0 customers (0.0%) " in text
    assert text.count(EMPTY_SEGMENT["scoring run"]) == 1
    # The sizes chart, the importance chart, and a chart for each segment but the empty one.
    assert report.importance
    assert pages.images == 2 + len(report.segments) - 1


def test_a_segment_of_one_customer_says_customer(model, default_data, tmp_path: Path):
    # The audit's case: "1 customers (33.3%)" in a segment's heading.
    frame = labelled_frame(model, default_data)
    one = model.segments[0].segment_id
    frame = frame.drop(frame.index[frame["segment_id"] == one][1:])
    report = frame_report(model=model, frame=frame, segmentation="default")
    name = next(segment.name for segment in report.segments if segment.segment_id == one)
    text = _words(read_pdf(render_report(report, format="pdf").body, tmp_path).text)
    assert f"{name} · 1 customer (" in text and "1 customers" not in text
    html = render_report(report, format="html").body.decode()
    assert f"{name} · 1 customer (" in html and "1 customers" not in html


def _renamed(report, names: list[str]):
    from dataclasses import replace

    segments = [replace(segment, name=names[i % len(names)]) for i, segment in enumerate(report.segments)]
    return replace(report, segments=segments)


def test_arabic_and_hebrew_names_print_joined_and_in_reading_order(default_report, tmp_path: Path):
    import unicodedata

    # The audit's case: reportlab drew them letter by letter as stored, left to right and unjoined.
    report = _renamed(default_report, ["عملاء مميزون", "לקוחות נאמנים"])
    text = read_pdf(render_report(report, format="pdf").body, tmp_path).text
    assert any("\ufe70" <= character <= "\ufefc" for character in text)  # Arabic letters in their joined forms
    read = unicodedata.normalize("NFKC", text)  # pdftotext gives them back in reading order
    assert "عملاء مميزون" in read and "לקוחות נאמנים" in read
    arabic = next(segment for segment in report.segments if segment.name == "عملاء مميزون")
    assert f"{arabic.size:,} customers ({arabic.share:.1%})" in read


def test_drawing_names_the_font_lacks_warns_nothing(default_report):
    import warnings

    # matplotlib's "Glyph ... missing from font(s) DejaVu Sans" went to stderr for each such letter at every report.
    report = _renamed(default_report, ["顧客 😀", "客户", "Ünïcödé"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for format in ("pdf", "html"):
            render_report(report, format=format)
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []


def _fonts_of(pdf: bytes, folder: Path) -> str:
    from tests.tools import need_tool

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fonts.pdf").write_bytes(pdf)
    pdffonts = need_tool("pdffonts", "poppler-utils")
    return subprocess.run([pdffonts, str(folder / "fonts.pdf")], check=True, capture_output=True, text=True).stdout


def test_chinese_japanese_and_korean_names_print_in_the_readers_standard_asian_fonts(default_report, tmp_path: Path):
    import dataclasses

    from app.web.reports.fonts import CHINESE, JAPANESE, KOREAN

    # DejaVu Sans has no CJK glyph: every such name printed as a row of empty boxes.
    names = ["高价值客户", "お得意様", "충성 고객 VIP"]
    report = dataclasses.replace(_renamed(default_report, names), segmentation="季节 campaign")
    pdf = render_report(report, format="pdf").body
    fonts = _fonts_of(pdf, tmp_path / "fonts")
    assert all(name in fonts for name in (CHINESE, JAPANESE, KOREAN))
    text = _words(read_pdf(pdf, tmp_path / "pages").text)
    assert all(name in text for name in names)
    assert "季节 campaign · version" in text  # the footer, set run by run
    segment = next(segment for segment in report.segments if segment.name == "お得意様")
    assert f"お得意様 · {segment.size:,} customers ({segment.share:.1%})" in text


def test_a_report_without_cjk_names_carries_no_asian_font(default_report, tmp_path: Path):
    from app.web.reports.fonts import CHINESE, JAPANESE, KOREAN

    fonts = _fonts_of(render_report(default_report, format="pdf").body, tmp_path)
    assert not any(name in fonts for name in (CHINESE, JAPANESE, KOREAN)) and "DejaVu" in fonts
