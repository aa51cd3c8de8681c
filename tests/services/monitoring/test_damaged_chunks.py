"""The damaged-chunk warning: once a chunk, and past the chunks it remembers at most once a minute."""

import logging

from app.db.chunk_payload import BadChunk
from app.services.monitoring.damaged_chunks import DamageWarnings

PROBLEM = BadChunk("not a prediction chunk payload")


def _said(caplog) -> list[str]:
    said = [record.getMessage() for record in caplog.records]
    caplog.clear()
    return said


def test_each_damaged_chunk_is_named_once_by_database_and_id(caplog):
    caplog.set_level(logging.WARNING)
    warnings = DamageWarnings()
    for _ in range(3):
        warnings.left_out("sqlite:///a", 7, PROBLEM)
    assert _said(caplog) == [
        "prediction chunk 7 is damaged and was left out of a read of the log: not a prediction chunk payload"
    ]
    # Another database's chunk 7 is another chunk.
    warnings.left_out("sqlite:///b", 7, PROBLEM)
    warnings.left_out("sqlite:///a", 8, PROBLEM)
    assert [line.split(" is ")[0] for line in _said(caplog)] == ["prediction chunk 7", "prediction chunk 8"]


def test_past_the_chunks_it_remembers_it_names_one_a_minute_and_counts_the_rest(caplog):
    caplog.set_level(logging.WARNING)
    now = [0.0]
    warnings = DamageWarnings(remembered=2, every_seconds=60, clock=lambda: now[0])
    for chunk_id in (1, 2, 1, 2):
        warnings.left_out("db", chunk_id, PROBLEM)
    assert len(_said(caplog)) == 2
    for chunk_id in (3, 4, 5, 3):
        warnings.left_out("db", chunk_id, PROBLEM)
    assert [line.split(" is ")[0] for line in _said(caplog)] == ["prediction chunk 3"]
    now[0] = 59.0
    warnings.left_out("db", 6, PROBLEM)
    assert _said(caplog) == []
    now[0] = 60.0
    warnings.left_out("db", 7, PROBLEM)
    # Remembered chunks stay quiet whatever the others do.
    warnings.left_out("db", 1, PROBLEM)
    (line,) = _said(caplog)
    assert line.startswith("prediction chunk 7 is damaged") and line.endswith(
        "(and 4 left out since the last such line, not named)"
    )
