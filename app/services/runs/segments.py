"""A run's segments as its summary records them: the one a filter names, or the 404 that names them all."""

from typing import Any

from app.core.errors import UnknownSegment
from app.db.tables import Run


def run_segment(run: Run, segment: str) -> dict[str, Any]:
    """The run's segment named `segment` (its name, or its id in digits); UnknownSegment (404) naming the run's
    segments for none."""
    segments = run.summary.get("segments", [])
    for known in segments:
        if segment in (known.get("segment_name"), str(known.get("segment_id"))):
            return known
    # From the run's summary rather than the model: a run outlives the version that scored it.
    names = ", ".join(f"{known.get('segment_id')} ({known.get('segment_name')})" for known in segments) or "none"
    raise UnknownSegment(f"run {run.id} has no segment {segment[:100]!r}; its segments are {names}")
