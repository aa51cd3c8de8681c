"""The report's charts as PNG images, drawn with matplotlib's Agg canvas (no display, no pyplot global state).

matplotlib is imported only when a report is drawn, so the server's start-up and predict path never load it.
"""

import io
import textwrap
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.services.reports.data import FeatureProfile, Migration, ReportData, SegmentProfile
from app.web.charts.styles import PALETTE, style_slots
from app.web.reports.fonts import chart_families
from app.web.reports.text import number

# Drawn at this resolution: sharp on paper at the report's width, and a 10-segment report stays within its budget.
DPI = 128
WIDTH_IN = 6.6  # inches: the text width of A4 and of Letter with the report's margins
INK, MUTED, BAND, LIGHT = "#1f2933", "#6b7280", "#c7d2fe", "#e5e7eb"
# Text people wrote (segment names, feature labels, a file's columns and values) is drawn with parse_math=False: a
# pair of `$` in it would be read as matplotlib's math, and a broken formula there raised and failed the report.
# Categories of a composition bar (gender, region...): colour-blind-safe, distinct from one another.
CATEGORY_COLOURS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#332288")


@dataclass(frozen=True)
class Chart:
    """One drawn chart: its pixels (a PIL RGB image), its size in inches, and what it shows (alt text)."""

    image: Any
    width_in: float
    height_in: float
    alt: str

    @property
    def png(self) -> bytes:
        """The chart as PNG bytes (the HTML report's data: images; the PDF takes the pixels as they are)."""
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG")
        return buffer.getvalue()


def segment_colours(report: ReportData) -> dict[int, str]:
    """Each segment's colour, by stable id, as on every page of the app."""
    slots = style_slots([segment.segment_id for segment in report.segments])
    return {segment_id: PALETTE[slot] for segment_id, slot in slots.items()}


def _figure(width: float, height: float):
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # The same families every time, so reports drawn at once on two threads do not disturb each other.
    matplotlib.rcParams["font.family"] = chart_families()

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.patch.set_facecolor("white")
    return figure


def _drawn(figure, alt: str) -> Chart:
    """Draw a figure on its Agg canvas and keep the pixels: no PNG is encoded (and decoded again) for the PDF."""
    from PIL import Image

    figure.canvas.draw()
    rgba = np.asarray(figure.canvas.buffer_rgba())
    width, height = figure.get_size_inches()
    return Chart(Image.fromarray(np.ascontiguousarray(rgba[..., :3])), float(width), float(height), alt)


def _clean(axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(colors=INK, labelsize=8)


# What fits left of the bars at 8 pt (the figure's left 28%): two lines of this many characters.
LABEL_CHARS, LABEL_LINES = 30, 2


def fitted_label(name: str) -> str:
    """A segment name in at most two lines that fit left of the bars, cut with "…" beyond: a 60-character name ran off
    the page's edge (the alt text keeps every name whole)."""
    lines = textwrap.wrap(name, LABEL_CHARS) or [""]
    if len(lines) > LABEL_LINES:
        rest = " ".join(lines[LABEL_LINES - 1 :])
        lines = [*lines[: LABEL_LINES - 1], rest[: LABEL_CHARS - 1] + "…"]
    return "\n".join(lines)


def _fit_left(figure, labels: list) -> None:
    """Fit each label that still reaches past the figure's left edge (wide letters, say): a smaller font down to 6 pt,
    then its longest line cut with "…"."""
    renderer = figure.canvas.get_renderer()
    for label in labels:
        while label.get_window_extent(renderer).x0 < 1:
            if label.get_fontsize() > 6:
                label.set_fontsize(label.get_fontsize() - 0.5)
                continue
            lines = label.get_text().split("\n")
            longest = max(range(len(lines)), key=lambda index: len(lines[index]))
            if len(lines[longest]) <= 2:
                break
            lines[longest] = lines[longest].removesuffix("…")[:-1] + "…"
            label.set_text("\n".join(lines))


def sizes_chart(report: ReportData) -> Chart:
    """Customers per segment, one bar each in the segment's colour, labelled with the count and share."""
    colours = segment_colours(report)
    segments = report.segments
    figure = _figure(WIDTH_IN, 0.45 + 0.32 * len(segments))
    axes = figure.add_subplot()
    positions = list(range(len(segments)))[::-1]
    axes.barh(positions, [s.size for s in segments], color=[colours[s.segment_id] for s in segments], height=0.7)
    largest = max((s.size for s in segments), default=0) or 1
    labels = []
    for position, segment in zip(positions, segments, strict=True):
        labels.append(
            axes.text(
                -largest * 0.02,
                position,
                fitted_label(segment.name),
                ha="right",
                va="center",
                fontsize=8,
                color=INK,
                parse_math=False,
            )
        )
        axes.text(
            segment.size + largest * 0.01,
            position,
            f"{segment.size:,} ({segment.share:.1%})",
            va="center",
            fontsize=8,
            color=INK,
        )
    axes.set_xlim(0, largest * 1.22)
    axes.set_ylim(-0.6, len(segments) - 0.4)
    # Labels as text with the axes off, as in the segment charts: ticks and tight_layout cost most of the time.
    axes.set_axis_off()
    figure.subplots_adjust(left=0.28, right=0.98, top=0.97, bottom=0.03)
    _fit_left(figure, labels)
    alt = "Customers per segment: " + "; ".join(f"{s.name} {s.size:,} ({s.share:.1%})" for s in segments)
    return _drawn(figure, alt)


def _scaled(value: float, scale: FeatureProfile) -> float:
    span = scale.max - scale.min
    return 0.5 if span <= 0 else (value - scale.min) / span


def _feature_panel(
    axes,
    segment: SegmentProfile,
    overall: dict[str, FeatureProfile],
    colour: str,
    age_span: tuple[float, float] | None,
) -> None:
    """Each feature (and age) on its own row, placed within every customer's range (0 = lowest, 1 = highest)."""
    rows = [(f, overall.get(f.name, f)) for f in segment.features]
    if segment.age is not None and age_span is not None and all(f.name != "age" for f in segment.features):
        # Age as its quartiles (what a version records), within the quartiles' span over every segment.
        age = segment.age
        low, high = age_span
        rows.append(
            (
                FeatureProfile("age", "Age (quartiles)", "years", age.mean, age.q1, age.q3, age.q1, age.q3),
                FeatureProfile("age", "Age", "years", (low + high) / 2, low, high),
            )
        )
    # Labels are plain text and the axes are off: tick machinery is most of matplotlib's drawing time, and ten
    # segments' charts must stay well within the report's time budget.
    for row, (feature, scale) in enumerate(rows):
        y = len(rows) - row - 1
        axes.plot([0, 1], [y, y], color=LIGHT, linewidth=6, solid_capstyle="butt", zorder=1)
        low, high = _scaled(feature.min, scale), _scaled(feature.max, scale)
        axes.plot([low, high], [y, y], color=colour, linewidth=1.5, alpha=0.6, zorder=2)
        if feature.p10 is not None and feature.p90 is not None:
            left, right = _scaled(feature.p10, scale), _scaled(feature.p90, scale)
            axes.plot([left, right], [y, y], color=colour, linewidth=6, solid_capstyle="butt", zorder=3)
        axes.plot([_scaled(feature.mean, scale)], [y], "o", color="white", markeredgecolor=INK, markersize=6, zorder=4)
        axes.text(-0.04, y, feature.label, ha="right", va="center", fontsize=7.5, color=INK, parse_math=False)
        axes.text(1.03, y, number(feature.mean), va="center", fontsize=7.5, color=INK)
    axes.text(0, -0.75, "lowest", ha="center", va="top", fontsize=7, color=MUTED)
    axes.text(1, -0.75, "highest", ha="center", va="top", fontsize=7, color=MUTED)
    axes.set_ylim(-1.1, len(rows) - 0.3)
    axes.set_xlim(-0.02, 1.15)
    axes.set_title("Features within every customer's range", fontsize=8.5, color=INK, loc="left")
    axes.set_axis_off()


def category_slots(report: ReportData) -> dict[tuple[str, str], int]:
    """Each (column, value)'s colour slot, the same in every segment's chart (Female is one colour throughout)."""
    slots: dict[tuple[str, str], int] = {}
    for segment in report.segments:
        for composition in segment.compositions:
            for value, _ in composition.shares:
                if (composition.column, value) not in slots:
                    taken = sum(1 for column, _ in slots if column == composition.column)
                    slots[(composition.column, value)] = taken % len(CATEGORY_COLOURS)
    return slots


def _composition_panel(axes, segment: SegmentProfile, palette: dict[tuple[str, str], int]) -> None:
    """One 100% bar per categorical column (gender, region...), each value's share written inside when it fits."""
    compositions = segment.compositions
    for row, composition in enumerate(compositions):
        y = len(compositions) - row - 1
        shares = [share for _, share in composition.shares]
        lefts = [sum(shares[:index]) for index in range(len(shares))]
        slots = [palette[(composition.column, value)] for value, _ in composition.shares]
        axes.barh(
            [y] * len(shares),
            shares,
            left=lefts,
            color=[CATEGORY_COLOURS[slot] for slot in slots],
            height=0.6,
            edgecolor="white",
            linewidth=0.5,
        )
        for (value, share), left, slot in zip(composition.shares, lefts, slots, strict=True):
            if share >= 0.12:
                axes.text(
                    left + share / 2,
                    y,
                    f"{value}\n{share:.0%}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color=INK if slot in (3, 4, 6) else "white",  # dark text on the light colours
                    parse_math=False,
                )
        axes.text(-0.04, y, composition.column, ha="right", va="center", fontsize=7.5, color=INK, parse_math=False)
    axes.set_xlim(0, 1)
    axes.set_ylim(-0.6, len(compositions) - 0.4)
    axes.set_title("Who they are", fontsize=8.5, color=INK, loc="left")
    axes.set_axis_off()


def segment_chart(report: ReportData, segment: SegmentProfile) -> Chart:
    """A segment's profile: its features within every customer's range, and its categorical columns' shares."""
    colour = segment_colours(report)[segment.segment_id]
    overall = {f.name: f for f in report.overall}
    ages = [s.age for s in report.segments if s.age is not None]
    age_span = (min(a.q1 for a in ages), max(a.q3 for a in ages)) if ages else None
    rows = max(len(segment.features) + (segment.age is not None), len(segment.compositions), 1)
    figure = _figure(WIDTH_IN, 0.9 + 0.38 * rows)
    if segment.compositions:
        grid = figure.add_gridspec(1, 2, width_ratios=(1.25, 1), wspace=0.55)
        _feature_panel(figure.add_subplot(grid[0]), segment, overall, colour, age_span)
        _composition_panel(figure.add_subplot(grid[1]), segment, category_slots(report))
    else:
        _feature_panel(figure.add_subplot(), segment, overall, colour, age_span)
    figure.subplots_adjust(left=0.22, right=0.97, top=0.86, bottom=0.04)
    parts = [f"{f.label} mean {number(f.mean)} (range {number(f.min)} to {number(f.max)})" for f in segment.features]
    if segment.age is not None:
        parts.append(f"age mean {segment.age.mean:.0f} (quartiles {segment.age.q1:.0f} to {segment.age.q3:.0f})")
    parts += [
        f"{c.column}: " + ", ".join(f"{value} {share:.0%}" for value, share in c.shares[:6])
        for c in segment.compositions
    ]
    return _drawn(figure, f"Profile of {segment.name}: " + "; ".join(parts))


def migration_chart(migration: Migration) -> Chart:
    """The migration matrix as a heat map: rows the earlier segments, columns this report's, counts written in."""
    rows, columns = len(migration.old_names), len(migration.new_names)
    figure = _figure(WIDTH_IN, 1.4 + 0.3 * rows)
    axes = figure.add_subplot()
    largest = max((max(row) for row in migration.matrix if row), default=0) or 1
    axes.imshow(migration.matrix, cmap="Blues", vmin=0, vmax=largest, aspect="auto")
    for i, row in enumerate(migration.matrix):
        for j, count in enumerate(row):
            if count:
                axes.text(
                    j,
                    i,
                    f"{count:,}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if count > largest * 0.6 else INK,
                )
    axes.set_xticks(range(columns), migration.new_names, rotation=30, ha="right", fontsize=7, parse_math=False)
    axes.set_yticks(range(rows), migration.old_names, fontsize=7, parse_math=False)
    axes.set_xlabel("now", fontsize=8, color=MUTED)
    # The earlier side is named above, across the chart: as the y-axis title a version id ran off both its ends.
    axes.set_ylabel("before", fontsize=8, color=MUTED)
    axes.set_title(f"before: {migration.against}", loc="left", fontsize=8, color=MUTED, parse_math=False)
    axes.tick_params(colors=INK)
    figure.tight_layout()
    return _drawn(figure, f"Migration from {migration.against}: {migration.moved:,} of {migration.total:,} moved")


def importance_chart(importance: list[tuple[str, float]]) -> Chart:
    """Feature importance, largest first."""
    figure = _figure(WIDTH_IN, 0.5 + 0.3 * len(importance))
    axes = figure.add_subplot()
    positions = list(range(len(importance)))[::-1]
    axes.barh(positions, [value for _, value in importance], color="#0072B2", height=0.6)
    axes.set_yticks(positions, [label for label, _ in importance], parse_math=False)
    _clean(axes)
    figure.tight_layout()
    return _drawn(figure, "Feature importance: " + ", ".join(f"{label} {number(value)}" for label, value in importance))


@dataclass(frozen=True)
class ReportCharts:
    """Every chart of one report, drawn once and shared by its HTML and PDF."""

    sizes: Chart
    segments: dict[int, Chart]  # by segment id; none for an empty segment, which has no profile to draw
    migration: Chart | None
    importance: Chart | None


def draw_charts(report: ReportData) -> ReportCharts:
    """Draw every chart of a report."""
    with warnings.catch_warnings():
        # A name in letters no chart font has (emoji; CJK on a machine without a CJK font) is drawn as boxes, as the
        # README says; matplotlib's "Glyph ... missing from font(s)" warning for each one went to stderr at every
        # report. The filters are the process's: two reports drawn at once may let one through, which is noise.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        return ReportCharts(
            sizes=sizes_chart(report),
            segments={s.segment_id: segment_chart(report, s) for s in report.segments if s.size},
            migration=migration_chart(report.migration) if report.migration else None,
            importance=importance_chart(report.importance) if report.importance else None,
        )
