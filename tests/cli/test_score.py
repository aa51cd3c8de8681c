"""`python -m app.cli score`: CSV and Parquet by extension, exit codes, one-line errors (Dask: test_score_dask.py)."""

import csv
import io
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.core.config import PROJECT_ROOT
from app.models.versions.store import VersionStore
from tests.api.test_predict_csv import assert_same_as_batch, batch_rows
from tests.services.test_scoring import BAD_FILE
from tests.services.test_windows_1252 import GOOD as WIN_GOOD
from tests.services.test_windows_1252 import HEADER as WIN_HEADER
from tests.services.test_windows_1252 import problem as windows_1252_problem


@pytest.fixture
def cli(run_cli):
    """`python -m app.cli score ARGS --quiet`, in-process; returns (exit code, stdout, stderr)."""
    return lambda *args: run_cli("score", *args, "--quiet")


def test_score_csv_round_trip_equals_batch_and_http(cli, client, default_data, tmp_path):
    output = tmp_path / "labelled.csv"
    code, out, err = cli(default_data, output)
    assert code == 0, err
    assert "scored 200 of 200 rows" in out
    assert client.get("/api/v1/model/info").json()["version"] in out
    source = list(csv.DictReader(io.StringIO(default_data.read_text())))
    scored = list(csv.DictReader(io.StringIO(output.read_text())))
    assert_same_as_batch(scored, batch_rows(client, source))
    http = client.post("/api/v1/predict/csv", content=default_data.read_bytes(), headers={"content-type": "text/csv"})
    assert http.content == output.read_bytes()


def test_score_parquet_in_and_out(cli, default_data, tmp_path):
    as_parquet = tmp_path / "labelled.parquet"
    assert cli(default_data, as_parquet)[0] == 0
    table = pq.read_table(as_parquet)
    assert table.column_names[-7:] == [
        "segment_id",
        "segment_name",
        "confidence",
        "distance",
        "is_atypical",
        "out_of_range",
        "error",
    ]
    as_csv = tmp_path / "labelled.csv"
    assert cli(default_data, as_csv)[0] == 0
    csv_rows = list(csv.DictReader(io.StringIO(as_csv.read_text())))
    assert table.column("segment_name").to_pylist() == [row["segment_name"] for row in csv_rows]
    assert table.column("distance").to_pylist() == [float(row["distance"]) for row in csv_rows]
    # A Parquet input with numeric columns: read by name, and its columns keep their types.
    source = tmp_path / "customers.parquet"
    numeric = {
        "customer_id": pa.array([int(row["CustomerID"]) for row in csv_rows], pa.int64()),
        "annual_income": pa.array([float(row["Annual Income (k$)"]) for row in csv_rows]),
        "spending_score": pa.array([int(row["Spending Score (1-100)"]) for row in csv_rows], pa.int32()),
    }
    pq.write_table(pa.table(numeric), source)
    again = tmp_path / "again.parquet"
    assert cli(source, again)[0] == 0
    labelled = pq.read_table(again)
    assert labelled.schema.field("spending_score").type == pa.int32()
    assert labelled.column("segment_name").to_pylist() == [row["segment_name"] for row in csv_rows]


def test_score_bad_rows_are_counted(cli, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(BAD_FILE)
    code, out, _ = cli(source, tmp_path / "out.csv", "--on-error", "skip")
    assert code == 0
    assert "bad rows: 7 (0 flagged, 7 skipped)" in out
    assert "missing Annual Income (k$)" in out


def test_score_header_only_without_a_line_end_writes_the_header(cli, tmp_path):
    header = "CustomerID,annual_income,spending_score"
    outputs = []
    for name, text in (("ended.csv", header + "\n"), ("bare.csv", header)):
        (tmp_path / name).write_text(text)
        code, out, err = cli(tmp_path / name, tmp_path / f"labelled_{name}")
        assert code == 0, err
        assert "scored 0 of 0 rows" in out
        outputs.append((tmp_path / f"labelled_{name}").read_bytes())
    assert outputs[1] == outputs[0] and outputs[1].startswith(f"{header},segment_id".encode())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "out.csv"], "input file not found"),
        (["bad.csv", "out.csv", "--on-error", "reject"], "or score with --on-error flag or --on-error skip"),
        (["bad.csv", "out.txt"], "use a .csv or .parquet file"),
        (["bad.csv", "out.csv", "--model-version", "nope"], "no model version 'nope'"),
        (["bad.csv", "out.csv", "--income-column", "revenue"], "found: 'CustomerID'"),
        (["renamed.csv", "out.csv"], "or name them with --income-column and --spending-column"),
        # The file's own column names come through as written, whatever they hold.
        (["odd.csv", "out.csv"], "--spending-column; found: 'ref', 'column=x', 'income_column=2024', 'on_error=skip'"),
        (["bad.csv", "out.csv", "--income-column", "Age", "--spending-column", "Age"], "--income-column and --spend"),
        (["bad.csv", "no/such/folder/out.csv"], "output folder not found"),
    ],
)
def test_score_bad_input_exits_2_with_one_line(cli, tmp_path, monkeypatch, args, message):
    (tmp_path / "bad.csv").write_text(BAD_FILE)
    (tmp_path / "renamed.csv").write_text("ref,revenue,score\nA,120,90\n")
    (tmp_path / "odd.csv").write_text("ref,column=x,income_column=2024,on_error=skip\nA,1,2,3\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(*args)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.csv").exists()  # nothing half-written


@pytest.mark.parametrize("policy", ["flag", "skip", "reject"])
def test_score_quote_that_never_closes_exits_2(cli, tmp_path, policy):
    # It exited 0 with one row: the customers below the quote sat inside one cell.
    source = tmp_path / "quote.csv"
    rows = "".join(f"{15 + index},{1 + index},c{index}\n" for index in range(100))
    source.write_text('annual_income,spending_score,name\n50,50,"never closes\n' + rows)
    code, _, err = cli(source, tmp_path / "out.csv", "--on-error", policy)
    assert code == 2
    assert err.startswith("error: line 2: a quote in column 'name' opens a value that runs over 101 lines")
    assert not (tmp_path / "out.csv").exists()


def test_score_wide_header_exits_2_with_the_reason(cli, tmp_path):
    source = tmp_path / "wide.csv"
    source.write_text(",".join(f"c{index}" for index in range(2_000)) + "\n" + "1," * 1_999 + "1\n")
    code, _, err = cli(source, tmp_path / "out.csv")
    assert code == 2
    assert err.strip() == (
        "error: the file has 2,000 columns; a customer file may have at most 1,000: keep the columns you need"
    )


def test_score_output_options(cli, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b"annual_income,spending_score,note\r\n120,90,=1+1\r\n20,10,-5\r\n")
    guarded, plain = tmp_path / "guarded.csv", tmp_path / "plain.csv"
    assert cli(source, guarded)[0] == 0
    data = guarded.read_bytes()
    assert not data.startswith("\ufeff".encode()) and data.count(b"\r\n") == 3
    assert [row["note"] for row in csv.DictReader(io.StringIO(data.decode()))] == ["'=1+1", "-5"]
    code, _, err = cli(
        source, plain, "--no-formula-guard", "--excel", "--extra-columns", "runner_up,marketing_strategy"
    )
    assert code == 0, err
    data = plain.read_bytes()
    assert data.startswith("\ufeffannual_income,".encode()) and data.count(b"\r\n") == 3
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row["note"] for row in rows] == ["=1+1", "-5"]
    assert list(rows[0])[-3:] == ["runner_up", "marketing_strategy", "error"] and rows[0]["marketing_strategy"]


def test_score_unknown_extra_column_exits_2(cli, default_data, tmp_path):
    code, _, err = cli(default_data, tmp_path / "out.csv", "--extra-columns", "runner_up,segment")
    assert code == 2
    assert err.strip() == "error: extra_columns may name runner_up, description, marketing_strategy, not 'segment'"


def test_score_column_names_the_default_features_as_income_and_spending_column_do(cli, tmp_path):
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"ref": ["A", "B"], "revenue": [120.0, 20.0], "score": [90, 10]}), source)
    by_flags, by_column = tmp_path / "flags.csv", tmp_path / "column.csv"
    assert cli(source, by_flags, "--income-column", "revenue", "--spending-column", "score")[0] == 0
    code, _, err = cli(source, by_column, "--column", "annual_income=revenue", "--column", "spending_score=score")
    assert code == 0, err
    assert by_column.read_bytes() == by_flags.read_bytes()
    assert [row["segment_name"] for row in csv.DictReader(io.StringIO(by_column.read_text()))] == [
        "VIP / Whale",
        "Budget Conscious",
    ]
    code, _, err = cli(source, tmp_path / "out.csv", "--income-column", "revenue", "--column", "annual_income=score")
    assert code == 2
    assert err.strip() == (
        "error: --income-column names 'revenue' and --column names 'score' for annual_income: give one column for "
        "each feature"
    )


def test_score_parquet_guards_text_written_as_csv_only(cli, tmp_path):
    source = tmp_path / "in.parquet"
    table = {
        "annual_income": pa.array([120.0, 20.0]),
        "spending_score": pa.array([90, 10], pa.int32()),
        "balance": pa.array([-5.5, 3.0]),
        "note": pa.array(["@SUM(A1)", "fine"]),
    }
    pq.write_table(pa.table(table), source)
    as_csv, as_parquet = tmp_path / "out.csv", tmp_path / "out.parquet"
    assert cli(source, as_csv)[0] == 0
    rows = list(csv.DictReader(io.StringIO(as_csv.read_text())))
    assert [(row["balance"], row["note"]) for row in rows] == [("-5.5", "'@SUM(A1)"), ("3", "fine")]
    # Parquet holds typed values for programs, which no spreadsheet runs as formulas: written as they came.
    assert cli(source, as_parquet)[0] == 0
    labelled = pq.read_table(as_parquet)
    assert labelled.column("note").to_pylist() == ["@SUM(A1)", "fine"]
    assert labelled.column("confidence").to_pylist() == [float(row["confidence"]) for row in rows]


def test_score_unexpected_failure_exits_1(cli, default_data, tmp_path):
    (tmp_path / "out.csv").mkdir()  # the output path is taken by a folder
    code, _, err = cli(default_data, tmp_path / "out.csv")
    assert code == 1
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def run_python(model_dir, *args: str) -> subprocess.CompletedProcess:
    """`python ARGS` in a fresh process, against `model_dir`, with a bare environment."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env={"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_score_command_runs_as_a_module(model_dir, default_data, tmp_path):
    output = tmp_path / "out.csv"
    result = run_python(model_dir, "-m", "app.cli", "score", str(default_data), str(output), "--quiet")
    assert result.returncode == 0, result.stderr
    assert len(output.read_text().splitlines()) == 201


@pytest.mark.slow
@pytest.mark.parametrize("output", ["out.csv", "out.parquet"])
def test_local_score_never_loads_pandas(model_dir, tmp_path, output):
    # pandas is about 40 MB of the CLI's peak memory: pyarrow would load it, and local scoring never needs it.
    source = tmp_path / "in.csv"
    source.write_text(BAD_FILE + "\n")
    code = (
        "import sys; from app.cli.__main__ import main; "
        "c = main(sys.argv[1:]); print('pandas' in sys.modules, 'sqlalchemy' in sys.modules); sys.exit(c)"
    )
    result = run_python(model_dir, "-c", code, "score", str(source), str(tmp_path / output), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "scored 2 of 9 rows" in result.stdout
    # Nor SQLAlchemy: the settings check a SQLite URL without it (only a server's URL needs its parser).
    assert result.stdout.strip().splitlines()[-1] == "False False"


def test_score_on_dask_without_dask_installed_says_how_to_install_it(cli, default_data, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as after `bash setup.sh run`
    output = tmp_path / "labelled.csv"
    code, out, err = cli(default_data, output, "--engine", "dask")
    assert code == 2 and out == ""
    assert err.startswith("error: the Dask engine is not installed") and err.count("\n") == 1
    assert "pip install -r requirements-dask.txt" in err
    assert not output.exists()


def test_score_help_says_model_version_scores_with_that_version(run_cli, capsys):
    with pytest.raises(SystemExit):
        run_cli("score", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--model-version MODEL_VERSION score with this stored version instead of the active one" in help_text
    assert "refuse" not in help_text


def test_score_with_model_version_uses_that_version_not_the_active_one(run_cli, fresh_dir, default_data, tmp_path):
    code, _, err = run_cli("train", "--k", "3", "--no-sweep", "--data", default_data, "--output-dir", fresh_dir)
    assert code == 0, err
    store = VersionStore(fresh_dir)
    [other] = [version for version in store.versions() if version != store.active_version()]
    output = tmp_path / "labelled.csv"
    code, out, err = run_cli("score", default_data, output, "--model-dir", fresh_dir, "--model-version", other)
    assert code == 0, err
    assert other in out
    segment_ids = {str(segment.segment_id) for segment in store.load(other).segments}
    assert len(segment_ids) == 3  # the active version has 5
    assert {row["segment_id"] for row in csv.DictReader(output.open())} == segment_ids


@pytest.mark.parametrize("ends", ["header", "rows", "both"])
def test_score_cli_reads_a_header_or_rows_ending_with_the_delimiter_as_excel_saves_them(cli, tmp_path, ends):
    header, rows = "id;Annual Income (k$);Spending Score (1-100)", ["1;15;39", "2;120;90", "3;20;10"]
    plain = tmp_path / "plain.csv"
    plain.write_text("\r\n".join([header, *rows]) + "\r\n", newline="")
    export = tmp_path / "export.csv"
    header += ";" if ends in ("header", "both") else ""
    rows = [row + ";" for row in rows] if ends in ("rows", "both") else rows
    export.write_text("\r\n".join([header, *rows]) + "\r\n", newline="")
    code, out, err = cli(export, tmp_path / "export_out.csv")
    assert code == 0, err
    assert "scored 3 of 3 rows" in out
    assert cli(plain, tmp_path / "plain_out.csv")[0] == 0
    assert (tmp_path / "export_out.csv").read_bytes() == (tmp_path / "plain_out.csv").read_bytes()


def test_a_windows_1252_file_is_refused_at_its_line_in_one_line_exit_2(cli, tmp_path):
    source = tmp_path / "crm.csv"
    source.write_bytes((WIN_HEADER + WIN_GOOD + "6001,20,Müller\n").encode("cp1252"))
    code, _, stderr = cli(source, tmp_path / "out.csv")
    assert code == 2
    assert stderr.strip() == f"error: the file {windows_1252_problem(6_002)}"
    assert not (tmp_path / "out.csv").exists()
