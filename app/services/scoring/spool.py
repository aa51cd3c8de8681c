"""What a scored file leaves behind, held back until the file has succeeded: its prediction-log rows and its metrics.

A file refused late (a bad row under `reject`, a quote that never closes) was never answered, so none of its rows
may reach the metrics or the prediction log: the rows wait here and the caller releases them once the answer is
built.
"""

import logging
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from app.core import metrics
from app.models.model import Scores, SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.services.monitoring.log_rows import LogChunk, log_scores
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.services.scoring.summary import ScoreSummary

logger = logging.getLogger(__name__)

SOURCE = "csv"
# Rows per call when a file's counts are handed to the metrics: the arrays rebuilt from them stay a few MB.
METRIC_BLOCK_ROWS = 1 << 18


class LogSpool:
    """A file's scored rows for the prediction log, held until the file has succeeded: at most `max_rows` rows.

    The chunks keep the scorer's numpy arrays (about 40 bytes a row). Rows past the bound are dropped at once,
    never held, and counted as dropped by the writer when the file succeeds.
    """

    def __init__(
        self,
        writer: PredictionLogWriter,
        *,
        model: SegmentationModel,
        max_rows: int,
        request_id: str | None,
        segmentation: str = DEFAULT_NAME,
    ) -> None:
        self.writer = writer
        self.model = model
        self.max_rows = max_rows
        self.request_id = request_id
        self.segmentation = segmentation
        self.rows = 0
        self.dropped = 0
        self._chunks: list[LogChunk] = []

    def add(
        self, X: np.ndarray, scores: Scores, customer_ids: pa.ChunkedArray | Sequence[object] | None = None
    ) -> None:
        """Hold one scored chunk (X: its rows of feature values; the file's customer ids when it has them)."""
        if isinstance(customer_ids, pa.ChunkedArray):
            customer_ids = self._held_ids(customer_ids, len(X))
        # The spool stands in for the writer: log_scores builds the chunk as for any request and hands it to submit.
        log_scores(
            self,
            self.model,
            X,
            scores,
            request_id=self.request_id,
            source=SOURCE,
            segmentation=self.segmentation,
            customer_ids=customer_ids,
        )

    def _held_ids(self, ids: pa.ChunkedArray, rows: int) -> pa.ChunkedArray | None:
        """The ids of the rows the spool has room for, kept as Arrow (a few bytes a row, text only when written);
        None when the column holds something other than text or numbers."""
        if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type) or pa.types.is_integer(ids.type)
                or pa.types.is_floating(ids.type)):  # fmt: skip
            return None
        room = min(max(self.max_rows - self.rows, 0), rows)
        # The rows past the bound are dropped with their ids: nulls stand in for them, never converted.
        return pa.chunked_array([*ids.slice(0, room).chunks, pa.nulls(rows - room, ids.type)], ids.type)

    def sampled(self) -> bool:
        """Whether a one-row chunk is logged: the writer's sampling decides, as for a single prediction."""
        return self.writer.sampled()

    def submit(self, chunk: LogChunk) -> None:
        """Hold a chunk that `log_scores` built, or as much of it as the bound leaves room for."""
        room = self.max_rows - self.rows
        if len(chunk) > room:
            self.dropped += len(chunk) - room
            if room <= 0:
                return
            chunk = chunk.subset(np.arange(len(chunk)) < room)
        self._chunks.append(chunk)
        self.rows += len(chunk)

    def release(self) -> None:
        """Queue the held rows for the log, as the writer queues any request's (sampling and its bound apply)."""
        chunks, self._chunks = self._chunks, []
        for chunk in chunks:
            self.writer.submit(chunk)
        if self.dropped:
            self.writer.count_dropped(self.dropped, reason="spool_full")
            logger.warning(
                "prediction log dropped %d of the %d rows scored for request %s: more than SCORING_LOG_SPOOL_ROWS "
                "(%d) rows of one file wait for it to succeed",
                self.dropped,
                self.rows + self.dropped,
                self.request_id,
                self.max_rows,
            )


def record_metrics(summary: ScoreSummary, *, source: str = SOURCE, segmentation: str = DEFAULT_NAME) -> None:
    """Count a finished file in the metrics once, from its summary: per segment, atypical, out of range, and size."""
    names = summary.metric_names or [name for _, name in summary.segments]
    features = list(summary.out_of_range)
    ends = np.cumsum([profile.count for profile in summary.profiles])
    flagged = np.array(list(summary.out_of_range.values()), dtype=np.int64)
    # The metrics count arrays of rows, so rows are rebuilt from the counts: row i belongs to the first segment
    # whose running count passes i, and carries a flag when i is below that flag's count. A block at a time, so
    # memory stays flat however large the file.
    for start in range(0, summary.scored, METRIC_BLOCK_ROWS):
        index = np.arange(start, min(start + METRIC_BLOCK_ROWS, summary.scored))
        metrics.record_scores(
            segment_names=names,
            positions=np.searchsorted(ends, index, side="right"),
            is_atypical=index < summary.atypical,
            out_of_range=index[:, None] < flagged,
            features=features,
            source=source,
            chunk=True,
            segmentation=segmentation,
        )
    metrics.record_scored_size(source=source, customers=summary.rows, segmentation=segmentation)
