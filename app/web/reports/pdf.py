"""The report as a PDF, laid out by reportlab (pure Python: no system libraries, so Windows and slim images work).

Text is set in DejaVu Sans, which matplotlib ships, so names in Latin, Greek, Cyrillic, Hebrew or Arabic letters print
(reportlab's built-in fonts stop at Latin-1; right-to-left text is reordered and joined by rtl.py), and Chinese,
Japanese and Korean runs in the reader's standard Asian fonts (fonts.py); nothing is fetched. Emoji beyond DejaVu
Sans' few print as empty boxes.
Imported only when a PDF is rendered (app/web/reports.render_report), so reportlab loads at the first PDF.
"""

from io import BytesIO

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch, mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    ListFlowable,
    ListItem,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.services.reports.data import ReportData
from app.utils.text import noun
from app.web.reports.charts import Chart, ReportCharts
from app.web.reports.fonts import markup, pdf_fonts, runs
from app.web.reports.rtl import isolated, visual
from app.web.reports.text import (
    EMPTY_SEGMENT,
    PROFILE_HEADER,
    composition_text,
    migration_summary,
    profile_rows,
    summary_rows,
)

MARGIN_MM = 16
INK, MUTED, RULE, HEAD = "#1f2933", "#6b7280", "#d1d5db", "#f3f4f6"


class Picture(Flowable):
    """A chart's pixels drawn at a given size (reportlab's Image flowable wants a file to read)."""

    def __init__(self, chart: Chart, width: float, height: float) -> None:
        super().__init__()
        self.chart, self.width, self.height = chart, width, height

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        """The size it takes."""
        return self.width, self.height

    def draw(self) -> None:
        """Put the pixels on the page."""
        self.canv.drawImage(ImageReader(self.chart.image), 0, 0, self.width, self.height)


def render_pdf(report: ReportData, charts: ReportCharts, *, paper: str = "a4") -> bytes:
    """The report as PDF bytes on A4 or Letter."""
    # Binary image streams: the ASCII85 default quadruples the time to write the charts, for 7-bit-safe files that
    # no one needs.
    rl_config.useA85 = 0
    regular, bold = pdf_fonts()
    page = A4 if paper == "a4" else LETTER
    width = page[0] - 2 * MARGIN_MM * mm
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12.5, textColor=colors.HexColor(INK))
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor=colors.HexColor(MUTED))
    h1 = ParagraphStyle("h1", parent=body, fontName=bold, fontSize=16, leading=20, spaceAfter=6)
    h2 = ParagraphStyle("h2", parent=body, fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4)
    h3 = ParagraphStyle("h3", parent=body, fontName=bold, fontSize=9, leading=12, spaceBefore=4)

    def text(value: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(markup(visual(value)), style)

    def table(rows: list[list[str]], widths: list[float], header: bool = True) -> Table:
        cells = [[text(cell, h3 if header and i == 0 else body) for cell in row] for i, row in enumerate(rows)]
        grid = Table(cells, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
        style = [
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor(RULE)),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(HEAD)))
        grid.setStyle(TableStyle(style))
        return grid

    def bullets(lines: list[str]) -> ListFlowable:
        return ListFlowable([ListItem(text(line)) for line in lines], bulletType="bullet", leftIndent=12)

    def image(chart: Chart) -> Picture:
        scale = min(1.0, width / (chart.width_in * inch))
        return Picture(chart, chart.width_in * inch * scale, chart.height_in * inch * scale)

    story: list = [text(report.title, h1)]
    story.append(table([list(row) for row in summary_rows(report)], [width * 0.3, width * 0.7], header=False))
    story += [text("Segment sizes", h2), image(charts.sizes)]
    overview = [["Segment", "Customers", "Share", "Description"]] + [
        [s.name, f"{s.size:,}", f"{s.share:.1%}", s.description] for s in report.segments
    ]
    story.append(table(overview, [width * 0.24, width * 0.15, width * 0.1, width * 0.51]))
    if report.importance and charts.importance:
        story += [text("Feature importance", h2), image(charts.importance)]
    story.append(text("Migration", h2))
    story.append(text(migration_summary(report)))
    if charts.migration:
        story.append(image(charts.migration))
    story.append(text("Drift", h2))
    if report.drift is None:
        story.append(text("No drift status: this report was made without the prediction log."))
    else:
        story.append(
            text(f"Status: {report.drift.status}" + (f" ({report.drift.window})" if report.drift.window else ""))
        )
        story += [text(message, small) for message in report.drift.messages]
    for note in report.notes:
        story.append(text(note, small))
    for segment in report.segments:
        head = [
            text(
                f"{isolated(segment.name)} · {segment.size:,} {noun(segment.size, 'customer')} ({segment.share:.1%})",
                h2,
            ),
            text(segment.description),
        ]
        head.append(Spacer(1, 4))
        if segment.size:
            rows = [PROFILE_HEADER, *profile_rows(segment)]
            head.append(table(rows, [width * 0.34, width * 0.16, width * 0.28, width * 0.22]))
        else:
            head.append(text(EMPTY_SEGMENT[report.subject]))
        for column, shares in composition_text(segment):
            head.append(Paragraph(f"<b>{markup(visual(column))}:</b> {markup(visual(shares))}", body))
        if segment.size:  # an empty segment's chart would be a blank frame: its sentence above stands alone
            head.append(image(charts.segments[segment.segment_id]))
        if segment.rules:
            head.append(text("Rules", h3))
            head.append(bullets(segment.rules))
        if segment.strategy:
            head.append(text("Strategy", h3))
            head.append(bullets(segment.strategy))
        # A segment is about a third of a page: kept on one page, its table never parts from its chart.
        story.append(KeepTogether(head))

    def footer(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.HexColor(MUTED))
        x = MARGIN_MM * mm
        for run, font in runs(visual(f"{report.segmentation} · version {report.version}")):
            canvas.setFont(font or regular, 7.5)
            canvas.drawString(x, 9 * mm, run)
            x += canvas.stringWidth(run, font or regular, 7.5)
        canvas.drawRightString(page[0] - MARGIN_MM * mm, 9 * mm, f"page {document.page}")
        canvas.restoreState()

    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=page,
        leftMargin=MARGIN_MM * mm,
        rightMargin=MARGIN_MM * mm,
        topMargin=MARGIN_MM * mm,
        bottomMargin=MARGIN_MM * mm,
        title=report.title,
        author="Customer Segmentation",
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
