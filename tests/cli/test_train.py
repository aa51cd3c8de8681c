"""`python -m app.cli train`: a new version and its summary, or one line and exit 2 for bad input."""

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from app.cli.train import summary
from app.core.config import PROJECT_ROOT
from app.models.versions.store import VersionStore
from tests.api.test_columns_read_alike import HEADER as TWO_IDS_HEADER
from tests.api.test_columns_read_alike import MESSAGE as TWO_IDS_MESSAGE
from tests.api.test_columns_read_alike import ROWS as TWO_IDS_ROWS

TWO_IDS = TWO_IDS_HEADER + "\n" + TWO_IDS_ROWS


def test_train_cli_adds_a_version_and_prints_its_summary(run_cli, default_data, tmp_path):
    root = tmp_path / "models_artifacts"
    code, out, err = run_cli(
        "train", "--data", default_data, "--output-dir", root, "--processed-dir", tmp_path, "--quiet"
    )
    assert code == 0, err
    [version] = VersionStore(root).versions()
    assert f"Version {version} written to {root / version} and activated" in out
    assert "VIP / Whale" in out and "silhouette" in out
    assert VersionStore(root).history()[-1]["reason"].startswith("trained from the CLI")


@pytest.mark.parametrize("option", ["--model-dir", "--output-dir"])
def test_train_cli_takes_the_models_folder_by_either_name(run_cli, default_data, tmp_path, option):
    root = tmp_path / "models_artifacts"
    code, _, err = run_cli("train", "--data", default_data, option, root, "--no-sweep", "--k", "3", "--quiet")
    assert code == 0, err
    assert len(VersionStore(root).versions()) == 1


def test_train_cli_help_names_the_models_folder_model_dir_like_every_command(run_cli, capsys):
    with pytest.raises(SystemExit) as stop:
        run_cli("train", "--help")
    assert stop.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--model-dir MODEL_DIR, --output-dir MODEL_DIR models folder (default: MODEL_DIR)" in help_text
    assert "--output-dir is its older name" in help_text


def test_train_cli_reports_bad_data_in_one_line(run_cli, tmp_path):
    data = tmp_path / "bad.csv"
    data.write_bytes(b"name,city\nann,paris\n")
    code, out, err = run_cli("train", "--data", data, "--output-dir", tmp_path / "m", "--processed-dir", tmp_path)
    assert code == 2
    assert out == "" and err.count("\n") == 1 and err.startswith("error: ") and "missing required column" in err
    assert VersionStore(tmp_path / "m").versions() == []


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_train_cli_given_a_folder_as_the_data_says_so(run_cli, tmp_path, engine):
    # It said "data file not found" of a folder that is there.
    folder = tmp_path / "exports"
    folder.mkdir()
    code, _, err = run_cli("train", "--data", folder, "--model-dir", tmp_path / "m", "--engine", engine)
    assert code == 2 and err == f"error: {folder} is a folder: give the data file in it\n"


def test_train_cli_defaults_to_the_settings(run_cli, default_data, tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_PATH", str(default_data))
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "from-settings"))
    monkeypatch.setenv("PROCESSED_DIR", str(tmp_path / "processed"))
    code, _, err = run_cli("train", "--quiet", "--k", "3")
    assert code == 0, err
    assert len(VersionStore(tmp_path / "from-settings").versions()) == 1
    assert (tmp_path / "processed").is_dir()


def test_train_cli_sweeps_k_by_default(run_cli, default_data, tmp_path):
    root = tmp_path / "models_artifacts"
    code, out, err = run_cli(
        "train", "--data", default_data, "--output-dir", root, "--processed-dir", tmp_path, "--quiet"
    )
    assert code == 0, err
    [version] = VersionStore(root).versions()
    info = VersionStore(root).load(version).info
    assert info["sweep"] is True and [entry["k"] for entry in info["k_selection"]] == list(range(2, 11))
    assert "k selection (silhouette): 2:" in out


def test_train_cli_with_no_sweep_fits_only_the_asked_k(run_cli, default_data, tmp_path):
    root = tmp_path / "models_artifacts"
    code, out, err = run_cli(
        "train", "--data", default_data, "--output-dir", root, "--processed-dir", tmp_path, "--quiet", "--no-sweep"
    )
    assert code == 0, err
    [version] = VersionStore(root).versions()
    info = VersionStore(root).load(version).info
    assert info["sweep"] is False and info["k_selection"] == [] and info["n_clusters"] == 5
    assert "k selection (silhouette): not swept (--no-sweep)" in out


def test_train_cli_with_fewer_distinct_customers_than_k_fails_in_one_line(run_cli, tmp_path):
    data = tmp_path / "three.csv"
    rows = ["20,10", "120,90", "55,50"] * 4
    data.write_text("annual_income,spending_score\n" + "\n".join(rows) + "\n")
    code, out, err = run_cli("train", "--data", data, "--output-dir", tmp_path / "m", "--processed-dir", tmp_path)
    assert code == 2
    assert out == "" and err == "error: only 3 distinct customers; k must be at most 3\n"


def test_train_cli_drops_and_counts_rows_with_the_wrong_number_of_fields(run_cli, default_data, tmp_path):
    lines = default_data.read_text().splitlines()
    lines[5] += ",extra"
    lines[9] = lines[9].rsplit(",", 1)[0]
    data = tmp_path / "two_bad_rows.csv"
    data.write_text("\n".join(lines) + "\n")
    root = tmp_path / "m"
    code, out, err = run_cli("train", "--data", data, "--output-dir", root, "--processed-dir", tmp_path, "--no-sweep")
    assert code == 0, err
    assert "Dropped rows: 2 wrong number of fields" in out
    info = VersionStore(root).load(VersionStore(root).versions()[0]).info
    assert (info["n_input_rows"], info["n_samples"]) == (200, 198)


def test_train_cli_refuses_rows_with_a_value_more_than_the_header_in_one_line(run_cli, default_data, tmp_path):
    data = tmp_path / "shifted.csv"
    header, *rows = default_data.read_text().splitlines()
    data.write_text("\n".join([header, *(row + ",1" for row in rows)]) + "\n")
    code, out, err = run_cli("train", "--data", data, "--output-dir", tmp_path / "m", "--processed-dir", tmp_path)
    assert code == 2
    assert out == "" and err.count("\n") == 1 and err.startswith("error: ")
    assert "200 of the 200 rows" in err and "line 2 has 6 fields where the header has 5" in err
    assert VersionStore(tmp_path / "m").versions() == []


@pytest.mark.parametrize("seed", ["-1", str(2**31), "many"])
def test_train_cli_refuses_a_seed_out_of_the_apis_bounds_before_training(run_cli, default_data, tmp_path, capsys, seed):
    with pytest.raises(SystemExit) as stopped:
        run_cli("train", "--seed", seed, "--data", default_data, "--output-dir", tmp_path / "m")
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --seed: must be a whole number from 0 to 2147483647" in err and "Error" not in err
    assert VersionStore(tmp_path / "m").versions() == []


def test_train_cli_takes_the_largest_seed_the_api_takes(run_cli, default_data, tmp_path):
    code, _, err = run_cli(
        "train", "--seed", str(2**31 - 1), "--no-sweep", "--data", default_data, "--output-dir", tmp_path / "m"
    )
    assert code == 0, err
    [version] = VersionStore(tmp_path / "m").versions()
    assert VersionStore(tmp_path / "m").load(version).info["random_state"] == 2**31 - 1


def test_train_cli_into_a_folder_it_cannot_write_says_so_in_one_line_naming_its_path(default_data, tmp_path):
    (tmp_path / "a-file").write_text("")
    folder = tmp_path / "a-file" / "models"  # under a file: no folder can be made there, even by root
    env = {**os.environ, "AUTO_TRAIN": "false", "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    finished = subprocess.run(
        [sys.executable, "-m", "app.cli", "train", "--data", default_data, "--model-dir", folder, "--quiet"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert finished.returncode == 2 and finished.stdout == ""
    # One line (no log line before it), and the folder as given, not only its last part.
    assert finished.stderr == (
        f"error: the model folder '{folder}' is not writable (Not a directory); fix its permissions or choose another "
        "with --model-dir / MODEL_DIR\n"
    )


@pytest.mark.parametrize("engine", ["local", "dask"])
@pytest.mark.parametrize("ends", ["header", "rows", "both"])
def test_train_cli_reads_a_header_or_rows_ending_with_the_delimiter(run_cli, default_data, tmp_path, ends, engine):
    header, *rows = default_data.read_text().replace(",", ";").splitlines()
    header += ";" if ends in ("header", "both") else ""
    rows = [row + ";" for row in rows] if ends in ("rows", "both") else rows
    data = tmp_path / "export.csv"
    data.write_text("\r\n".join([header, *rows]) + "\r\n", newline="")
    root = tmp_path / "m"
    code, _, err = run_cli(
        "train", "--data", data, "--output-dir", root, "--processed-dir", tmp_path, "--no-sweep", "--quiet",
        "--engine", engine, *(("--workers", "1") if engine == "dask" else ()),
    )  # fmt: skip
    assert code == 0, err
    info = VersionStore(root).load(VersionStore(root).versions()[0]).info
    assert (info["n_input_rows"], info["n_samples"]) == (200, 200)


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_train_cli_refuses_two_id_columns_naming_both_in_one_line(run_cli, tmp_path, engine):
    data = tmp_path / "two_ids.csv"
    data.write_text(TWO_IDS)
    code, out, err = run_cli(
        "train", "--data", data, "--output-dir", tmp_path / "m", "--processed-dir", tmp_path, "--engine", engine,
        *(("--workers", "1") if engine == "dask" else ()),
    )  # fmt: skip
    assert (code, out, err) == (2, "", f"error: {TWO_IDS_MESSAGE}\n")


def test_train_cli_summary_keeps_its_columns_under_a_long_segment_name():
    long_name = "Low Income · Low Visits · Low Tenure (2)"
    segments = [
        SimpleNamespace(segment_id=5, name="High Visits", size=100, share=0.5, centroid={"visits": 11.0}),
        SimpleNamespace(segment_id=6, name=long_name, size=100, share=0.5, centroid={"visits": 4.0}),
    ]
    info = {
        "feature_labels": {"visits": "Visits"},
        "algorithm": "KMeans",
        "n_samples": 200,
        "metrics": {"silhouette": 0.5, "davies_bouldin": 0.5, "calinski_harabasz": 10.0, "inertia": 1.0},
        "k_selection": [],
    }
    model = SimpleNamespace(info=info, features=["visits"], segments=segments, n_clusters=2, version="v1")
    result = SimpleNamespace(model=model, output_dir="out", activated=True, processed_path=None)

    lines = summary(result).splitlines()
    header = next(line for line in lines if line.lstrip().startswith("id"))
    rows = [line for line in lines if line.lstrip().startswith(("5 ", "6 "))]
    assert len(rows) == 2
    assert {len(row) for row in rows} == {len(header)}
    assert {row.index("100") for row in rows} == {header.index("size") + len("size") - 3}
