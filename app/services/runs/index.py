"""A run's index: any page of a large run without reading it whole, on a worker that never read it.

Written by a child process once a run is kept (after its heads file), into `runs/index/<id>/`: the rows as an
uncompressed Arrow IPC file (memory-mapped, so taking a page's rows reads only those rows); per built-in sort and per
input column, both ways, the row positions in browse order (int32 .npy, memory-mapped); and the filter columns as
int8/int16 codes. A page is then a slice of an order where the filters hold, and a take. The folder is written under a
temporary name and renamed whole: a folder that is there is complete; a missing one, or one that does not match its
run, means the browse reads and sorts the run as before. Its bytes count in RESULTS_MAX_BYTES, and an index is
removed before any run is.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from app.core.config import PROJECT_ROOT
from app.services.runs import writers
from app.services.runs.heads import HEADS_FROM_ROWS, write_heads
from app.services.runs.ordering import column_order, sort_values
from app.services.runs.store import PARTIAL_SUFFIX, drop_indexes, index_path

logger = logging.getLogger(__name__)

VERSION = 3  # 3: a number column with a few words in it sorts by its numbers
MANIFEST = "manifest.json"
ROWS_FILE = "rows.arrow"
# Record batches of the rows file: written one at a time, so the writer never holds the run.
BATCH_ROWS = 65_536
# A smaller run is read and sorted whole in well under 100 ms: it gets no index, like no heads file.
INDEX_FROM_ROWS = HEADS_FROM_ROWS
SORTED_SCORES = ("distance", "confidence")
# The columns the browse filters on, each kept as small codes (int8 or int16, -1 for a missing value) with its distinct
# values: a filter is then a comparison of 1-2 bytes a row, not of the mapped column (8 bytes a row, or text).
FILTER_COLUMNS = {
    "segment_id": pa.types.is_integer,
    "segment_name": pa.types.is_string,
    "is_atypical": pa.types.is_boolean,
    "out_of_range": pa.types.is_boolean,
}
MAX_CODES = 30_000
# Indexes opened per process: memory-mapped, so holding one costs address space, not memory.
OPEN_HELD = 8
# One index written at a time per server process: each child takes a few hundred MB while it sorts.
_writers = threading.Semaphore(1)


def indexed_columns(names: list[str]) -> list[str]:
    """The columns whose orders an index holds: the built-in sorts, then every input column (once each)."""
    from app.services.scoring.score_columns import ERROR_COLUMN, EXTRA_COLUMNS, SCORE_COLUMNS

    appended = {*SCORE_COLUMNS, *EXTRA_COLUMNS, ERROR_COLUMN}
    once = [name for name in names if names.count(name) == 1]
    return [name for name in SORTED_SCORES if name in once] + [name for name in once if name not in appended]


def _run_stamp(run_file: Path) -> list[int]:
    stat = run_file.stat()
    return [stat.st_size, stat.st_mtime_ns]


def write_index(run_file: Path, *, decimal_comma: bool) -> Path:
    """Write a run's index folder (see the module): rows batch by batch, then each column's orders one at a time."""
    stamp = _run_stamp(run_file)  # of the file read: an index never describes another file under its name
    parquet = pq.ParquetFile(run_file)
    target = index_path(run_file)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}{PARTIAL_SUFFIX}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        schema = parquet.schema_arrow
        with pa.OSFile(str(partial / ROWS_FILE), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                writer.write_batch(batch)
        sorts = {}
        for number, name in enumerate(indexed_columns(schema.names)):
            values = sort_values(parquet.read(columns=[name])[name], comma=decimal_comma)
            for sign, suffix in (("", "a"), ("-", "d")):
                np.save(partial / f"{number}{suffix}.npy", column_order(values, descending=bool(sign)).astype(np.int32))
                sorts[f"{sign}{name}"] = f"{number}{suffix}.npy"
            del values
        filters = {}
        for name, kind in FILTER_COLUMNS.items():
            if schema.names.count(name) == 1 and kind(schema.field(name).type):
                filters[name] = _write_codes(parquet.read(columns=[name])[name], partial / f"{name}.codes.npy")
        manifest = {
            "version": VERSION,
            "rows": parquet.metadata.num_rows,
            "run": stamp,
            "decimal_comma": decimal_comma,
            "sorts": sorts,
            "filters": {name: values for name, values in filters.items() if values is not None},
        }
        (partial / MANIFEST).write_text(json.dumps(manifest))
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    if not run_file.exists():  # the run was deleted or evicted while its index was written
        shutil.rmtree(target, ignore_errors=True)
    return target


def _write_codes(column: pa.ChunkedArray, path: Path) -> list | None:
    """Write a column as codes into its distinct values (-1 for null); returns those values (None: too many)."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    values = encoded.dictionary.to_pylist()
    if len(values) > MAX_CODES:
        return None
    # One byte a row when it fits (a model's segments do): half the pages a cold worker maps in to filter.
    kind = np.int8 if len(values) <= np.iinfo(np.int8).max else np.int16
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(kind)
    np.save(path, codes)
    return [path.name, values]


def fit_indexes(run_file: Path, *, max_bytes: int) -> None:
    """Keep the results store within `max_bytes` after an index was written: other runs' indexes go first, oldest
    first, then this one. An index never costs a run: its run answers without it, only slower."""
    drop_indexes(run_file.parent.parent, max_bytes=max_bytes, last=frozenset({index_path(run_file).name}))


def write_all(run_file: Path, *, decimal_comma: bool, max_bytes: int) -> None:
    """Write a run's heads file, then its index, and keep the results store within `max_bytes`."""
    write_heads(run_file)
    write_index(run_file, decimal_comma=decimal_comma)
    fit_indexes(run_file, max_bytes=max_bytes)


def _command(run_file: Path, *, decimal_comma: bool, max_bytes: int) -> list[str]:
    """The child's command line (see the module's `__main__`)."""
    return [sys.executable, "-m", __name__, str(run_file), str(int(decimal_comma)), str(max_bytes)]


def write_indexes_later(run_file: Path, *, decimal_comma: bool, max_bytes: int) -> threading.Thread:
    """Write a run's heads file and index in a child process, one run at a time, watched from a thread.

    The scoring answer does not wait; and the server's memory does not grow by what sorting a million rows takes
    (about 240 MB at its peak, which an allocator keeps): the child hands it back when it ends. A server killed
    meanwhile leaves at most a temporary folder, which `tidy` removes; one shut down ends its children
    (`writers.stop_index_writers`).
    """
    generation = writers.generation()

    def work() -> None:
        try:
            if pq.ParquetFile(run_file).metadata.num_rows < INDEX_FROM_ROWS:
                return
            command = _command(run_file, decimal_comma=decimal_comma, max_bytes=max_bytes)
            with _writers:
                child = writers.start(command, generation, cwd=PROJECT_ROOT)
                if child is None:
                    return
                try:
                    _, stderr = child.communicate(timeout=3600)
                except subprocess.TimeoutExpired:
                    child.kill()
                    _, stderr = child.communicate()
                finally:
                    writers.forget(child)
            if child.returncode:
                logger.warning("run index not written for %s: %s", run_file.name, (stderr or "").strip()[-500:])
        except (OSError, subprocess.SubprocessError, pa.ArrowException):
            logger.warning("run index not written for %s: its pages will read the whole run", run_file.name)

    thread = threading.Thread(target=work, name="run-index", daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class RunIndex:
    """A run's index opened: its rows (memory-mapped) and where each sort's order is."""

    folder: Path
    table: pa.Table
    decimal_comma: bool
    sorts: dict[str, str]
    filters: dict[str, list]

    def order(self, sort: str, *, decimal_comma: bool) -> np.ndarray | None:
        """The row positions of a sort, memory-mapped; None when the index has none for it (or for that reading)."""
        name = self.sorts.get(sort)
        if name is None or decimal_comma != self.decimal_comma:
            return None
        try:
            order = np.asarray(np.load(self.folder / name, mmap_mode="r"))
        except (OSError, ValueError):
            return None
        return order if order.shape == (self.table.num_rows,) else None

    def equal(self, column: str, value: object) -> np.ndarray | None:
        """Which rows hold `value` in a filter column (nulls never do); None when the index has no codes for it."""
        kept = self.filters.get(column)
        if kept is None:
            return None
        name, values = kept
        try:
            # A plain array over the map: numpy's memmap subclass made count_nonzero of the mask 40 ms, not 0.1.
            codes = np.asarray(np.load(self.folder / name, mmap_mode="r"))
        except (OSError, ValueError):
            return None
        if codes.shape != (self.table.num_rows,):
            return None
        # Compared as Arrow compares (True == 1): equal values, of a type the column could hold.
        wanted = [code for code, held in enumerate(values) if held == value and type(held) is type(value)]
        return codes == wanted[0] if wanted else np.zeros(len(codes), dtype=bool)


_lock = threading.Lock()
_open: OrderedDict[tuple[str, int], RunIndex] = OrderedDict()


def open_index(run_file: Path) -> RunIndex | None:
    """The run's index, or None when it has none (not written yet, too small a run, or removed)."""
    folder = index_path(run_file)
    try:
        stamp = (str(folder), (folder / MANIFEST).stat().st_mtime_ns)
    except OSError:
        with _lock:  # removed with its run: let go of its memory maps, so its disk space is freed
            for key in [key for key in _open if key[0] == str(folder)]:
                del _open[key]
        return None
    with _lock:
        held = _open.get(stamp)
    if held is not None:
        return held
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("version") != VERSION or manifest.get("run") != _run_stamp(run_file):
            return None
        table = pa.ipc.open_file(pa.memory_map(str(folder / ROWS_FILE))).read_all()
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return None
    if table.num_rows != manifest.get("rows"):
        return None
    index = RunIndex(
        folder,
        table,
        bool(manifest.get("decimal_comma")),
        dict(manifest.get("sorts") or {}),
        dict(manifest.get("filters") or {}),
    )
    with _lock:
        _open[stamp] = index
        while len(_open) > OPEN_HELD:
            _open.popitem(last=False)
    return index


if __name__ == "__main__":  # the child of `write_indexes_later`: RUN_FILE DECIMAL_COMMA(0|1) MAX_BYTES
    write_all(Path(sys.argv[1]), decimal_comma=sys.argv[2] == "1", max_bytes=int(sys.argv[3]))
