"""The scoring service over Dask partitions: the same `score_table` per partition, for files beyond one machine."""

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.services.csv_text import HEAD_BYTES
from app.services.scoring.columns import Columns, resolve_columns
from app.services.scoring.csv_io import CsvStyle, csv_header, csv_text_columns, sniff_csv
from app.services.scoring.files import file_format
from app.services.scoring.lines import customer_row_pattern, swallowed_row, unclosed_quote, value_lines
from app.services.scoring.options import ScoreOptions
from app.services.scoring.summary import ScoreSummary, new_summary
from app.services.scoring.table import score_table


def output_meta(input_meta: pd.DataFrame, columns: Columns, options: ScoreOptions, *, as_text: bool) -> pd.DataFrame:
    """The empty frame that tells Dask the output's columns and dtypes (inferring it would call the model)."""
    meta = input_meta.iloc[:0].copy()
    for column in columns.appended(options):
        meta[column.name] = pd.Series(dtype="str" if as_text else column.pandas)
    return meta


def _scored_partition(
    frame: pd.DataFrame,
    model: SegmentationModel,
    columns: Columns,
    options: ScoreOptions,
    quotes: str | None,
    partition_info: dict[str, Any] | None = None,
) -> tuple[pa.Table, ScoreSummary]:
    number = (partition_info or {}).get("number", 0)
    summary = new_summary(model, columns, options, delimiter=options.delimiter or ",")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # pandas' reader, like Arrow's, takes a quote that never closes for a value that swallowed the rows after it.
    swallowed = None if quotes is None else swallowed_row(table, quotes)
    if swallowed is not None:
        row, name = swallowed
        where = f"partition {number}, row {row + 1}"
        raise unclosed_quote(where, value_lines(table.column(name)[row].as_py()), name)
    scored = score_table(
        model, table, columns=columns, options=options, summary=summary, unit=f"partition {number}, row"
    )
    return scored, summary


def score_partition(
    frame: pd.DataFrame,
    model: SegmentationModel,
    columns: Columns,
    options: ScoreOptions,
    as_text: bool,
    quotes: str | None,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One partition: the input columns unchanged, plus the score columns (as CSV text, or typed for Parquet).

    `quotes` (a CSV input's customer_row_pattern) finds a quote that never closes.
    """
    scored, _ = _scored_partition(frame, model, columns, options, quotes, partition_info)
    if as_text:
        # The same text the local engine writes, so both engines give byte-identical CSV.
        texts = csv_text_columns(scored, formula_guard=options.formula_guard)
        return pd.DataFrame(
            {
                name: pd.Series(text.to_numpy(zero_copy_only=False), dtype="str")
                for name, text in zip(scored.column_names, texts, strict=True)
            }
        )
    kept = scored.select(columns.names).to_pandas().astype(frame.dtypes.to_dict())
    extra = {
        column.name: pd.Series(scored.column(column.name).to_pandas(), dtype=column.pandas)
        for column in columns.appended(options)
    }
    return pd.concat([kept, pd.DataFrame(extra)], axis=1)


def summarise_partition(
    frame: pd.DataFrame,
    model: SegmentationModel,
    columns: Columns,
    options: ScoreOptions,
    quotes: str | None,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One partition's summary, as a one-row frame holding the summary object."""
    _, summary = _scored_partition(frame, model, columns, options, quotes, partition_info)
    return pd.DataFrame({"summary": pd.Series([summary], dtype=object)})


def _read_problem(exc: ValueError) -> InvalidRequest:
    """pandas' CSV reader's error in the user's terms."""
    message = (str(exc.__cause__ or exc).strip().splitlines() or ["unreadable"])[0].strip()
    if "EOF inside string" in message or "EOF encountered" in message:
        return InvalidRequest(
            f"a quote never closes: the file ends inside it ({message}); close the quote (or remove it) and send "
            "the file again"
        )
    return InvalidRequest(f"the file is not valid CSV: {message}")


@contextlib.contextmanager
def dask_client(scheduler: str | None, n_workers: int) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, else of a local cluster of `n_workers` started for this run."""
    from distributed import Client, LocalCluster

    # Quiet workers: a rejected row is the user's one-line error, not a worker traceback on the console.
    cluster = (
        None
        if scheduler
        else LocalCluster(
            n_workers=n_workers, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.CRITICAL
        )
    )
    try:
        with Client(scheduler or cluster) as client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def score_path_dask(
    model: SegmentationModel,
    source: str | Path,
    target: str | Path,
    *,
    options: ScoreOptions,
    scheduler: str | None = None,
    show_progress: bool = True,
    n_workers: int = 2,
) -> ScoreSummary:
    """Score a .csv or .parquet file on a Dask cluster (a LocalCluster unless `scheduler` is given).

    read_csv/read_parquet, then map_partitions with `score_table`, then to_csv/to_parquet. A second
    map_partitions over the same read collects each partition's summary, computed in the same pass.
    """
    import dask.dataframe as dd
    from distributed import as_completed

    source, target = Path(source), Path(target)
    in_format, out_format = file_format(source), file_format(target)
    if not source.is_file() and "://" not in str(source):
        raise InvalidRequest(f"input file not found: {source}")
    if in_format == ".csv":
        with open(source, "rb") as file:
            head = sniff_csv(file.read(HEAD_BYTES), options.delimiter)
        try:  # reads the first block, for the columns' types
            frame = dd.read_csv(
                source,
                sep=head.delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8-sig",
                blocksize=max(1 << 20, options.chunk_rows * head.line_bytes),
            )
        except ValueError as exc:
            raise _read_problem(exc) from None
        frame.columns = head.names
        delimiter = head.delimiter
        style = CsvStyle(
            delimiter=delimiter,
            line_end=head.line_end,
            bom=options.excel or head.bom,
            formula_guard=options.formula_guard,
        )
    else:
        frame = dd.read_parquet(source)
        delimiter = options.delimiter or ","
        style = CsvStyle(delimiter=delimiter, bom=options.excel, formula_guard=options.formula_guard)
    columns = resolve_columns(model, list(frame.columns), options)
    quotes = customer_row_pattern(columns, delimiter) if in_format == ".csv" else None
    # Workers need the parameters only; the lazy pickle loader stays behind.
    portable = replace(model, estimators=None)
    as_text = out_format == ".csv"
    meta = output_meta(frame._meta, columns, options, as_text=as_text)
    scored = frame.map_partitions(score_partition, portable, columns, options, as_text, quotes, meta=meta)
    summaries = frame.map_partitions(
        summarise_partition, portable, columns, options, quotes, meta=pd.DataFrame({"summary": pd.Series(dtype=object)})
    )
    if out_format == ".csv":
        # The header is the local engine's (BOM, guarded names); the partitions' rows are appended after it.
        target.write_bytes(csv_header(columns.output_names(options), style))
        write = scored.to_csv(
            str(target),
            single_file=True,
            mode="at",
            header=False,
            index=False,
            sep=delimiter,
            lineterminator=style.line_end,
            compute=False,
        )
    else:
        write = scored.to_parquet(str(target), write_index=False, compute=False)

    with dask_client(scheduler, n_workers) as client:
        parts = summaries.to_delayed()
        with warnings.catch_warnings():
            # The writer's graph and the summaries' expressions share the read: computed together on purpose.
            warnings.filterwarnings("ignore", "Computing mixed collections", UserWarning)
            futures = client.compute([write, *parts])
        iterator = as_completed(futures)
        if show_progress:
            from tqdm import tqdm

            iterator = tqdm(iterator, total=len(futures), unit=" parts", desc="scoring on dask")
        for _ in iterator:
            pass
        try:
            results = client.gather(futures[1:])
        except pd.errors.ParserError as exc:
            raise _read_problem(exc) from None
    summary = new_summary(model, columns, options, delimiter=delimiter)
    for part in results:
        for partial in part["summary"]:
            summary.merge(partial)
    return summary
