"""The /runs pages: kept runs, one run's customers (filtered, sorted, paged) and two runs compared."""

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.errors import InvalidRequest, SegmentationError
from app.db.tables import Run
from app.models.rfm.left_out import left_out_lines
from app.models.segmentations.registries import Segmentations
from app.services.runs import records
from app.services.runs.store import run_path
from app.utils.text import noun
from app.web.pages.column_names import SHORT_NAME, column_labels, short_name
from app.web.pages.monitoring import STATUS_SYMBOLS

PAGE_SIZE = 50
# The score columns the browse table shows after the customer's own, headed in words (the CSV keeps these names).
SHOWN_SCORES = {
    "segment_name": "Segment",
    "confidence": "Confidence",
    "distance": "Distance",
    "is_atypical": "Atypical",
    "out_of_range": "Out of range",
}
# The browse form's sorts: file order, the scores, then every input column both ways.
SCORE_SORTS = (
    ("", "file order"),
    ("-confidence", "confidence, highest first"),
    ("confidence", "confidence, lowest first"),
    ("-distance", "distance to the centre, farthest first"),
    ("distance", "distance to the centre, nearest first"),
)
WAYS = {"-": "highest first", "": "lowest first"}
# The customers table names at most this many of the file's columns it leaves out; a wide file's others are counted.
HIDDEN_NAMED = 8


def runs_page(
    *, session: Session, settings: Settings, segmentation: str | None, known: Segmentations | None = None
) -> dict[str, Any]:
    """Kept runs, newest first (removed ones say when they went); `known`: the segmentations, for a 404 page."""
    runs = records.list_runs(session=session, settings=settings, segmentation=segmentation, segmentations=known)
    return {"active": "runs", "runs": [records.run_out(run) for run in runs], "filter_segmentation": segmentation}


def _input_columns(names: list[str]) -> list[str]:
    from app.services.scoring.score_columns import ERROR_COLUMN, EXTRA_COLUMNS, SCORE_COLUMNS

    appended = {*SCORE_COLUMNS, *EXTRA_COLUMNS, ERROR_COLUMN}
    return [name for name in names if name not in appended]


def count_text(value: int, *, decimal_comma: bool) -> str:
    """A count as the page writes it: 1,234, or 1 234 (a narrow space) where a comma is the decimal mark."""
    return f"{value:,}".replace(",", "\u202f") if decimal_comma else f"{value:,}"


def left_out_words(transactions: dict[str, Any] | None, *, decimal_comma: bool) -> str:
    """An RFM run's lines left out and why, largest first ("80: 68 with an amount that is not a number, ..."); ''."""
    reasons = sorted(left_out_lines(transactions).items(), key=lambda item: -item[1])
    if not reasons:
        return ""
    said = ", ".join(f"{count_text(count, decimal_comma=decimal_comma)} {text}" for text, count in reasons)
    return f"{count_text(sum(count for _, count in reasons), decimal_comma=decimal_comma)}: {said}"


def share_text(value: float, *, decimal_comma: bool) -> str:
    """A share as the page writes it: 23.3%, or 23,3% where a comma is the decimal mark."""
    return f"{value:.1%}".replace(".", ",") if decimal_comma else f"{value:.1%}"


def _shown_columns(run: Run, inputs: list[str], sort: str) -> list[str]:
    """The customer's id, the model's input columns and the column sorted by, then the scores: what a marketer reads
    a row by."""
    columns = run.summary.get("columns") or {}
    own = [run.customer_id_column] if run.customer_id_column else []
    own += [name for key, name in columns.items() if name and key != "customer_id" and name in inputs]
    # A list sorted by a column it does not show reads as unsorted.
    own += [name for name in inputs if sort and name == sort.removeprefix("-")]
    return [*dict.fromkeys(own), *SHOWN_SCORES]


def hidden_text(hidden: list[str], labels: dict[str, str], *, decimal_comma: bool) -> str | None:
    """The file's columns the customers table leaves out, in a sentence ("3 more columns in the file are not shown:
    Name, City, Notes"): the first HIDDEN_NAMED named, shortened, and the rest counted; None when it shows them all."""
    if not hidden:
        return None
    named = ", ".join(short_name(labels[name]) for name in hidden[:HIDDEN_NAMED])
    rest = len(hidden) - HIDDEN_NAMED
    more = f" and {count_text(rest, decimal_comma=decimal_comma)} more" if rest > 0 else ""
    counted = count_text(len(hidden), decimal_comma=decimal_comma)
    columns = "column in the file is" if len(hidden) == 1 else "columns in the file are"
    return f"{counted} more {columns} not shown: {named}{more}."


def _flag(value: str | None) -> bool | None:
    return {"true": True, "false": False}.get((value or "").lower())


def run_drift_verdict(*, segmentations: Segmentations, settings: Settings, run: Run) -> dict[str, Any]:
    """The run's drift report (status, messages and every check); `unavailable` with the reason when its version is
    gone."""
    from app.services.runs.analysis import run_drift, run_model

    try:
        model = run_model(registry=segmentations.registry(run.segmentation), run=run)
        return run_drift(model=model, run=run, results_dir=settings.score_results_dir)
    except SegmentationError as exc:
        return {"status": "unavailable", "messages": [exc.message], "warnings": [], "segment_mix": None}


def run_page(
    *,
    session: Session,
    settings: Settings,
    run_id: str,
    params: dict[str, str],
    segmentations: Segmentations | None = None,
) -> dict[str, Any]:
    """A run: its summary, its customers as the filters ask, the downloads, the runs it can be compared with, and
    its drift verdict when `segmentations` is given."""
    # Reading runs needs pyarrow: imported by the pages that read one, so start-up stays light.
    from app.services.runs.browse import CustomerQuery, browse_customers, column_names
    from app.services.runs.crm import email_column, identifies_contacts
    from app.services.runs.segments import run_segment

    run = records.get_run(session=session, settings=settings, run_id=run_id)
    path = run_path(settings.score_results_dir, run.id)
    names = column_names(path)
    inputs = _input_columns(names)
    filters = {key: params.get(key, "") for key in ("segment", "atypical", "out_of_range", "sort")}
    if filters["segment"]:
        # A segment the run has not (a typed or stale link) is the API's 404, not an empty list that looks like one.
        run_segment(run, filters["segment"])
    query = CustomerQuery(
        segment=filters["segment"] or None,
        atypical=_flag(filters["atypical"]),
        out_of_range=_flag(filters["out_of_range"]),
        sort=filters["sort"] or None,
        cursor=params.get("cursor") or None,
        limit=PAGE_SIZE,
        decimal_comma=records.decimal_comma(run.summary),
    )
    page = browse_customers(path=path, run_id=run.id, query=query)
    # One convention for the whole page: a ';' file's decimal commas in its values, its scores, shares and counts.
    comma = query.decimal_comma
    labels = column_labels(names)
    summary = run.summary
    asked = {key: value for key, value in filters.items() if value}
    shown = _shown_columns(run, inputs, filters["sort"])
    others = [
        other
        for other in records.list_runs(session=session, settings=settings, segmentation=run.segmentation)
        if other.id != run.id and other.removed_at is None and other.customer_id_column
    ]
    # Newest first: the earlier runs from the nearest back, the later ones (reversed) from the nearest on.
    earlier = [records.run_out(other) for other in others if other.created_at <= run.created_at]
    later = [records.run_out(other) for other in reversed(others) if other.created_at > run.created_at]
    return {
        "active": "runs",
        "run": records.run_out(run),
        "segments": [segment["segment_name"] for segment in summary.get("segments", [])],
        # A nameless column sorts only descending: its ascending sort would be "", which is file order.
        "sorts": [
            *SCORE_SORTS,
            *[
                (f"{sign}{name}", f"{short_name(labels[name])}, {WAYS[sign]}")
                for name in inputs
                for sign in WAYS
                if name or sign
            ],
        ],
        "filters": filters,
        "columns": shown,
        # The table reads a row by the id, the model's inputs and the scores: it says which of the file's it leaves out.
        "hidden_text": hidden_text([name for name in inputs if name not in shown], labels, decimal_comma=comma),
        # The scores' names are never input columns' (those are told apart from them), so one lookup serves both.
        "labels": labels | SHOWN_SCORES,
        # Headed in full, they break anywhere (in a column of their own width) rather than widen the table.
        "long_names": {name for name in names if len(labels[name]) > SHORT_NAME},
        # The flagged rows are in the list below (with their reason), so the heading counts them too.
        "heading": f"{count_text(run.scored, decimal_comma=comma)} {noun(run.scored, 'customer')} scored"
        + (f", {count_text(summary['flagged'], decimal_comma=comma)} flagged" if summary.get("flagged") else ""),
        "rows_text": count_text(run.rows, decimal_comma=comma),
        # An RFM run's transaction lines no customer was built from, said beside the customers built.
        "left_out": left_out_words(summary.get("transactions"), decimal_comma=comma),
        "total_text": count_text(page["total"], decimal_comma=comma),
        "segment_rows": [
            {
                "name": segment["segment_name"],
                "count": count_text(segment["count"], decimal_comma=comma),
                "share": share_text(segment["share"], decimal_comma=comma),
            }
            for segment in summary.get("segments", [])
        ],
        "page": page,
        "next_query": urlencode({**asked, "cursor": page["next_cursor"]}) if page["next_cursor"] else None,
        "export_query": urlencode({**asked, "format": "csv"}),
        # The CRM hand-off follows the segment filter: one segment, or every scored customer.
        "crm_query": urlencode({"segment": filters["segment"]}) if filters["segment"] else "",
        "crm_segment": filters["segment"],
        "crm_has_email": email_column(names) is not None,
        "crm_identifies": identifies_contacts(run, names),
        "symbols": STATUS_SYMBOLS,
        # A ';' file's numbers are written with decimal commas: its score columns are shown as its inputs are.
        "decimal_comma": comma,
        "comparable": {label: runs for label, runs in (("Earlier runs", earlier), ("Later runs", later)) if runs},
        # On the run's first page only: the verdict reads the whole file, and paging through customers needs it once.
        "drift": None
        if segmentations is None or params.get("cursor")
        else run_drift_verdict(segmentations=segmentations, settings=settings, run=run),
    }


def _pair(*, session: Session, settings: Settings, a: str, b: str) -> tuple[Run, Run]:
    from app.services.runs.compare import in_time_order

    return in_time_order(*(records.get_run(session=session, settings=settings, run_id=run_id) for run_id in (a, b)))


def compare_pick(*, session: Session, settings: Settings, a: str, b: str) -> tuple[str, str]:
    """The ids of two runs picked for a comparison, the earlier first (422 in words when none was picked)."""
    if not b.strip():
        raise InvalidRequest("pick a run to compare with: choose one in the list, then Compare")
    first, second = _pair(session=session, settings=settings, a=a, b=b)
    return first.id, second.id


def compare_page(*, session: Session, settings: Settings, a: str, b: str) -> dict[str, Any]:
    """Two runs compared from the earlier to the later (whichever way the link names them): counts, the migration
    matrix in names, and who moved, came and went."""
    from app.services.runs.compare import Side, compare_runs, comparison_out

    first, second = _pair(session=session, settings=settings, a=a, b=b)
    sides = [Side(run, run_path(settings.score_results_dir, run.id)) for run in (first, second)]
    comparison = comparison_out(compare_runs(a=sides[0], b=sides[1]))
    return {"active": "runs", "a": records.run_out(first), "b": records.run_out(second), "comparison": comparison}
