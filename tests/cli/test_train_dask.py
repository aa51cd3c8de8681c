"""`python -m app.cli train --engine dask`: the same command and summary, trained on a Dask cluster."""

import sys

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from app.models.versions.store import VersionStore


@pytest.fixture
def parquet_data(default_data, tmp_path):
    """The default dataset as Parquet."""
    path = tmp_path / "customers.parquet"
    pq.write_table(pa_csv.read_csv(default_data), path, row_group_size=64)
    return path


def test_train_cli_on_dask_trains_a_parquet_file_on_a_local_cluster(run_cli, parquet_data, tmp_path):
    root = tmp_path / "models_artifacts"
    code, out, err = run_cli(
        "train", "--engine", "dask", "--workers", "1", "--data", parquet_data, "--output-dir", root, "--quiet"
    )
    assert code == 0, err
    [version] = VersionStore(root).versions()
    info = VersionStore(root).load(version).info
    assert info["engine"] == "dask" and info["n_samples"] == 200 and info["data_file"] == "customers.parquet"
    assert f"on 200 customers on Dask in {info['n_iter']} passes (version {version})" in out
    assert "VIP / Whale" in out and "Cleaned data written" not in out


@pytest.mark.parametrize("option", [["--scheduler", "tcp://127.0.0.1:8786"], ["--workers", "3"]])
def test_train_cli_refuses_dask_options_without_the_dask_engine(run_cli, default_data, tmp_path, option):
    code, out, err = run_cli("train", "--data", default_data, "--output-dir", tmp_path / "m", *option)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "need --engine dask" in err and err.count("\n") == 1
    assert VersionStore(tmp_path / "m").versions() == []


def test_train_cli_on_dask_reports_bad_data_in_one_line(run_cli, tmp_path):
    data = tmp_path / "bad.csv"
    data.write_bytes(b"name,city\nann,paris\n")
    code, out, err = run_cli("train", "--engine", "dask", "--data", data, "--output-dir", tmp_path / "m")
    assert code == 2
    assert out == "" and err.count("\n") == 1 and "missing required column" in err


@pytest.mark.parametrize("package", ["dask", "distributed"])
def test_train_cli_on_dask_without_dask_installed_says_how_to_install_it(
    run_cli, default_data, tmp_path, monkeypatch, package
):
    monkeypatch.setitem(sys.modules, package, None)  # as after `bash setup.sh run`, without requirements-dask.txt
    code, out, err = run_cli("train", "--engine", "dask", "--data", default_data, "--output-dir", tmp_path / "m")
    assert code == 2 and out == ""
    assert err.startswith("error: the Dask engine is not installed") and err.count("\n") == 1
    assert "pip install -r requirements-dask.txt" in err
    assert VersionStore(tmp_path / "m").versions() == []
