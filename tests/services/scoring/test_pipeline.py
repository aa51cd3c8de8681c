"""The threads of a CSV run: chunks read ahead on one, written on another, in order, errors raised in their place."""

import io
import threading

import pyarrow as pa
import pytest

from app.services.scoring.csv_io import read_ahead
from app.services.scoring.csv_render import CsvStyle, csv_bytes, write_csv


def test_read_ahead_hands_every_item_in_order_from_another_thread():
    threads = []

    def items():
        for number in range(50):
            threads.append(threading.current_thread())
            yield number

    assert list(read_ahead(items())) == list(range(50))
    assert threading.current_thread() not in threads


def test_read_ahead_raises_the_iterators_error_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("line 3 is broken")

    seen = []
    with pytest.raises(ValueError, match="line 3 is broken"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_read_ahead_stops_and_closes_the_iterator_when_the_consumer_stops():
    produced, closed = [], threading.Event()

    def items():
        try:
            for number in range(1_000):
                produced.append(number)
                yield number
        finally:
            closed.set()

    for item in read_ahead(items()):
        if item == 2:
            break
    assert closed.wait(5)
    assert len(produced) <= 5  # at most one item waits ahead of the consumer (and one is being made)


def test_write_csv_writes_every_chunk_in_order():
    tables = [pa.table({"a": [str(i), f"x,{i}"], "b": [i * 0.5, None]}) for i in range(20)]
    sink = io.BytesIO()
    calls = []
    write_csv(iter(tables), CsvStyle(), sink, progress=lambda: calls.append(1))
    assert sink.getvalue() == b"".join(csv_bytes(table, ",") for table in tables)
    assert len(calls) == len(tables)


def test_write_csv_raises_the_sinks_error():
    class Full(io.BytesIO):
        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_csv(iter([pa.table({"a": ["1"]})] * 3), CsvStyle(), Full())


def test_write_csv_submits_no_chunk_after_a_failed_write():
    written, read = [], []

    class Full(io.BytesIO):
        def write(self, data: bytes) -> int:
            written.append(data)
            raise OSError(28, "No space left on device")

    def tables():
        for number in range(5):
            read.append(number)
            yield pa.table({"a": [str(number)]})

    with pytest.raises(OSError, match="No space"):
        write_csv(tables(), CsvStyle(), Full())
    assert len(written) == 1
