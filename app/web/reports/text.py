"""The report's words and tables, shared by its HTML and PDF so both say the same."""

from app.core.templating import customers_from_lines, readable_time
from app.services.reports.data import FeatureProfile, ReportData, SegmentProfile
from app.utils.numbers import readable
from app.web.reports.rtl import isolated

SUBJECT_NOUN = {"model version": "training customers", "scoring run": "scored customers"}
# What a segment with no customer shows instead of an empty profile table.
EMPTY_SEGMENT = {
    "model version": "No training customers of this version are in this segment.",
    "scoring run": "No customers of this run are in this segment.",
}


def number(value: float | None) -> str:
    """A value as people read it (`readable`: 30,570, 0.0412); a dash for none. Every number of a report."""
    return "–" if value is None else readable(value)


def feature_row(feature: FeatureProfile) -> list[str]:
    """A feature's row of a profile table: label (unit), mean, p10–p90, min–max."""
    # A label that already says its unit in brackets ("Annual Income (k$)") is not given it twice.
    label = f"{feature.label} ({feature.unit})" if feature.unit and "(" not in feature.label else feature.label
    band = (
        f"{number(feature.p10)}–{number(feature.p90)}" if feature.p10 is not None and feature.p90 is not None else "–"
    )
    return [label, number(feature.mean), band, f"{number(feature.min)}–{number(feature.max)}"]


PROFILE_HEADER = ["Feature", "Mean", "10th–90th percentile", "Range"]


def profile_rows(segment: SegmentProfile) -> list[list[str]]:
    """Every feature's row, then age's (quartiles in the percentile column) when known."""
    rows = [feature_row(feature) for feature in segment.features]
    if segment.age is not None and all(feature.name != "age" for feature in segment.features):
        age = segment.age
        rows.append(["Age (years)", number(age.mean), f"quartiles {number(age.q1)}–{number(age.q3)}", "–"])
    return rows


def composition_text(segment: SegmentProfile) -> list[tuple[str, str]]:
    """Each categorical column of a segment with its values' shares in words, largest first.

    A right-to-left value is isolated (Unicode FSI…PDI, which browsers and the PDF's reordering honour): else its
    share, and the values after it, are read as part of it and the list comes out backwards.
    """
    return [
        (composition.column, ", ".join(f"{isolated(value)} {share:.0%}" for value, share in composition.shares))
        for composition in segment.compositions
    ]


def summary_rows(report: ReportData) -> list[tuple[str, str]]:
    """The summary table: segmentation, version, data, when, counts."""
    rows = [
        ("Segmentation", report.segmentation),
        ("Version", report.version),
        ("Data", report.data_file or "unknown"),
        ("Trained" if report.subject == "model version" else "Scored", readable_time(report.when or "unknown")),
    ]
    for name, count in report.counts.items():
        lines = report.transaction_lines if name == "customers" else None
        rows.append((name.capitalize(), f"{count:,}" if lines is None else customers_from_lines(count, lines)))
    rows.append(("Report generated", readable_time(report.generated_at)))
    return rows


def migration_summary(report: ReportData) -> str:
    """One sentence on the migration, or why there is none."""
    migration = report.migration
    if migration is None:
        return report.migration_note or "No earlier version or run to compare with."
    share = migration.moved / migration.total if migration.total else 0.0
    return (
        f"Against {migration.against}, on {migration.customers}: {migration.moved:,} of {migration.total:,} "
        f"({share:.0%}) are in a segment of another name."
    )
