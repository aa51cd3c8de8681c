"""`python -m app.cli score --engine dask`: the local engine's file and errors, on a cluster of worker processes
(a 2-worker LocalCluster, the default), and on `dask scheduler` and 2 `dask worker` processes given by address."""

import csv
import io
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from app.core.config import PROJECT_ROOT
from tests.semicolon_csv import excel_style
from tests.services.test_scoring import BAD_FILE
from tests.services.test_windows_1252 import GOOD as WIN_GOOD
from tests.services.test_windows_1252 import HEADER as WIN_HEADER
from tests.services.test_windows_1252 import problem as windows_1252_problem

pytestmark = pytest.mark.slow  # every test here starts worker processes


@pytest.fixture
def cli(run_cli):
    """`python -m app.cli score ARGS --quiet`, in-process; returns (exit code, stdout, stderr)."""
    return lambda *args: run_cli("score", *args, "--quiet")


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[str]:
    """One 2-worker LocalCluster of processes, as the engine starts by default."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.CRITICAL
    ) as cluster:
        yield cluster.scheduler_address


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tcp_scheduler(tmp_path_factory) -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes on loopback ports, as a real cluster is run; stopped after."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    logs = tmp_path_factory.mktemp("dask-cluster")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    common = ["--host", "127.0.0.1", "--no-dashboard"]
    worker = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", *common]
    commands = [
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", address.rsplit(":", 1)[1], *common],
        *([*worker, "--local-directory", str(logs / f"worker-{index}")] for index in range(2)),
    ]
    processes, outputs = [], []
    try:
        for index, command in enumerate(commands):
            outputs.append((logs / f"{index}.log").open("wb"))
            processes.append(
                subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=outputs[-1], stderr=subprocess.STDOUT)
            )
            if index == 0:
                _wait_for_port(address)
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for output in outputs:
            output.close()


def _wait_for_port(address: str) -> None:
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, int(port))) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the scheduler never listened on {address}")


def _big_file(tmp_path: Path, default_data: Path) -> Path:
    """The bundled rows many times over (about 3 MB: several 1 MB partitions), every bad kind in the middle."""
    big = tmp_path / "customers.csv"
    body = default_data.read_text().split("\n", 1)[1]
    bad = BAD_FILE.split("\n", 1)[1] + "\n"
    quoted = "".join(f'{index},Female,30,"4{index % 10}",50\n' for index in range(500))  # quotes across ranges
    big.write_text(default_data.read_text() + body * 200 + bad + quoted + body * 200)
    return big


@pytest.mark.parametrize("policy", ["flag", "skip", "reject"])
def test_dask_engine_on_a_tcp_cluster_equals_local_engine(cli, tcp_scheduler, default_data, tmp_path, policy):
    big = _big_file(tmp_path, default_data)
    local, dask = tmp_path / "local.csv", tmp_path / "dask.csv"
    local_code, local_out, local_err = cli(big, local, "--on-error", policy)
    code, out, err = cli(big, dask, "--on-error", policy, "--engine", "dask", "--scheduler", tcp_scheduler)
    assert (code, err) == (local_code, local_err)
    assert out.replace(str(dask), "OUT") == local_out.replace(str(local), "OUT")  # the same summary
    if policy == "reject":
        line = big.read_text().splitlines().index("2,Female,40,,50") + 1
        assert code == 2 and err.startswith(f"error: line {line} is not usable") and not dask.exists()
    else:
        assert code == 0 and dask.read_bytes() == local.read_bytes()


def test_dask_engine_equals_local_engine_with_output_options(cli, local_cluster, tmp_path):
    # A BOM and CRLF in, formulas, extra columns: both engines write the same bytes.
    source = tmp_path / "customers.csv"
    rows = "".join(
        f"{index},{15 + index % 100},{1 + index % 99},{'=1+1' if index % 7 else '-5'}\r\n" for index in range(3_000)
    )
    source.write_bytes("\ufeffid,annual_income,spending_score,=note\r\n".encode() + rows.encode())
    local, dask = tmp_path / "local.csv", tmp_path / "dask.csv"
    options = ("--chunk-rows", "1000", "--extra-columns", "runner_up,description")
    code, _, err = cli(source, local, *options)
    assert code == 0, err
    code, _, err = cli(source, dask, *options, "--engine", "dask", "--scheduler", local_cluster)
    assert code == 0, err
    assert dask.read_bytes() == local.read_bytes()
    assert local.read_bytes().startswith("\ufeffid,annual_income,spending_score,'=note,".encode())


@pytest.mark.parametrize("target", ["dask.parquet", "folder"])
def test_dask_engine_writes_parquet_parts_equal_to_the_local_file(cli, local_cluster, default_data, tmp_path, target):
    big = _big_file(tmp_path, default_data)
    local = tmp_path / "local.parquet"
    assert cli(big, local)[0] == 0
    code, _, err = cli(big, tmp_path / target, "--engine", "dask", "--scheduler", local_cluster)
    assert code == 0, err
    parts = sorted(path.name for path in (tmp_path / target).iterdir())
    assert len(parts) > 1 and parts[0] == "part.00000.parquet"
    assert pq.read_table(tmp_path / target).equals(pq.read_table(local))


@pytest.mark.parametrize("target", ["dask.csv", "dask.parquet"])
def test_dask_engine_explains_and_moves_to_a_target_as_the_local_engine(
    cli, local_cluster, model, default_data, tmp_path, target
):
    # Each partition is scored by the local engine's code: the explanation and change columns come out the same.
    big = _big_file(tmp_path, default_data)
    options = ("--explain", "--target-segment", model.segments[0].name)
    local = tmp_path / f"local{Path(target).suffix}"
    code, local_out, err = cli(big, local, *options)
    assert code == 0, err
    code, out, err = cli(big, tmp_path / target, *options, "--engine", "dask", "--scheduler", local_cluster)
    assert code == 0, err
    assert out.replace(target, "OUT") == local_out.replace(local.name, "OUT")
    if target.endswith(".csv"):
        assert (tmp_path / target).read_bytes() == local.read_bytes()
    else:
        assert len(list((tmp_path / target).iterdir())) > 1
        assert pq.read_table(tmp_path / target).equals(pq.read_table(local))
    header = pq.read_table(local).column_names if target.endswith(".parquet") else local.read_text().split("\n")[0]
    assert "confidence_text" in header and "change_spending_score" in header


@pytest.mark.parametrize("tail", ['3,4,"x"\n5,6,y\n', ""], ids=["closed later", "at the end"])
def test_dask_engine_refuses_a_quote_that_never_closes_as_the_local_engine(cli, local_cluster, tmp_path, tail):
    source = tmp_path / "quote.csv"
    rows = "".join(f"{15 + index},{1 + index},c{index}\n" for index in range(50))
    source.write_text('annual_income,spending_score,name\n1,2,a\n50,50,"never closes\n' + rows + tail)
    local = cli(source, tmp_path / "local.csv")
    dask = cli(source, tmp_path / "out.csv", "--engine", "dask", "--scheduler", local_cluster)
    assert dask == local
    assert local[0] == 2 and local[2].startswith("error: line 3: a quote in column 'name' opens a value")


def test_dask_engine_refuses_a_windows_1252_file_at_the_same_line_as_the_local_engine(cli, local_cluster, tmp_path):
    source = tmp_path / "crm.csv"
    source.write_bytes((WIN_HEADER + WIN_GOOD + "6001,20,Müller\n").encode("cp1252"))
    local = cli(source, tmp_path / "local.csv")
    dask = cli(source, tmp_path / "out.csv", "--engine", "dask", "--scheduler", local_cluster)
    assert dask == local
    assert local[0] == 2 and local[2].strip() == f"error: the file {windows_1252_problem(6_002)}"


def test_dask_engine_starts_a_local_cluster_and_rejects_cleanly(cli, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(BAD_FILE)
    code, _, err = cli(source, tmp_path / "out.csv", "--engine", "dask", "--on-error", "reject")
    assert code == 2
    assert err.strip() == (
        "error: line 3 is not usable: missing Annual Income (k$); fix it, or score with --on-error flag or "
        "--on-error skip"
    )
    assert list(tmp_path.iterdir()) == [source]  # nothing half-written


def test_scheduler_needs_the_dask_engine(cli, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(BAD_FILE)
    code, _, err = cli(source, tmp_path / "out.csv", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and err.strip() == "error: --scheduler needs --engine dask"


@pytest.mark.parametrize(
    ("target", "semicolon"), [("scored.csv", False), ("scored.parquet", False), ("scored.csv", True)]
)
def test_dask_engine_flags_transactions_customers_as_the_local_engine(
    run_cli, local_cluster, tmp_path, target, semicolon
):
    from app.models.segmentations.catalog import SegmentationCatalog
    from app.models.segmentations.spec import SegmentationSpec
    from app.models.segmentations.training import train_segmentation
    from app.models.synthetic_transactions import write_transactions

    root = tmp_path / "models"
    catalog = SegmentationCatalog(root)
    catalog.create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    transactions, _ = write_transactions(tmp_path / "t.csv", customers=200, seed=2)
    train_segmentation(catalog.get("rfm"), transactions, models_root=root, k=3, activate=True)
    source = tmp_path / "bad.csv"
    text = b"InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10.5\n2,B,2025-13-45,10\n3,C,2025-01-02,\n"
    source.write_bytes(excel_style(text) if semicolon else text)
    score = ("score", "--segmentation", "rfm", "--model-dir", root, source)
    local, dask = tmp_path / "local" / target, tmp_path / "dask" / target
    local.parent.mkdir()
    dask.parent.mkdir()
    code, _, err = run_cli(*score, local, "--quiet")
    assert code == 0, err
    code, out, err = run_cli(*score, dask, "--quiet", "--engine", "dask", "--scheduler", local_cluster)
    assert code == 0, err
    assert "bad rows: 2 (2 flagged, 0 skipped)" in out
    if target.endswith(".csv"):
        labelled = local.read_bytes()
        assert dask.read_bytes() == labelled
        if semicolon:  # written as the transactions were: `;`, CRLF, a BOM and decimal commas
            assert labelled.startswith(b"\xef\xbb\xbfcustomer_id;recency_days;") and b";10,5;" in labelled
            assert labelled.count(b"\r\n") == labelled.count(b"\n") == 4
        rows = io.StringIO(labelled.decode("utf-8-sig"), newline="")
        errors = [row["error"] for row in csv.DictReader(rows, delimiter=";" if semicolon else ",")]
    else:
        assert pq.read_table(dask).equals(pq.read_table(local))
        errors = pq.read_table(local).column("error").to_pylist()
    assert errors[1:] == [
        "no usable transaction: InvoiceDate is not a readable date",
        "no usable transaction: missing Amount",
    ]
