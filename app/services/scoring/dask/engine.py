"""The client's side of the Dask engine: plan the partitions, score each once, place the output, merge summaries."""

import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.services.csv_text import HEAD_BYTES
from app.services.dask_extra import require_dask
from app.services.scoring.chunk import ScoredChunk
from app.services.scoring.columns import Columns, resolve_columns
from app.services.scoring.csv_io import CsvStyle, csv_chunks, csv_header, sniff_csv
from app.services.scoring.dask.partitions import (
    PartDone,
    part_done,
    score_csv_range,
    score_parquet_groups,
    write_at,
)
from app.services.scoring.files import FILE_FORMATS
from app.services.scoring.options import ScoreOptions
from app.services.scoring.summary import ScoreSummary, new_summary
from app.services.scoring.table import output_schema
from app.utils.csv_ranges import file_record_ranges, record_start

if TYPE_CHECKING:
    from app.services.scoring.rfm import Unusable

# A CSV partition's bytes: big enough that a task's fixed cost is noise, small enough that a worker holds a few
# (its input, and its labelled output until written) and that two workers finish close together.
PARTITION_BYTES = 32 << 20
MIN_PARTITION_BYTES = 1 << 20
# Partitions in flight per worker past the last one placed: enough to keep every worker busy.
AHEAD_PER_WORKER = 3
# A Parquet partition's rows, gathered from whole row groups.
PARTITION_ROWS = 1_000_000

# Submit one partition's task: (partition index, lines before it, rows before it) -> future.
Submit = Callable[[int, int, int], Any]


@dataclass
class Plan:
    """The work of one run: the columns, the output style, and one task per partition."""

    columns: Columns
    style: CsvStyle
    count: int
    submit: Submit


@contextlib.contextmanager
def dask_client(scheduler: str | None, n_workers: int) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, else of a local cluster of `n_workers` started for this run."""
    require_dask()
    import dask
    from distributed import Client, LocalCluster

    cluster = None
    if not scheduler:
        # Quiet workers: a rejected row is the user's one-line error, not a worker traceback on the console. No
        # statistical profiler: it samples every thread 100 times a second, which a run of our own never reads. No
        # MALLOC_TRIM_THRESHOLD_=65536 (Dask's default for workers): with it glibc maps and unmaps every buffer over
        # 128 KiB (each chunk's arrays and CSV bytes) and faults its pages in again: 3x the page faults and about
        # 1.4 CPU s more per 5M rows, measured; the local engine runs with glibc's own adaptive threshold.
        settings = {
            "distributed.worker.profile.enabled": False,
            "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
        }
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.CRITICAL
            )
    try:
        with Client(scheduler or cluster) as client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def output_kind(target: Path) -> str:
    """'.csv' for one CSV file; '.parquet' for a folder of Parquet parts (a .parquet name, or a folder)."""
    suffix = target.suffix.lower()
    if target.is_dir() or not suffix:
        return ".parquet"
    if suffix not in FILE_FORMATS:
        raise InvalidRequest(f"{target}: use a .csv or .parquet file (the extension picks the format)")
    return suffix


def _csv_plan(
    client: Any, model: Any, source: Path, options: ScoreOptions, parts_dir: Path | None, partition_bytes: int
) -> Plan:
    with open(source, "rb") as file:
        head = file.read(HEAD_BYTES)
    sniffed = sniff_csv(head, options.delimiter)  # the local engine's checks of the first bytes
    columns = resolve_columns(model, sniffed.names, options)
    options = replace(options, delimiter=sniffed.delimiter)
    with open(source, "rb") as file:
        body = record_start(file, 1, head[:1] == b'"', source.stat().st_size)
    ranges = file_record_ranges(source, body, partition_bytes, client=client)
    style = CsvStyle(
        delimiter=sniffed.delimiter,
        line_end=sniffed.line_end,
        bom=options.excel or sniffed.bom,
        formula_guard=options.formula_guard,
    )
    [portable] = client.scatter([replace(model, estimators=None)], broadcast=True)

    def submit(index: int, lines_before: int, rows_before: int) -> Any:
        out = None if parts_dir is None else str(parts_dir / f"part.{index:05d}.parquet")
        args = (portable, str(source), body, ranges[index], options, out, lines_before, rows_before)
        return client.submit(score_csv_range, *args, head=sniffed, pure=False)

    return Plan(columns, style, len(ranges), submit)


def _parquet_plan(
    client: Any, model: Any, source: Path, options: ScoreOptions, parts_dir: Path | None, partition_rows: int
) -> Plan:
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(str(source), format="parquet")
        fragments = list(dataset.get_fragments())
        for fragment in fragments:
            fragment.ensure_complete_metadata()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidRequest(f"{source} is not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    schema = dataset.schema
    columns = resolve_columns(model, list(schema.names), options)
    style = CsvStyle(delimiter=options.delimiter or ",", bom=options.excel, formula_guard=options.formula_guard)
    # (file, row groups, first row): whole row groups, about partition_rows rows each, rows numbered across files.
    parts: list[tuple[str, list[int], int]] = []
    row = 1
    for fragment in fragments:
        groups: list[int] = []
        rows = 0
        for group in fragment.row_groups:
            groups.append(group.id)
            rows += group.num_rows
            if rows >= partition_rows:
                parts.append((fragment.path, groups, row))
                row, groups, rows = row + rows, [], 0
        if groups or not fragment.row_groups:
            parts.append((fragment.path, groups, row))
            row += rows
    if not parts:
        raise InvalidRequest(f"{source} holds no Parquet file")
    [portable] = client.scatter([replace(model, estimators=None)], broadcast=True)

    def submit(index: int, lines_before: int, rows_before: int) -> Any:
        out = None if parts_dir is None else str(parts_dir / f"part.{index:05d}.parquet")
        path, groups, first = parts[index]
        args = (portable, path, groups, first, columns, options, style, schema, out)
        return client.submit(score_parquet_groups, *args, pure=False)

    return Plan(columns, style, len(parts), submit)


def _run(client: Any, plan: Plan, csv_out: Path | None, show_progress: bool, ahead: int) -> list[PartDone]:
    """Score every partition once, in order of the file; place CSV bytes as their offsets become known.

    At most `ahead` partitions are in flight past the last one placed: a slow partition holds back the others'
    output in the workers' memory, never the whole file's. A partition that fails stops the run: the first failing
    one in the file is reported, with its line numbers counted on from the partitions before it (scored again
    with them: the error path only).
    """
    scored: list[Any] = [None] * plan.count
    summaries: list[Any] = [None] * plan.count

    def launch(index: int) -> None:
        if index < plan.count:
            scored[index] = plan.submit(index, 0, 0)
            summaries[index] = client.submit(part_done, scored[index], pure=False)

    for index in range(ahead):
        launch(index)
    offset = csv_out.stat().st_size if csv_out is not None else 0
    writes: list[Any] = []
    done: list[PartDone] = []
    progress = None
    if show_progress:
        from tqdm import tqdm

        progress = tqdm(total=plan.count, unit=" parts", desc="scoring on dask")
    try:
        for index in range(plan.count):
            launch(index + ahead)
            try:
                part = summaries[index].result()
            except InvalidRequest as problem:
                client.cancel([f for f in scored[index + 1 :] + summaries[index + 1 :] + writes if f is not None])
                if index:  # numbered on from the partitions before it
                    lines, rows = sum(p.lines for p in done), sum(p.rows_read for p in done)
                    plan.submit(index, lines, rows).result()
                raise problem from None
            done.append(part)
            if csv_out is not None:
                writes.append(client.submit(write_at, scored[index], str(csv_out), offset, pure=False))
                offset += part.size
            scored[index] = summaries[index] = None  # the output is released once written
            if progress is not None:
                progress.update()
        client.gather(writes)
    finally:
        if progress is not None:
            progress.close()
    return done


def score_path_dask(
    model: SegmentationModel,
    source: str | Path,
    target: str | Path,
    *,
    options: ScoreOptions,
    scheduler: str | None = None,
    show_progress: bool = True,
    n_workers: int = 2,
    partition_bytes: int | None = None,
    partition_rows: int = PARTITION_ROWS,
    unusable: "Unusable | None" = None,
) -> ScoreSummary:
    """Score a .csv or Parquet file (or folder) on a Dask cluster (a LocalCluster unless `scheduler` is given).

    Each partition is scored once by the local engine's code: its labelled rows and its summary come from the
    same pass; the summaries are merged here. CSV out is one file, byte for byte the local engine's; Parquet out
    is a folder of part files. Workers read the input and write the output by path: a cluster shares the disk.
    `unusable` customers (an RFM file's) are counted after the file's rows, and under flag written after them.
    """
    source, target = Path(source), Path(target)
    in_kind = ".parquet" if source.is_dir() else output_kind(source)
    out_kind = output_kind(target)
    if not source.exists():
        raise InvalidRequest(f"input file not found: {source}")
    if not target.parent.is_dir():
        raise InvalidRequest(f"output folder not found: {target.parent}")
    if source.resolve() == target.resolve():
        raise InvalidRequest("the output must be a different file from the input")
    # Written beside the target, moved into place only when every partition succeeded.
    partial = target.parent / f".{target.name}.{secrets.token_hex(6)}.dask"
    try:
        with dask_client(scheduler, n_workers) as client:
            workers = max(1, len(client.scheduler_info().get("workers", {})))
            parts_dir = partial if out_kind == ".parquet" else None
            if parts_dir is not None:
                parts_dir.mkdir()
            if in_kind == ".csv":
                size = source.stat().st_size
                block = partition_bytes or max(MIN_PARTITION_BYTES, min(PARTITION_BYTES, size // (2 * workers) + 1))
                plan = _csv_plan(client, model, source, options, parts_dir, block)
            else:
                plan = _parquet_plan(client, model, source, options, parts_dir, partition_rows)
            csv_out = None if parts_dir is not None else partial
            if csv_out is not None:
                csv_out.write_bytes(csv_header(plan.columns.output_names(options), plan.style))
            done = _run(client, plan, csv_out, show_progress, ahead=AHEAD_PER_WORKER * workers)
        if unusable is not None and options.on_error == "flag" and len(unusable):
            _write_last(unusable.chunk(plan.columns, options), plan, options, csv_out, parts_dir)
        _move_into_place(partial, target)
    except BaseException:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
        raise
    summary = new_summary(model, plan.columns, options, delimiter=plan.style.delimiter)
    for part in done:
        summary.merge(part.summary)
    if unusable is not None:
        unusable.count(summary, options.on_error)
    return summary


def _write_last(
    chunk: ScoredChunk, plan: Plan, options: ScoreOptions, csv_out: Path | None, parts: Path | None
) -> None:
    """Rows scored on the client after every partition's: appended to the CSV, or a last Parquet part file."""
    if csv_out is not None:
        with open(csv_out, "ab") as sink:
            for data in csv_chunks([chunk], plan.style):
                sink.write(data)
    elif parts is not None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        text = pa.schema([pa.field(name, pa.string()) for name in plan.columns.names])
        pq.write_table(
            chunk.table.cast(output_schema(plan.columns, options, text)), parts / f"part.{plan.count:05d}.parquet"
        )


def _move_into_place(partial: Path, target: Path) -> None:
    """Rename the finished output over the target; a folder's old part files give way to the new ones."""
    if partial.is_dir() and target.is_file():  # a single Parquet file of the local engine's, replaced by a folder
        target.unlink()
    if partial.is_dir() and target.is_dir():
        for old in target.glob("part.*.parquet"):
            old.unlink()
        for new in sorted(partial.iterdir()):
            os.replace(new, target / new.name)
        partial.rmdir()
    else:
        os.replace(partial, target)
