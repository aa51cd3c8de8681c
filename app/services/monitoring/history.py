"""Stored drift evaluations: what the background evaluator writes, and the checks over time that later work reads."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.tables import DriftCheck
from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.services.monitoring.drift import DRIFT, INSUFFICIENT, STABLE, WATCH
from app.services.monitoring.windows import check_order
from app.utils.moments import utc

# The gauge's value of each status.
STATUS_VALUES = {STABLE: 0.0, WATCH: 1.0, DRIFT: 2.0, INSUFFICIENT: -1.0}
DEFAULT_HISTORY = timedelta(days=7)
# Most evaluations one history answer holds (the newest): 7 days every 5 minutes is 2,016.
MAX_HISTORY_ROWS = 5_000
WARNING_LENGTH = 500


def checks_of(model: SegmentationModel, report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each check of a drift report as {check, status, value}: the overall verdict first, then features, segment mix
    and rates. Without a verdict every check the model would have is `insufficient data`."""
    overall = {"check": "overall", "status": report["status"], "value": None}
    if report["status"] == INSUFFICIENT:
        names = [f"feature:{name}" for name in model.features] + ["segment_mix", "atypical", "out_of_range"]
        return [overall] + [{"check": name, "status": INSUFFICIENT, "value": None} for name in names]
    features = [
        {"check": f"feature:{check['feature']}", "status": check["status"], "value": check["psi"]}
        for check in report["features"]
    ]
    mix = report["segment_mix"]
    rates = [
        {"check": rate["check"], "status": rate["status"], "value": rate["current_rate"]} for rate in report["rates"]
    ]
    return [overall, *features, {"check": "segment_mix", "status": mix["status"], "value": mix["psi"]}, *rates]


def gauge_values(checks: list[dict[str, Any]]) -> dict[str, float]:
    """The drift_status gauge's value per check."""
    return {check["check"]: STATUS_VALUES[check["status"]] for check in checks}


def store_check(
    session: Session,
    *,
    segmentation: str,
    model: SegmentationModel,
    report: dict[str, Any],
    evaluated_at: datetime,
    commit: bool = True,
) -> DriftCheck:
    """Store one evaluation of a segmentation's time window (in the caller's transaction, without `commit`)."""
    window = report["window"]
    warning = report["warnings"][0] if report["warnings"] else None
    row = DriftCheck(
        evaluated_at=evaluated_at,
        segmentation=segmentation,
        model_version=model.version,
        window_since=datetime.fromisoformat(window["since"]),
        window_until=datetime.fromisoformat(window["until"]),
        window_size=window["size"],
        status=report["status"],
        checks=checks_of(model, report),
        warning=warning[:WARNING_LENGTH] if warning else None,
    )
    session.add(row)
    if commit:
        session.commit()
    else:
        session.flush()
    return row


def purge_checks(session: Session, *, before: datetime) -> int:
    """Delete evaluations older than `before`; returns how many went."""
    deleted = session.execute(delete(DriftCheck).where(DriftCheck.evaluated_at < before)).rowcount
    session.commit()
    return deleted


def latest_check(session: Session, *, segmentation: str) -> DriftCheck | None:
    """The newest stored evaluation of a segmentation, or None."""
    return session.scalars(
        select(DriftCheck)
        .where(DriftCheck.segmentation == segmentation)
        .order_by(DriftCheck.evaluated_at.desc(), DriftCheck.id.desc())
        .limit(1)
    ).first()


def as_dict(row: DriftCheck) -> dict[str, Any]:
    """A stored evaluation as the API answers it."""
    return {
        "evaluated_at": row.evaluated_at.isoformat(),
        "model_version": row.model_version,
        "window": {
            "since": row.window_since.isoformat(),
            "until": row.window_until.isoformat(),
            "size": row.window_size,
        },
        "status": row.status,
        "checks": row.checks,
        "warning": row.warning,
    }


def drift_history(
    session: Session,
    *,
    segmentation: str = DEFAULT_NAME,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The stored evaluations of a segmentation from `since` (default: 7 days ago) to `until` (default: now), oldest
    first; the newest MAX_HISTORY_ROWS when more."""
    check_order(since=since, until=until)
    until = utc(until) if until is not None else utc(now or datetime.now(UTC))
    since = utc(since) if since is not None else until - DEFAULT_HISTORY
    rows = session.scalars(
        select(DriftCheck)
        .where(
            DriftCheck.segmentation == segmentation,
            DriftCheck.evaluated_at >= since,
            DriftCheck.evaluated_at <= until,
        )
        .order_by(DriftCheck.evaluated_at.desc(), DriftCheck.id.desc())
        .limit(MAX_HISTORY_ROWS + 1)
    ).all()
    return {
        "segmentation": segmentation,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "truncated": len(rows) > MAX_HISTORY_ROWS,
        "evaluations": [as_dict(row) for row in reversed(rows[:MAX_HISTORY_ROWS])],
    }
