"""The errors of runs, mapped to HTTP by the one handler like every domain error."""

from datetime import datetime

from app.core.errors import SegmentationError


class UnknownRun(SegmentationError):
    """No run has that id (never created, or deleted)."""

    status_code = 404
    error_type = "unknown_run"
    page_link = ("Runs page", "runs_page")

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run has the id {run_id[:40]!r}: see GET /api/v1/runs")
        self.page_message = (
            f"No run has the id {run_id[:40]}: it was never kept, or it was deleted. Kept runs are listed on the "
            "Runs page."
        )


class RunGone(SegmentationError):
    """A run whose labelled file was removed by retention or to make room: it answers with the date it went."""

    status_code = 410
    error_type = "run_removed"

    def __init__(self, run_id: str, *, removed_at: datetime, reason: str | None) -> None:
        when = removed_at.strftime("%Y-%m-%d %H:%M UTC")
        super().__init__(f"run {run_id} was removed on {when} ({reason or 'removed'}); score its file again")
        self.removed_at = removed_at


class RunConflict(SegmentationError):
    """Two runs that cannot be compared, or a run without what a request needs (a customer id column)."""

    status_code = 409
    error_type = "run_conflict"
