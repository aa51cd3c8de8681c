"""`python -m app.cli score --explain / --target-segment`: the API's labelled file byte for byte, and its refusals
in the command's own words (Dask: test_score_dask.py)."""

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.cli.test_score import run_python
from tests.services.test_scoring import BAD_FILE

CSV_TYPE = {"content-type": "text/csv"}
PER_FEATURE = ("typical_low", "typical_high", "position", "share_of_distance", "share_of_margin")


@pytest.fixture
def cli(run_cli):
    """`python -m app.cli score ARGS --quiet`, in-process; returns (exit code, stdout, stderr)."""
    return lambda *args: run_cli("score", *args, "--quiet")


@pytest.fixture
def customers(default_data: Path, tmp_path: Path) -> Path:
    """The default data with bad rows after it: flagged rows get empty explanation and change cells."""
    source = tmp_path / "customers.csv"
    source.write_text(default_data.read_text() + BAD_FILE.split("\n", 1)[1] + "\n")
    return source


def _segments(api: TestClient, prefix: str = "") -> list[dict]:
    response = api.get(f"/api/v1{prefix}/clusters")
    assert response.status_code == 200
    return response.json()["segments"]


def _options(api: TestClient, prefix: str = "") -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each way of asking: (the command's options, the API's query), the target by id and by name."""
    segments = _segments(api, prefix)
    by_id, by_name = str(segments[-1]["segment_id"]), segments[0]["segment_name"]
    return {
        "explain": (["--explain"], {"explain": "true"}),
        "target by id": (["--target-segment", by_id], {"target_segment": by_id}),
        "target by name": (["--target-segment", by_name], {"target_segment": by_name}),
        "both": (["--explain", "--target-segment", by_name], {"explain": "true", "target_segment": by_name}),
    }


@pytest.mark.parametrize("asked", ["explain", "target by id", "target by name", "both"])
def test_score_explain_and_target_write_the_apis_bytes(cli, client, customers, tmp_path, asked):
    args, query = _options(client)[asked]
    output = tmp_path / "labelled.csv"
    code, _, err = cli(customers, output, *args)
    assert code == 0, err
    http = client.post("/api/v1/predict/csv", params=query, content=customers.read_bytes(), headers=CSV_TYPE)
    assert http.status_code == 200, http.text
    assert output.read_bytes() == http.content
    header = output.read_text().splitlines()[0].split(",")
    explained = [f"{prefix}_{feature}" for feature in ("annual_income", "spending_score") for prefix in PER_FEATURE]
    changes = ["change_annual_income", "change_spending_score", "reachable"]
    added = [*explained, "confidence_text"] * ("explain" in query) + changes * ("target_segment" in query)
    assert header[-len(added) - 1 :] == [*added, "error"]


def test_score_file_target_column_writes_the_apis_bytes(cli, client, tmp_path):
    # No option: the file's own target_segment column names each row's target, as for the API.
    name = _segments(client)[0]["segment_name"]
    source = tmp_path / "targets.csv"
    source.write_text(f"annual_income,spending_score,target_segment\n60,5,{name}\n20,80,\n120,90,1\n")
    output = tmp_path / "labelled.csv"
    code, _, err = cli(source, output)
    assert code == 0, err
    http = client.post("/api/v1/predict/csv", content=source.read_bytes(), headers=CSV_TYPE)
    assert http.status_code == 200 and output.read_bytes() == http.content


def test_score_explain_and_target_parquet_equals_the_apis_kept_run(cli, client, customers, tmp_path):
    args, query = _options(client)["both"]
    output = tmp_path / "labelled.parquet"
    code, _, err = cli(customers, output, *args)
    assert code == 0, err
    http = client.post("/api/v1/predict/csv", params=query, content=customers.read_bytes(), headers=CSV_TYPE)
    assert http.status_code == 200
    kept = client.get(f"/api/v1/runs/{http.headers['X-Run-Id']}/file", params={"format": "parquet"})
    assert kept.status_code == 200
    (tmp_path / "kept.parquet").write_bytes(kept.content)
    table = pq.read_table(output)
    assert table.equals(pq.read_table(tmp_path / "kept.parquet"))  # the values and types; the API's CSV style aside
    assert "confidence_text" in table.column_names and table.column_names[-2] == "reachable"


@pytest.mark.parametrize("target", ["4242", "Nobody"])
@pytest.mark.parametrize("engine", ["local", "dask"])
def test_score_unknown_target_segment_exits_2_before_any_work(cli, client, customers, tmp_path, target, engine):
    out = tmp_path / "out"
    out.mkdir()
    query = {"target_segment": target}
    http = client.post("/api/v1/predict/csv", params=query, content=customers.read_bytes(), headers=CSV_TYPE)
    assert http.status_code == 404
    code, _, err = cli(customers, out / "labelled.csv", "--target-segment", target, "--engine", engine)
    assert code == 2
    assert err.startswith(f"error: --target-segment: no segment {target if target.isdigit() else repr(target)} ")
    assert "its segments are" in err and len(err.strip().splitlines()) == 1
    assert list(out.iterdir()) == []  # nothing half-written, no temporary file left


@pytest.mark.parametrize(
    ("header", "args", "query", "message"),
    [
        (
            "annual_income,spending_score,target_segment",
            ["--target-segment", "1"],
            {"target_segment": "1"},
            "error: the file has a 'target_segment' column and --target-segment is given too: give the target as "
            "--target-segment or as a column, not both",
        ),
        (
            "annual_income,spending_score,position_annual_income",
            ["--explain"],
            {"explain": "true"},
            "error: the file already has the column(s) position_annual_income that --explain adds; rename them, or "
            "score without --explain",
        ),
        (
            "annual_income,spending_score,change_spending_score",
            ["--target-segment", "1"],
            {"target_segment": "1"},
            "error: the file already has the column(s) change_spending_score that a target segment adds; rename them",
        ),
    ],
)
def test_score_refuses_what_the_api_refuses_in_its_own_words(cli, client, tmp_path, header, args, query, message):
    source = tmp_path / "in.csv"
    source.write_text(f"{header}\n60,5,1\n")
    http = client.post("/api/v1/predict/csv", params=query, content=source.read_bytes(), headers=CSV_TYPE)
    assert http.status_code == 422
    code, _, err = cli(source, tmp_path / "out.csv", *args)
    assert code == 2
    assert err.strip() == message
    assert "target_segment=" not in err and "explain=" not in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv"]


def test_score_help_names_the_columns_each_option_adds(run_cli, capsys):
    with pytest.raises(SystemExit):
        run_cli("score", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    explain = help_text.split("--explain append ", 1)[1].split("--target-segment SEGMENT", 1)[0]
    for prefix in PER_FEATURE:
        assert f"{prefix}_<feature>" in explain
    assert "confidence_text" in explain
    target = help_text.split("--target-segment SEGMENT ", 1)[1].split("--no-formula-guard", 1)[0]
    assert "id or name" in target and "change_<feature>" in target and "reachable" in target


@pytest.fixture(scope="module")
def api(make_settings, segmentations_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A server of those segmentations, started once: outside a test's capsys, which would hold its log stream."""
    settings = make_settings(model_dir=segmentations_root, jobs_dir=tmp_path_factory.mktemp("jobs"))
    with TestClient(create_app(settings)) as started:
        yield started


@pytest.mark.parametrize(("name", "data"), [("crm", "crm.csv"), ("rfm", "transactions.csv")])
def test_score_a_segmentation_writes_its_routes_bytes(cli, api, segmentations_root, tmp_path, name, data):
    args, query = _options(api, f"/segmentations/{name}")["both"]
    source = segmentations_root.parent / data
    output = tmp_path / "labelled.csv"
    code, _, err = cli(source, output, *args, "--segmentation", name, "--model-dir", segmentations_root)
    assert code == 0, err
    url = f"/api/v1/segmentations/{name}/predict/csv"
    http = api.post(url, params=query, content=source.read_bytes(), headers=CSV_TYPE)
    assert http.status_code == 200, http.text
    assert output.read_bytes() == http.content
    assert "confidence_text" in output.read_text().splitlines()[0]


@pytest.mark.slow
@pytest.mark.parametrize("output", ["labelled.csv", "labelled.parquet"])
def test_local_score_with_explain_and_target_never_loads_pandas(model_dir, customers, tmp_path, output):
    # As without them (test_score.py): the explanation and the moves are numpy and Arrow only.
    code = (
        "import sys; from app.cli.__main__ import main; "
        "c = main(sys.argv[1:]); print('pandas' in sys.modules); sys.exit(c)"
    )
    options = ("--quiet", "--explain", "--target-segment", "1")
    result = run_python(model_dir, "-c", code, "score", str(customers), str(tmp_path / output), *options)
    assert result.returncode == 0, result.stderr
    assert "scored 202 of 209 rows" in result.stdout and result.stdout.strip().splitlines()[-1] == "False"
