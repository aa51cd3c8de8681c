"""A run looked at on its own: its segment report, and its drift ("is this month's export like the training data?")."""

import copy
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import SegmentationError, UnknownModelVersion
from app.db.tables import Run
from app.models.features import find_column
from app.models.model import SegmentationModel
from app.models.versions.registry import ModelRegistry
from app.services.monitoring.drift import INSUFFICIENT, MIN_WINDOW, Window, drift_report
from app.services.reports.data import DriftStatus, Migration, ReportData
from app.services.reports.frame import frame_report
from app.services.runs.compare import Side, compare_runs
from app.services.runs.records import decimal_comma
from app.services.runs.store import run_path
from app.services.runs.values import customer_ids, finite_numbers


class RunModelGone(SegmentationError):
    """The model version that scored a run was deleted: the run cannot be profiled against it any more."""

    status_code = 410
    error_type = "run_model_removed"


def run_model(*, registry: ModelRegistry, run: Run) -> SegmentationModel:
    """The model version that scored the run; 410 RunModelGone when that version was deleted since."""
    try:
        return registry.get(run.model_version)
    except UnknownModelVersion:
        raise RunModelGone(
            f"run {run.id} was scored by version {run.model_version} of {run.segmentation!r}, which was deleted "
            "since: score the file again to profile it with a current version"
        ) from None


def _scored(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[pd.to_numeric(frame["segment_id"], errors="coerce").notna()]


def _each_customer_once(frame: pd.DataFrame, column: str | None) -> pd.DataFrame:
    """Each customer id once (its last row, as comparing runs counts it); rows without an id all stay."""
    if not column or column not in frame.columns:
        return frame
    ids = pd.Series(customer_ids(pa.Array.from_pandas(frame[column].astype("string"))).to_pandas(), index=frame.index)
    has_id = ids.notna() & (ids != "")
    repeated = has_id & ids.duplicated(keep="last")
    return frame[~repeated.fillna(False).to_numpy(dtype=bool)]


def run_window(*, model: SegmentationModel, run: Run, frame: pd.DataFrame) -> Window:
    """The run's scored rows as a drift window: feature values by the model's feature names, segment ids, flags."""
    rows = _each_customer_once(_scored(frame), run.customer_id_column)
    columns = [str(column) for column in rows.columns]
    inputs = {}
    for spec in model.feature_specs:
        column = find_column(columns, spec)
        if column is not None:
            inputs[spec.name] = finite_numbers(rows[column], comma=decimal_comma(run.summary))

    def flags(name: str) -> np.ndarray:
        if name not in rows.columns:
            return np.zeros(len(rows), dtype=bool)
        return rows[name].fillna(False).astype(bool).to_numpy()

    return Window(
        inputs=inputs,
        segment_ids=pd.to_numeric(rows["segment_id"]).astype(np.int64).to_numpy(),
        atypical=flags("is_atypical"),
        out_of_range=flags("out_of_range"),
        first=run.created_at,
        last=run.created_at,
        requested=None,
        kind="run",
        rows_read=len(frame),
    )


def _frame(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    return pq.read_table(path, columns=columns).to_pandas()


def _drift_columns(path: Path, *, model: SegmentationModel, run: Run) -> list[str]:
    """The columns drift reads: the model's features, the scores and the customer id (not the whole file)."""
    names = list(pq.read_schema(path).names)
    wanted = {find_column(names, spec) for spec in model.feature_specs}
    wanted |= {"segment_id", "is_atypical", "out_of_range", run.customer_id_column}
    return [name for name in names if name in wanted]


def _drift(model: SegmentationModel, window: Window) -> dict[str, Any]:
    report = drift_report(model, window)
    if report["status"] == INSUFFICIENT and len(window) < MIN_WINDOW:
        # The log's wording ("predictions logged") does not fit a file: say what a run lacks.
        report["messages"] = [
            f"Only {len(window)} customers scored in this run: drift checks need at least {MIN_WINDOW}, "
            "so there is no verdict for this file."
        ]
    return report


# Drift reports of the runs looked at last, per process: a run and a version never change, so the run page's filters
# and pages (and GET .../drift) compute it once, not on every click.
DRIFT_HELD = 32
_drift_lock = threading.Lock()
_drifts: OrderedDict[tuple, dict[str, Any]] = OrderedDict()


def run_drift(*, model: SegmentationModel, run: Run, results_dir: Path) -> dict[str, Any]:
    """Every drift check of the run's customers against the training data of the version that scored them."""
    path = run_path(results_dir, run.id)
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, model.version, run.customer_id_column)
    with _drift_lock:
        held = _drifts.get(key)
        if held is not None:
            _drifts.move_to_end(key)
            return copy.deepcopy(held)
    frame = _frame(path, _drift_columns(path, model=model, run=run))
    report = _drift(model, run_window(model=model, run=run, frame=frame))
    with _drift_lock:
        _drifts[key] = copy.deepcopy(report)
        while len(_drifts) > DRIFT_HELD:
            _drifts.popitem(last=False)
    return report


def previous_run(*, session: Session, run: Run, results_dir: Path) -> Run | None:
    """The newest kept run of the same segmentation before this one that has a customer id column, if any."""
    candidates = session.scalars(
        select(Run)
        .where(
            Run.segmentation == run.segmentation,
            Run.created_at < run.created_at,
            Run.customer_id_column.is_not(None),
            Run.removed_at.is_(None),
        )
        .order_by(Run.created_at.desc())
        .limit(20)
    )
    return next((found for found in candidates if run_path(results_dir, found.id).is_file()), None)


def run_migration(*, session: Session, run: Run, results_dir: Path) -> tuple[Migration | None, str | None]:
    """Where the customers of the previous run of this segmentation are in this one, or why that is unknown."""
    if not run.customer_id_column:
        return None, "This run's file has no customer id column, so its customers cannot be matched with another run."
    previous = previous_run(session=session, run=run, results_dir=results_dir)
    if previous is None:
        return None, "No earlier kept run of this segmentation has a customer id column to compare with."
    comparison = compare_runs(
        a=Side(previous, run_path(results_dir, previous.id)), b=Side(run, run_path(results_dir, run.id)), listed=0
    )
    against = f"run {previous.id} ({previous.file_name}, {previous.created_at:%Y-%m-%d %H:%M} UTC)"
    if not comparison["matched"]:
        return None, f"No customer of {against} is in this run: nothing to compare."
    matrix = comparison["matrix"]
    return (
        Migration(
            against=against,
            customers=f"{comparison['matched']:,} customers in both runs, matched by {run.customer_id_column!r}",
            old_names=list(matrix["from"]),
            new_names=list(matrix["to"]),
            matrix=[list(row) for row in matrix["counts"]],
        ),
        None,
    )


def drift_status(report: dict[str, Any], *, run: Run) -> DriftStatus:
    """A drift report as the segment report prints it."""
    span = f"the {report['window']['size']:,} customers of this run's file ({run.file_name})"
    if run.customer_id_column:
        span += ", each customer id counted once"
    return DriftStatus(status=report["status"], messages=list(report["messages"]), window=span)


def run_report(*, session: Session, registry: ModelRegistry, run: Run, results_dir: Path) -> ReportData:
    """The segment report of a run: its labelled rows per segment, the migration since the previous run, its drift."""
    model = run_model(registry=registry, run=run)
    frame = _frame(run_path(results_dir, run.id))
    migration, note = run_migration(session=session, run=run, results_dir=results_dir)
    drift = _drift(model, run_window(model=model, run=run, frame=frame))
    exclude = [run.customer_id_column] if run.customer_id_column in frame.columns else []
    return frame_report(
        model=model,
        frame=frame.drop(columns=exclude),
        decimal_comma=decimal_comma(run.summary),
        segmentation=run.segmentation,
        title=f"Segment report: run of {run.file_name}",
        subject="scoring run",
        data_file=run.file_name,
        when=run.created_at.isoformat(timespec="seconds"),
        migration=migration,
        migration_note=note,
        drift=drift_status(drift, run=run),
        transactions=(run.summary or {}).get("transactions"),
    )
