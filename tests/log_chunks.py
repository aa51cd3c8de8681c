"""Predictions built as the service logs them, kept to be written later through the storage a test or benchmark
chooses."""

from app.services.monitoring.log_rows import LogChunk


class ChunkList:
    """A sink for `log_scores` that keeps every chunk it is given, in the order given."""

    def __init__(self) -> None:
        self.chunks: list[LogChunk] = []

    def sampled(self) -> bool:
        return True

    def submit(self, chunk: LogChunk) -> None:
        self.chunks.append(chunk)
