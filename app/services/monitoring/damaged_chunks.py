"""The warning a read of the prediction log gives for a damaged chunk it leaves out, given once a chunk.

A damaged chunk stays in the log until the retention purge, and the drift evaluator (every tick), the monitoring
page and the API (every request) read it again each time: warning on each read would fill the log with one line.
There is no metric for damaged chunks: the warning is what an operator sees.
"""

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.db.chunk_payload import BadChunk

logger = logging.getLogger(__name__)

# Damaged chunks remembered as already named, a process: a few hundred kB at most. Past that many (a fault across the
# table), a chunk not remembered is named at most once a minute with a count of those not named meanwhile, so the log
# neither floods nor goes silent. Forgetting the oldest instead would name every chunk again on each read once more
# than this many are read in turn.
REMEMBERED = 4_096
UNREMEMBERED_EVERY_SECONDS = 60.0


class DamageWarnings:
    """Which damaged chunks were named, by database and chunk id; names each once (see REMEMBERED)."""

    def __init__(
        self,
        *,
        remembered: int = REMEMBERED,
        every_seconds: float = UNREMEMBERED_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._remembered, self._every, self._clock = remembered, every_seconds, clock
        self._named: set[tuple[str, int]] = set()
        self._last: float | None = None
        self._not_named = 0
        # Reads run in the request threads and the drift evaluator's at once.
        self._lock = threading.Lock()

    def left_out(self, database: str, chunk_id: int, problem: BadChunk) -> None:
        """Warn that chunk `chunk_id` of `database` is damaged and left out, unless it was said already."""
        with self._lock:
            if (database, chunk_id) in self._named:
                return
            if len(self._named) < self._remembered:
                self._named.add((database, chunk_id))
                not_named = 0
            else:
                now = self._clock()
                if self._last is not None and now - self._last < self._every:
                    self._not_named += 1
                    return
                self._last, not_named, self._not_named = now, self._not_named, 0
        meanwhile = f" (and {not_named} left out since the last such line, not named)" if not_named else ""
        logger.warning(
            "prediction chunk %s is damaged and was left out of a read of the log: %s%s", chunk_id, problem, meanwhile
        )


_warnings = DamageWarnings()


def left_out(session: Session, chunk_id: int, problem: BadChunk) -> None:
    """Say once that a damaged chunk is left out: one damaged row must not fail every report and drift check."""
    # By database too: a process may read more than one log (the CLI, tests), and their chunk ids overlap.
    _warnings.left_out(str(session.get_bind().url), chunk_id, problem)
