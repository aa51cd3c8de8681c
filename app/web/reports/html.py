"""The report as one self-contained HTML file: the same words, tables and charts as the PDF."""

import base64
import hashlib

from app.core.templating import templates
from app.services.reports.data import ReportData
from app.web.reports.charts import ReportCharts
from app.web.reports.text import (
    EMPTY_SEGMENT,
    PROFILE_HEADER,
    composition_text,
    migration_summary,
    profile_rows,
    summary_rows,
)

# Inline, so the file carries its looks when sent; charts keep at least 36rem (their text would shrink below 7 px on a
# phone) and scroll sideways in their own box instead; the response allows exactly this text by its hash (it has no
# character that HTML escaping would change, so the page holds it as hashed).
STYLE = (
    "body{font:15px/1.5 system-ui,-apple-system,sans-serif;color:#1f2933;margin:0;background:#fff}"
    ".report{max-width:52rem;margin:0 auto;padding:1.5rem 1rem 3rem;overflow-wrap:break-word}"
    "h1{font-size:1.6rem;margin:0 0 1rem}h2{font-size:1.2rem;margin:2rem 0 .5rem}"
    "h3{font-size:1rem;margin:1rem 0 .25rem}"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;padding:.25rem .5rem;"
    "border-bottom:1px solid #d1d5db;vertical-align:top}thead th{background:#f3f4f6}"
    ".summary th{width:30%;font-weight:600}.chart{display:block;width:100%;min-width:36rem;height:auto;margin:.5rem 0}"
    ".muted{color:#4b5563}.segment{border-top:2px solid #e5e7eb;margin-top:2rem}"
    ".scroll{overflow-x:auto}.summary td{word-break:break-all}"
    "@media print{.segment{break-inside:avoid}}"
)
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# The report's own policy: its inline style, its data: images, nothing else (no script at all).
REPORT_CSP = f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src data:; base-uri 'none'; form-action 'none'"


def data_uri(png: bytes) -> str:
    """A PNG as a data: URL, so the file needs nothing beside it."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(report: ReportData, charts: ReportCharts) -> str:
    """The report as an HTML document."""
    template = templates.env.get_template("report.html")
    return template.render(
        report=report,
        charts=charts,
        style=STYLE,
        summary=summary_rows(report),
        migration=migration_summary(report),
        profile_header=PROFILE_HEADER,
        empty_segment=EMPTY_SEGMENT[report.subject],
        profile_rows=profile_rows,
        composition_text=composition_text,
        data_uri=data_uri,
    )
