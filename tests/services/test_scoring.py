"""The streaming file scorer: columns kept, rows in order, bad rows per policy, delimiters, BOM, mapping."""

import csv
import io
import logging

import numpy as np
import pytest

from app.core import metrics
from app.core.errors import InvalidRequest
from app.db.session import create_db_engine
from app.services.monitoring.prediction_log import LogChunk, PredictionLogWriter, log_counters
from app.services.scoring import spool as spool_module
from app.services.scoring.csv_io import score_csv
from app.services.scoring.files import score_file
from app.services.scoring.options import ScoreOptions
from app.services.scoring.score_columns import SCORE_COLUMNS
from app.services.scoring.spool import LogSpool

HEADER = "CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)"
# One good row, then one row of every bad kind, then a good row: lines 2..9.
BAD_FILE = "\n".join(
    [
        HEADER,
        "1,Male,30,120,90",
        "2,Female,40,,50",
        "3,Female,41,lots,50",
        "4,Male,42,50,",
        "5,Male,43,50,many",
        "6,Female,44,50,500",
        "7,Female,45,-3,50",
        "8,Male,46,20,10,extra",
        "9,Male,47,20,10",
    ]
)
# Each reason names the file's own column.
BAD_REASONS = {
    "missing Annual Income (k$)": 1,
    "Annual Income (k$) is not a number": 1,
    "missing Spending Score (1-100)": 1,
    "Spending Score (1-100) is not a number": 1,
    "Spending Score (1-100) out of range (1 to 100)": 1,
    "Annual Income (k$) out of range (0 to 10000)": 1,
    "wrong number of fields": 1,
}


def run(model, text: str | bytes, **options) -> tuple[list[dict[str, str]], dict, str]:
    """Score text; return the output rows, the summary and the raw output."""
    data = text.encode() if isinstance(text, str) else text
    sink = io.BytesIO()
    summary = score_csv(model, io.BytesIO(data), sink, options=ScoreOptions(**options))
    output = sink.getvalue().decode()
    delimiter = summary.delimiter
    rows = csv.DictReader(io.StringIO(output.removeprefix("\ufeff"), newline=""), delimiter=delimiter)
    return list(rows), summary.to_dict(), output


def test_score_keeps_columns_and_order(model, default_data):
    rows, summary, output = run(model, default_data.read_bytes())
    source = list(csv.DictReader(io.StringIO(default_data.read_text())))
    assert output.splitlines()[0] == HEADER + "," + ",".join(SCORE_COLUMNS) + ",error"
    assert len(rows) == len(source) == summary["scored"] == summary["rows"]
    for got, original in zip(rows, source, strict=True):
        assert {key: got[key] for key in original} == original
        assert got["error"] == ""
    assert sum(segment["count"] for segment in summary["segments"]) == len(source)
    assert summary["model_version"] == model.version


def test_score_matches_the_model(model):
    rows, _, _ = run(model, "annual_income,spending_score\n120,90\n20,10\n55,50\n20,90\n120,10\n")
    positions, distances = model.predict([[120, 90], [20, 10], [55, 50], [20, 90], [120, 10]])
    assert [row["segment_name"] for row in rows] == [model.segments[p].name for p in positions]
    assert [float(row["distance"]) for row in rows] == [distances[i, p] for i, p in enumerate(positions)]
    assert {row["is_atypical"] for row in rows} <= {"true", "false"}
    assert all(0 <= float(row["confidence"]) <= 1 for row in rows)


def test_flag_keeps_bad_rows_with_the_reason(model):
    rows, summary, _ = run(model, BAD_FILE, on_error="flag")
    assert [row["CustomerID"] for row in rows] == ["1", "2", "3", "4", "5", "6", "7", "9"]
    assert summary["errors"] == BAD_REASONS
    assert (summary["rows"], summary["scored"], summary["flagged"], summary["skipped"]) == (9, 2, 6, 1)
    assert rows[1]["error"] == "missing Annual Income (k$)"
    assert rows[1]["segment_id"] == rows[1]["segment_name"] == rows[1]["confidence"] == ""
    assert rows[0]["error"] == "" and rows[0]["segment_name"]


def test_skip_leaves_bad_rows_out_and_counts_them(model):
    rows, summary, output = run(model, BAD_FILE, on_error="skip")
    assert [row["CustomerID"] for row in rows] == ["1", "9"]
    assert "error" not in output.splitlines()[0]
    assert summary["errors"] == BAD_REASONS
    assert (summary["rows"], summary["scored"], summary["flagged"], summary["skipped"]) == (9, 2, 0, 7)


def test_reject_names_the_first_bad_line(model):
    with pytest.raises(InvalidRequest, match=r"line 3 is not usable: missing Annual Income \(k\$\)"):
        run(model, BAD_FILE, on_error="reject")


def test_reject_reports_a_malformed_line_first_when_it_comes_first(model):
    text = "\n".join([HEADER, "1,Male,30,120,90", "2,Male,30", "3,Female,41,lots,50"])
    with pytest.raises(InvalidRequest, match="line 3 is not usable: wrong number of fields"):
        run(model, text, on_error="reject")


def test_reject_accepts_a_clean_file(model):
    rows, summary, _ = run(model, HEADER + "\n1,Male,30,120,90\n", on_error="reject")
    assert len(rows) == 1 and summary["bad_rows"] == 0


@pytest.mark.parametrize("chunk_rows", [1, 3, 1000])
def test_chunking_does_not_change_the_output(model, chunk_rows):
    _, _, whole = run(model, BAD_FILE, chunk_rows=1000)
    _, summary, chunked = run(model, BAD_FILE, chunk_rows=chunk_rows)
    assert chunked == whole
    assert summary["errors"] == BAD_REASONS


def test_semicolon_and_bom_are_sniffed(model):
    plain, _, _ = run(model, HEADER + "\n1,Male,30,120,90\n")
    text = "\ufeff" + HEADER.replace(",", ";") + "\n1;Male;30;120;90\n"
    rows, summary, output = run(model, text.encode())
    assert summary["delimiter"] == ";"
    # The BOM is kept, at the start of the file: not copied into the first column's name.
    assert output.startswith("\ufeffCustomerID;Gender") and output.count("\ufeff") == 1
    # The same answer, its numbers written with a decimal comma as a ';' file's numbers are read.
    assert rows == [{name: value.replace(".", ",") for name, value in row.items()} for row in plain]
    assert rows[0]["confidence"].count(",") == 1 and "." not in rows[0]["distance"]


def test_given_delimiter_wins_over_sniffing(model):
    with pytest.raises(InvalidRequest, match="missing column"):
        run(model, HEADER + "\n1,Male,30,120,90\n", delimiter=";")


def test_snake_case_header(model):
    rows, summary, _ = run(model, "customer_id,annual_income,spending_score\n7,120,90\n")
    assert rows[0]["segment_name"] == "VIP / Whale"
    assert summary["columns"]["customer_id"] == "customer_id"


def test_column_mapping(model):
    rows, summary, _ = run(
        model, "ref;revenue;score\nA;120;90\n", income_column="revenue", spending_column="score", id_column="ref"
    )
    assert rows[0]["segment_name"] == "VIP / Whale"
    assert summary["columns"]["annual_income"] == "revenue"


def test_wrong_mapping_names_found_columns(model):
    with pytest.raises(InvalidRequest, match=r"names 'income' .*found: 'revenue', 'score'"):
        run(model, "revenue,score\n120,90\n", income_column="income")


def test_missing_columns_name_found_and_wanted(model):
    with pytest.raises(InvalidRequest) as caught:
        run(model, "name,email\nAda,a@example.com\n")
    assert "'Annual Income (k$)' (or 'annual_income')" in caught.value.message
    assert "found: 'name', 'email'" in caught.value.message


@pytest.mark.parametrize("line_end", ["\n", "\r\n", ""])
def test_header_only_file_gives_header_only_output(model, line_end):
    # Without a line end, Arrow cannot skip the header: the file still has a header and no rows.
    rows, summary, output = run(model, HEADER + line_end)
    assert rows == []
    assert output.splitlines() == [HEADER + "," + ",".join(SCORE_COLUMNS) + ",error"]
    assert summary["rows"] == summary["scored"] == 0
    assert all(segment["count"] == 0 for segment in summary["segments"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        ("Annual Income (k$),Spending Score (1-100)\n12,34\n".encode("utf-16"), "binary"),
        (b"annual_income,spending_score\n\xff\xfe15,20\n", "not UTF-8"),
    ],
)
def test_unusable_files_are_refused(model, data, message):
    with pytest.raises(InvalidRequest, match=message):
        run(model, data)


def test_mapping_both_features_to_one_column_is_refused(model):
    with pytest.raises(InvalidRequest, match="two different columns"):
        run(model, "revenue,score\n120,90\n", income_column="revenue", spending_column="revenue")


def test_long_header_names_are_cut_in_messages(model):
    names = [f"{index}" + "x" * 1_000 for index in range(50)]
    with pytest.raises(InvalidRequest) as caught:
        run(model, ",".join(names) + "\n" + ",".join("1" * 50) + "\n")
    message = caught.value.message
    assert len(message) < 2_500
    assert "'0" + "x" * 50 in message and "…'" in message
    assert message.endswith("and 30 more")


def test_quoted_values_may_span_lines_across_read_blocks(model):
    # Every id holds a line break, so some quoted value straddles each 128 KiB block the reader cuts.
    rows = [f'"c{index}\nnote",{15 + index % 100},{1 + index % 99}' for index in range(30_000)]
    scored, summary, _ = run(model, "customer_id,annual_income,spending_score\n" + "\n".join(rows) + "\n")
    assert summary["scored"] == len(scored) == 30_000
    assert scored[-1]["customer_id"] == "c29999\nnote"


def test_a_quote_that_never_closes_is_refused_not_skipped(model):
    rows = [f"c{index},{15 + index % 100},{1 + index % 99}" for index in range(20_000)]
    rows[10_000] = '"c10000,20,30'  # swallows every following line: skipping it would drop 10,000 customers
    text = "customer_id,annual_income,spending_score\n" + "\n".join(rows) + "\n"
    with pytest.raises(InvalidRequest, match=r"line 10002: a quote opens a value that runs over .* without closing"):
        run(model, text, on_error="skip")


def test_a_row_longer_than_a_read_block_is_refused(model):
    text = "customer_id,annual_income,spending_score\n" + "c1,15,39\n" * 20_000 + "x" * 300_000 + ",15,39\n"
    with pytest.raises(InvalidRequest, match="a row after the first 20,000 is longer than 128 KiB"):
        run(model, text)


def test_quoted_values_survive(model):
    text = 'name,annual_income,spending_score\n"Doe, Jane",120,90\n"say ""hi""",20,10\n'
    rows, _, output = run(model, text)
    assert [row["name"] for row in rows] == ["Doe, Jane", 'say "hi"']
    assert output.splitlines()[1].startswith('"Doe, Jane",120,90,')


def test_summary_profiles_segments(model):
    text = HEADER + "\n1,Male,30,120,90\n2,Female,50,124,94\n3,Female,20,20,10\n"
    _, summary, _ = run(model, text)
    vip = next(segment for segment in summary["segments"] if segment["segment_name"] == "VIP / Whale")
    assert vip["count"] == 2 and vip["share"] == pytest.approx(2 / 3)
    assert vip["profile"]["annual_income"] == {"mean": 122.0, "min": 120.0, "max": 124.0}
    assert vip["profile"]["age"]["mean"] == 40.0
    assert vip["gender"] == {"Female": 0.5, "Male": 0.5}


class RecordingWriter(PredictionLogWriter):
    """A prediction log writer that keeps what it is handed instead of queueing it."""

    def __init__(self) -> None:
        super().__init__(create_db_engine("sqlite://"), max_rows=1_000_000)
        self.chunks: list[LogChunk] = []

    def submit(self, chunk: LogChunk) -> None:
        """Record the chunk."""
        self.chunks.append(chunk)


def test_scored_rows_are_held_one_chunk_per_input_chunk_until_released(model):
    # The reader's smallest block is 64 KiB (~3,000 of these lines), so 20,000 rows come in several chunks.
    rows = [f"{i},Male,30,{10 + i % 120},{1 + i % 99}" for i in range(20_000)]
    text = "\n".join([HEADER, *rows[:500], "x,Male,30,,50", *rows[500:]]) + "\n"
    writer = RecordingWriter()
    spool = LogSpool(writer, model=model, max_rows=1_000_000, request_id="r-1")
    sink = io.BytesIO()
    options = ScoreOptions(chunk_rows=100)
    summary = score_csv(model, io.BytesIO(text.encode()), sink, options=options, on_scored=spool.add)
    assert summary.scored == 20_000 and summary.flagged == 1
    assert writer.chunks == [] and spool.rows == 20_000  # nothing reaches the log before the caller releases it

    spool.release()
    # Several input chunks, each queued whole: not one submission per row.
    assert 3 <= len(writer.chunks) <= 20
    assert sum(len(chunk) for chunk in writer.chunks) == 20_000
    assert {(chunk.source, chunk.request_id, chunk.model_version) for chunk in writer.chunks} == {
        ("csv", "r-1", model.version)
    }
    output = list(csv.DictReader(io.StringIO(sink.getvalue().decode())))
    logged = [int(i) for chunk in writer.chunks for i in chunk.segment_ids]
    assert logged == [int(row["segment_id"]) for row in output if row["segment_id"]]


def test_a_full_spool_drops_and_counts_the_rows_past_its_bound(model, caplog):
    rows = [f"{i},Male,30,{10 + i % 120},{1 + i % 99}" for i in range(1_000)]
    writer = RecordingWriter()
    spool = LogSpool(writer, model=model, max_rows=250, request_id="r-2")
    before = log_counters()["dropped"]
    text = "\n".join([HEADER, *rows]) + "\n"
    score_csv(model, io.BytesIO(text.encode()), io.BytesIO(), options=ScoreOptions(chunk_rows=100), on_scored=spool.add)
    assert (spool.rows, spool.dropped) == (250, 750)
    assert writer.dropped == 0 and log_counters()["dropped"] == before  # counted only once the file succeeded

    with caplog.at_level(logging.WARNING, logger="app.services.scoring.spool"):
        spool.release()
    held = writer.chunks
    assert sum(len(chunk) for chunk in held) == 250
    # The first rows of the file are kept, in order: the spool cuts the chunk that crosses the bound.
    assert [row for chunk in held for row in np.asarray(chunk.inputs).tolist()] == [
        [float(10 + i % 120), float(1 + i % 99)] for i in range(250)
    ]
    assert writer.dropped == 750
    assert log_counters()["dropped"] - before == 750
    assert "dropped 750 of the 1000 rows scored for request r-2" in caplog.text


def test_one_row_chunks_follow_the_writers_sampling(model):
    writer = RecordingWriter()
    writer.sample = 0.0  # a one-row chunk is sampled like a single prediction: here, never
    spool = LogSpool(writer, model=model, max_rows=10, request_id=None)
    text = HEADER + "\n1,Male,30,120,90\n"
    score_csv(model, io.BytesIO(text.encode()), io.BytesIO(), options=ScoreOptions(), on_scored=spool.add)
    assert spool.rows == 0


@pytest.fixture
def counted(monkeypatch) -> list[tuple[str, dict]]:
    """The calls scoring makes to the metrics, kept instead of counted."""
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(metrics, "record_scores", lambda **call: calls.append(("scores", call)))
    monkeypatch.setattr(metrics, "record_scored_size", lambda **call: calls.append(("size", call)))
    return calls


def _file(tmp_path, rows: list[str]):
    path = tmp_path / "customers.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_a_rejected_file_counts_and_logs_nothing_and_leaves_no_file(model, tmp_path, counted):
    rows = [f"{i},Male,30,{10 + i % 120},{1 + i % 99}" for i in range(5_000)]
    rows[4_900] = "4900,Male,30,50,500"
    writer = RecordingWriter()
    target = tmp_path / "labelled.csv"
    with pytest.raises(InvalidRequest, match="line 4902 is not usable"):
        score_file(
            model,
            _file(tmp_path, rows),
            options=ScoreOptions(on_error="reject", chunk_rows=1_000),
            target=target,
            spool_rows=1_000_000,
            log=writer,
        )
    assert counted == [] and writer.chunks == []
    assert list(tmp_path.iterdir()) == [tmp_path / "customers.csv"]  # no labelled file, not even a partial one


@pytest.mark.parametrize("block", [7, 1 << 18])
def test_a_good_file_is_counted_once_from_its_summary_when_recorded(model, tmp_path, counted, monkeypatch, block):
    monkeypatch.setattr(spool_module, "METRIC_BLOCK_ROWS", block)
    rows = [f"{i},Male,30,{10 + i % 120},{1 + i % 99}" for i in range(3_000)]
    rows += ["a,Male,30,5000,50", "b,Male,30,87,60", "c,Male,30,,50"]  # out of range, atypical, bad
    writer = RecordingWriter()
    options = ScoreOptions(chunk_rows=500)
    scored = score_file(
        model, _file(tmp_path, rows), options=options, target=tmp_path / "out.csv", spool_rows=10_000, log=writer
    )
    assert counted == [] and writer.chunks == []
    assert (tmp_path / "out.csv").is_file()

    scored.record()
    summary = scored.summary
    score_calls = [call for kind, call in counted if kind == "scores"]
    assert [call for kind, call in counted if kind == "size"] == [
        {"source": "csv", "customers": 3_003, "segmentation": "default"}
    ]
    assert {call["source"] for call in score_calls} == {"csv"} and all(call["chunk"] for call in score_calls)
    per_segment = sum(np.bincount(call["positions"], minlength=model.n_clusters) for call in score_calls)
    assert per_segment.tolist() == [profile.count for profile in summary.profiles]
    assert sum(int(np.count_nonzero(call["is_atypical"])) for call in score_calls) == summary.atypical
    out = sum(np.count_nonzero(call["out_of_range"], axis=0) for call in score_calls)
    assert dict(zip(score_calls[0]["features"], out.tolist(), strict=True)) == summary.out_of_range
    # The flags the summary counted are the ones the labelled file carries.
    labelled = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert summary.scored == 3_002 and summary.out_of_range == {"annual_income": 1}
    assert summary.atypical == sum(row["is_atypical"] == "true" for row in labelled)
    assert sum(len(chunk) for chunk in writer.chunks) == 3_002


@pytest.mark.parametrize(
    ("income", "scored"),
    [
        (" 12 ", True),
        ("1.2e1", True),
        ("+12.", True),
        (".5", True),
        ("nan", False),
        ("inf", False),
        ("0x10", False),
        ("1_0", False),
        ("\u0661\u0660", False),  # Arabic-Indic digits: the API and the form refuse them too
        ("12 k", False),
    ],
)
def test_numbers_are_read_as_people_write_them(model, income, scored):
    # A column with one untidy value takes the slow path, which must agree with the plain one on the tidy rows.
    rows, summary, _ = run(model, f"annual_income,spending_score\n20,10\n{income},50\n")
    assert rows[0]["error"] == ""
    assert (rows[1]["error"] == "") is scored
    if not scored:
        assert rows[1]["error"] == "annual_income is not a number"
        assert summary["errors"] == {"annual_income is not a number": 1}
