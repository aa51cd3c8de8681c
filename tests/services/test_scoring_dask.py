"""The Dask engine writes the local engine's labelled file byte for byte, and fails where and as it fails, on the
local engine tests' messy inputs cut into partitions at every kind of place."""

import csv
import io
import itertools
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from app.core.errors import InvalidRequest
from app.models.model import SegmentationModel
from app.models.synthetic_crm import write_crm
from app.services.scoring.dask import score_path_dask
from app.services.scoring.files import score_path
from app.services.scoring.options import ScoreOptions
from app.services.scoring.summary import ScoreSummary
from app.utils.csv_ranges import block_starts, quote_parity, record_ranges
from tests.services.scoring.test_feature_columns import MAPPING, renamed_crm, train_crm
from tests.services.test_scoring import BAD_FILE, HEADER
from tests.services.test_scoring_lines import GOOD_ROWS

PLAIN = "customer_id,annual_income,spending_score\n"
NOTE = "annual_income,spending_score,note\n"
NAME = "annual_income,spending_score,name\n"
# The local engine tests' inputs (tests/services/test_scoring*.py), as bytes.
MESSY: dict[str, bytes] = {
    "every bad kind": BAD_FILE.encode(),
    "bad rows many times": (HEADER + "\n" + (BAD_FILE.split("\n", 1)[1] + "\n") * 30).encode(),
    "quoted line breaks in every id": (
        PLAIN + "\n".join(f'"c{index}\nnote",{15 + index % 100},{1 + index % 99}' for index in range(3_000)) + "\n"
    ).encode(),
    "quoted line breaks with delimiters": (
        'annual_income,spending_score,address\n50,50,"1 Main St, Apt 2\nTown, County, 12345"\n60,60,x\n' * 1
    ).encode(),
    "quoted CRLF breaks and a short row": (
        NOTE + '50,50,"a\nb"\n60,60,"c\r\nd"\n1,2\n70,70,z\n80,lots,w\n' + "20,20,q\n" * 40
    ).encode(),
    "quote closes at the very end": (NOTE + '1,2,a\n50,50,"two\nlines"').encode(),
    "quote closes at the end, then spaces": (NOTE + '1,2,a\n50,50,"two\nlines"  \n').encode(),
    "quote closes at the end, CRLF": (NOTE + '1,2,a\n50,50,"two\r\nlines"\r\n').encode(),
    "quoted delimiters and quotes": (
        'name,annual_income,spending_score\n"Doe, Jane",120,90\n"say ""hi""",20,10\n' * 20
    ).encode(),
    "semicolons and a BOM": ("\ufeff" + HEADER.replace(",", ";") + "\n" + "1;Male;30;120,5;90\n" * 50).encode(),
    "CRLF, BOM and formulas": (
        "\ufeffid,annual_income,spending_score,=note\r\n"
        + "".join(f"{i},{15 + i % 100},{1 + i % 99},{'=1+1' if i % 7 else '-5'}\r\n" for i in range(300))
    ).encode(),
    "CR line ends": ("annual_income,spending_score\r" + "20,10\r120,90\r" * 40).encode(),
    "blank lines": (PLAIN + "1,20,10\n\n\n2,120,90\n" * 20 + "3,lots,9\n").encode(),
    "header only": (HEADER + "\n").encode(),
    "header only, no line end": HEADER.encode(),
    "no line end at the end": (PLAIN + "1,20,10\n2,120,90").encode(),
    "bad UTF-8 far in": (PLAIN + "c1,20,10\n" * 500 + "c\xff,20,10\n" + "c1,20,10\n" * 500).encode("latin-1"),
    # Refused: a quote that never closes, in each of the ways the local engine finds it.
    "quote never closes in the last column": (NAME + '50,50,"never closes\n' + GOOD_ROWS).encode(),
    "quote swallows rows up to a later quote": (
        NAME + '1,2,a\n50,50,"never closes\n' + GOOD_ROWS[:1200] + '3,4,"x"\n' + GOOD_ROWS
    ).encode(),
    "quote runs to the end over text": (NAME + '1,2,a\n50,50,"never closes\nsome text, more\nand more').encode(),
    "short unclosed row after quoted breaks": (NOTE + '50,50,"a\nb"\n60,"never closes\n70,70,z\n').encode(),
    "quote never closes 10,000 rows in": (
        PLAIN
        + "\n".join(
            '"c10000,20,30' if index == 10_000 else f"c{index},{15 + index % 100},{1 + index % 99}"
            for index in range(20_000)
        )
        + "\n"
    ).encode(),
    # Excel's trailing delimiter: on the header, on every row (some rows without it, one with a value after it).
    "header ends with the delimiter": (
        "id;annual_income;spending_score;\r\n" + "".join(f"{i};{15 + i % 100};{1 + i % 99}\r\n" for i in range(900))
    ).encode(),
    "rows end with the delimiter": (
        "id;annual_income;spending_score\r\n"
        + "".join(
            f"{i};{15 + i % 100};{1 + i % 99}" + ("" if i % 3 == 1 else ";note" if i == 500 else ";") + "\r\n"
            for i in range(900)
        )
    ).encode(),
    "both end with the delimiter, quoted line breaks": (
        "id;annual_income;spending_score;\n" + "".join(f'"c{i}\nx";{15 + i % 100};{1 + i % 99};\n' for i in range(900))
    ).encode(),
    "a row longer than a read block": (PLAIN + "c1,15,39\n" * 20_000 + "x" * 300_000 + ",15,39\n").encode(),
}
POLICIES = ["flag", "skip", "reject"]


@pytest.fixture(scope="module")
def scheduler():
    """Two single-threaded workers in this process: the scheduler, the tasks and the file placement are the real
    ones; the process-based clusters are in tests/cli/test_score_dask.py."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0", silence_logs=logging.CRITICAL
    ) as cluster:
        yield cluster.scheduler_address


def _outcome(score, source: Path, target: Path, options: ScoreOptions) -> tuple[str, bytes | None, dict | None]:
    """('ok', the labelled file, the summary) or ('refused', the message, None)."""
    try:
        summary = score(source, target, options)
    except InvalidRequest as problem:
        return problem.message, None, None
    return "ok", target.read_bytes() if target.is_file() else None, _comparable(summary)


def _comparable(summary: ScoreSummary) -> dict:
    """The summary as data, its float sums to 12 significant digits (partitions add them in another order)."""

    def rounded(value):
        if isinstance(value, float) and math.isfinite(value) and value:
            return round(value, 11 - math.floor(math.log10(abs(value))))
        if isinstance(value, dict):
            return {key: rounded(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rounded(item) for item in value]
        return value

    return rounded(summary.to_dict())


@pytest.mark.parametrize("pieces", [3, 40])
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", list(MESSY))
def test_dask_engine_equals_the_local_engine(model, scheduler, tmp_path, name, policy, pieces):
    data = MESSY[name]
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    options = ScoreOptions(on_error=policy, chunk_rows=1_000)
    local = _outcome(lambda s, t, o: score_path(model, s, t, options=o), source, tmp_path / "local.csv", options)
    dask = _outcome(
        lambda s, t, o: score_path_dask(
            model, s, t, options=o, scheduler=scheduler, show_progress=False, partition_bytes=len(data) // pieces + 1
        ),
        source,
        tmp_path / "dask.csv",
        options,
    )
    assert dask[0] == local[0]
    assert dask[1] == local[1]  # byte for byte
    assert dask[2] == local[2]
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # nothing left behind


@pytest.mark.parametrize(
    "name", ["quoted line breaks in every id", "quoted CRLF breaks and a short row", "blank lines"]
)
def test_every_range_starts_on_a_record(tmp_path, name):
    data = MESSY[name]
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    body = data.index(b"\n") + 1
    for block in (13, 101, 4_099):
        starts = block_starts(len(data), block, body=body)
        stops = [*starts[1:], len(data)]
        parities = [quote_parity(source, start, stop) for start, stop in zip(starts, stops, strict=True)]
        ranges = record_ranges(source, starts, parities, len(data))
        assert ranges[0].start == 0 and ranges[-1].stop == len(data)
        assert all(a.stop == b.start for a, b in itertools.pairwise(ranges))
        for part in ranges[1:]:
            before = data[: part.start]
            assert before.count(b'"') % 2 == 0 and before.endswith((b"\n", b"\r"))


def test_parquet_in_and_out_equal_the_local_engine(model, scheduler, tmp_path):
    table = pa.table(
        {
            "customer_id": pa.array(range(2_500), pa.int64()),
            "annual_income": pa.array([15.0 + i % 100 if i % 97 else None for i in range(2_500)]),
            "spending_score": pa.array([1 + i % 120 for i in range(2_500)], pa.int32()),
            "note": pa.array(["=1+1" if i % 5 else "ok" for i in range(2_500)]),
        }
    )
    source = tmp_path / "in.parquet"
    pq.write_table(table, source, row_group_size=300)
    options = ScoreOptions(chunk_rows=256)
    score_path(model, source, tmp_path / "local.parquet", options=options)
    score_path(model, source, tmp_path / "local.csv", options=options)
    common = {"options": options, "scheduler": scheduler, "show_progress": False, "partition_rows": 500}
    summary = score_path_dask(model, source, tmp_path / "dask.parquet", **common)
    score_path_dask(model, source, tmp_path / "dask.csv", **common)
    parts = sorted(path.name for path in (tmp_path / "dask.parquet").iterdir())
    assert parts == [f"part.{index:05d}.parquet" for index in range(5)]  # 600-row partitions of 300-row groups
    expected = pq.read_table(tmp_path / "local.parquet")
    assert pq.read_table(tmp_path / "dask.parquet").equals(expected)
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert summary.flagged == sum(1 for error in expected.column("error").to_pylist() if error) > 0
    # A folder of Parquet files is an input too: the same rows, numbered across its files.
    folder = tmp_path / "folder"
    folder.mkdir()
    pq.write_table(table.slice(0, 1_000), folder / "a.parquet", row_group_size=300)
    pq.write_table(table.slice(1_000), folder / "b.parquet", row_group_size=300)
    score_path_dask(model, folder, tmp_path / "again.csv", **common)
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_csv_to_parquet_parts_equal_the_local_engine(model, scheduler, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(MESSY["bad rows many times"])
    score_path(model, source, tmp_path / "local.parquet", options=ScoreOptions())
    target = tmp_path / "out"
    target.mkdir()
    (target / "part.00099.parquet").write_bytes(b"an older run's part")
    score_path_dask(model, source, target, options=ScoreOptions(), scheduler=scheduler, partition_bytes=2_000)
    assert len(list(target.iterdir())) > 1 and not (target / "part.00099.parquet").exists()
    assert pq.read_table(target).equals(pq.read_table(tmp_path / "local.parquet"))


@pytest.mark.parametrize("policy", POLICIES)
def test_parquet_reject_names_the_row_of_the_file(model, scheduler, tmp_path, policy):
    incomes = [20.0] * 1_000 + [None] + [20.0] * 10
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"annual_income": incomes, "spending_score": [10] * 1_011}), source, row_group_size=100)
    options = ScoreOptions(on_error=policy)
    local = _outcome(lambda s, t, o: score_path(model, s, t, options=o), source, tmp_path / "l.csv", options)
    dask = _outcome(
        lambda s, t, o: score_path_dask(
            model, s, t, options=o, scheduler=scheduler, show_progress=False, partition_rows=100
        ),
        source,
        tmp_path / "d.csv",
        options,
    )
    assert dask == local
    assert policy != "reject" or local[0].startswith("row 1001 is not usable")


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("missing.csv", "out.csv", "input file not found"),
        ("in.csv", "out.txt", "use a .csv or .parquet file"),
        ("in.csv", "no/such/folder/out.csv", "output folder not found"),
        ("in.csv", "in.csv", "must be a different file"),
        ("in.txt", "out.csv", "use a .csv or .parquet file"),
    ],
)
def test_bad_paths_are_refused_before_any_work(model, tmp_path, source, target, message):
    (tmp_path / "in.csv").write_bytes(BAD_FILE.encode())
    (tmp_path / "in.txt").write_bytes(BAD_FILE.encode())
    with pytest.raises(InvalidRequest, match=message):
        score_path_dask(model, tmp_path / source, tmp_path / target, options=ScoreOptions(), scheduler="tcp://x:1")


@pytest.mark.parametrize(
    "options",
    [
        {"target_segment": "VIP / Whale"},
        {"extra_columns": ("runner_up", "description", "marketing_strategy"), "explain": True},
        {"formula_guard": False, "excel": True, "on_error": "skip"},
        {"income_column": "revenue", "spending_column": "score", "id_column": "ref", "delimiter": ";"},
        {"feature_columns": (("annual_income", "revenue"), ("spending_score", "score")), "delimiter": ";"},
    ],
    ids=["counterfactual", "explained", "unguarded", "mapped", "column"],
)
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_output_options_give_the_local_engines_file(model, scheduler, tmp_path, options, suffix):
    rows = "".join(f"c{i};{15 + i % 110};{i % 102};{'=1+1' if i % 7 else ''}\n" for i in range(2_000))
    source = tmp_path / "in.csv"
    source.write_text(
        "ref;revenue;score;note\n" + rows
        if "income_column" in options or "feature_columns" in options
        else ("ref;Annual Income (k$);Spending Score (1-100);note\n" + rows)
    )
    score_options = ScoreOptions(chunk_rows=300, **options)
    score_path(model, source, tmp_path / f"local{suffix}", options=score_options)
    summary = score_path_dask(
        model, source, tmp_path / f"dask{suffix}", options=score_options, scheduler=scheduler, partition_bytes=5_000
    )
    if "target_segment" in options:
        # A move's last bits depend on the other rows of its chunk (counterfactuals() bounds each target's cell by
        # the chunk's largest point), and partitions cut chunks elsewhere: equal to 1e-12, not byte for byte.
        (got, got_numbers), (expected, expected_numbers) = (_rows(tmp_path / f"{n}{suffix}") for n in ("dask", "local"))
        assert got == expected
        assert got_numbers == pytest.approx(expected_numbers, rel=1e-12, nan_ok=True)
    elif suffix == ".csv":
        assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    else:
        assert pq.read_table(tmp_path / "dask.parquet").equals(pq.read_table(tmp_path / "local.parquet"))
    assert summary.scored > 0


@pytest.fixture(scope="module")
def crm_model(tmp_path_factory: pytest.TempPathFactory) -> SegmentationModel:
    return train_crm(tmp_path_factory.mktemp("crm"))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_segmentations_columns_named_with_column_give_the_local_engines_file(crm_model, scheduler, tmp_path, suffix):
    text = write_crm(tmp_path / "crm.csv", rows=2_000, seed=3).read_text()
    source = tmp_path / f"renamed{suffix}"
    (tmp_path / "renamed.csv").write_text(renamed_crm(text))
    if suffix == ".parquet":
        pq.write_table(pa_csv.read_csv(tmp_path / "renamed.csv"), source, row_group_size=300)
    options = ScoreOptions(chunk_rows=300, feature_columns=MAPPING)
    score_path(crm_model, source, tmp_path / "local.csv", options=options)
    summary = score_path_dask(
        crm_model, source, tmp_path / "dask.csv", options=options, scheduler=scheduler, partition_bytes=5_000
    )
    dask_file = (tmp_path / "dask.csv").read_bytes()
    assert dask_file == (tmp_path / "local.csv").read_bytes()
    assert summary.scored == 2_000 and summary.columns["visits"] == "Visits: per month"
    # And the same segments as the file under the segmentation's own column names.
    score_path(crm_model, tmp_path / "crm.csv", tmp_path / "named.csv", options=ScoreOptions(chunk_rows=300))
    segments, named = (
        [(row["segment_id"], row["confidence"]) for row in csv.DictReader(io.StringIO(text))]
        for text in (dask_file.decode(), (tmp_path / "named.csv").read_text())
    )
    assert segments == named and len({segment_id for segment_id, _ in segments}) == 3


def _rows(path: Path) -> tuple[list, list[float]]:
    """A labelled file's cells: the floats' columns (nan for an empty cell), and every other column as it is."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    else:
        # A ';' file's numbers are written with decimal commas, as they are read.
        table = pa_csv.read_csv(
            path,
            parse_options=pa_csv.ParseOptions(delimiter=";"),
            convert_options=pa_csv.ConvertOptions(decimal_point=","),
        )
    others, numbers = [], []
    for column in table.columns:
        if pa.types.is_floating(column.type):
            numbers += [float("nan") if value is None else value for value in column.to_pylist()]
        else:
            others.append(column.to_pylist())
    return others, numbers


def test_parquet_parts_replace_a_parquet_file_of_the_same_name(model, scheduler, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(MESSY["every bad kind"])
    target = tmp_path / "out.parquet"
    score_path(model, source, target, options=ScoreOptions())
    expected = pq.read_table(target)
    score_path_dask(model, source, target, options=ScoreOptions(), scheduler=scheduler, partition_bytes=100)
    assert target.is_dir() and pq.read_table(target).equals(expected)
