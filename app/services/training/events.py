"""A training job's end in the notification outbox: job.succeeded or job.failed, written once per job.

Both the job's own process (once its final state is written) and the server that started it (when the process
ends, killed or not) announce it: the event is keyed by the job, so whichever comes second writes nothing. The
process alone would miss a job killed outright; the server alone, one that ended after the server was restarted.
"""

from typing import Any

from app.core.config import Settings
from app.services.notifications.events import JOB_FAILED, JOB_SUCCEEDED, emit_quietly
from app.services.training.store import job_segmentation


def notify_job_ended(job: dict[str, Any], settings: Settings) -> None:
    """Put job.succeeded or job.failed in the notification outbox (keyed by the job, so written once)."""
    if not settings.notifications_enabled:
        return
    event = JOB_SUCCEEDED if job["state"] == "succeeded" else JOB_FAILED
    payload = {
        "job_id": job["job_id"],
        "segmentation": job_segmentation(job),
        "state": job["state"],
        "version": job.get("version"),
        "activated": job.get("activated"),
        "error": job.get("error"),
        "request_id": job.get("params", {}).get("request_id"),
    }
    emit_quietly(
        url=settings.database_url.get_secret_value(), event=event, payload=payload, key=f"{event}:{job['job_id']}"
    )
