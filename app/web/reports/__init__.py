"""Segment reports rendered for people: HTML and PDF from one ReportData, charts drawn once for both."""

from dataclasses import dataclass

from app.services.reports.data import ReportData

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
PAPERS = ("a4", "letter")


@dataclass(frozen=True)
class RenderedReport:
    """A rendered report: its bytes, media type, file name and, for HTML, its own content security policy."""

    body: bytes
    media_type: str
    filename: str
    csp: str | None


def _quality(part: str) -> tuple[str, float]:
    """One Accept entry as (media type, q)."""
    media, *parameters = (piece.strip() for piece in part.split(";"))
    q = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return media.lower(), q


def pick_format(asked: str | None, accept: str | None) -> str:
    """`html` or `pdf`: the `format` parameter when given, else the Accept header's preference (HTML by default)."""
    if asked:
        return asked
    wanted = dict(reversed([_quality(part) for part in (accept or "").split(",") if part.strip()]))
    pdf, html = wanted.get("application/pdf", 0.0), wanted.get("text/html", 0.0)
    return "pdf" if pdf > html else "html"


def render_report(report: ReportData, *, format: str, paper: str = "a4") -> RenderedReport:
    """Draw the charts and lay the report out as `html` or `pdf` (blocking: call it in a worker thread)."""
    from app.web.reports.charts import draw_charts

    charts = draw_charts(report)
    stem = f"segment-report-{report.segmentation}-{report.version}"
    if format == "pdf":
        from app.web.reports.pdf import render_pdf

        return RenderedReport(render_pdf(report, charts, paper=paper), FORMATS["pdf"], f"{stem}.pdf", None)
    from app.web.reports.html import REPORT_CSP, render_html

    return RenderedReport(render_html(report, charts).encode(), FORMATS["html"], f"{stem}.html", REPORT_CSP)
