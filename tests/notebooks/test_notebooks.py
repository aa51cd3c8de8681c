"""Both notebooks run top to bottom with a real kernel, write what they promise, and agree with train_model.py."""

import json
import os
import subprocess
import sys

import pytest

from app.core.config import PROJECT_ROOT
from app.models.versions.store import VersionStore

NOTEBOOKS = PROJECT_ROOT / "notebooks"
NAMES = ["01_eda_preprocessing.ipynb", "02_modeling_evaluation.ipynb"]


@pytest.fixture(scope="module")
def executed(tmp_path_factory, default_data):
    """Both notebooks executed in order, with processed output sent to a temporary folder."""
    # Imported here: nbformat's schema validation costs seconds at import, which collection should not pay.
    import nbformat
    from nbclient import NotebookClient

    processed = tmp_path_factory.mktemp("processed")
    previous = {key: os.environ.get(key) for key in ("DATA_PATH", "PROCESSED_DIR")}
    # The kernel inherits this environment, so the notebooks' get_settings() sees these paths.
    os.environ.update({"DATA_PATH": str(default_data), "PROCESSED_DIR": str(processed)})
    try:
        notebooks = {}
        for name in NAMES:
            notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
            NotebookClient(
                notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
            ).execute()
            notebooks[name] = notebook
        yield notebooks, processed
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _errors(notebook) -> list[str]:
    return [
        output.get("ename", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


@pytest.mark.slow
def test_notebooks_run_without_errors_and_draw_figures(executed):
    notebooks, _ = executed
    for name, notebook in notebooks.items():
        assert _errors(notebook) == [], name
        images = sum(
            "image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", [])
        )
        assert images >= 3, f"{name} drew {images} figures"


@pytest.mark.slow
def test_eda_writes_the_processed_csv(executed, default_data):
    _, processed = executed
    path = processed / f"{default_data.stem}_processed.csv"
    assert path.is_file()
    header = path.read_text().splitlines()[0]
    assert header == "customer_id,gender,age,annual_income,spending_score"
    assert len(path.read_text().splitlines()) == 201


@pytest.mark.slow
def test_modeling_notebook_agrees_with_train_model(executed, default_data, tmp_path):
    notebooks, _ = executed
    summary_cell = next(cell for cell in notebooks[NAMES[1]].cells if "summary" in cell.metadata.get("tags", []))
    summary = json.loads("".join(output["text"] for output in summary_cell.outputs if output.output_type == "stream"))
    result = subprocess.run(
        [
            sys.executable,
            "train_model.py",
            "--data",
            str(default_data),
            "--output-dir",
            str(tmp_path / "m"),
            "--processed-dir",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [version] = VersionStore(tmp_path / "m").versions()
    info = json.loads((tmp_path / "m" / version / "model_info.json").read_text())
    assert summary["chosen_k"] == info["n_clusters"]
    assert summary["segment_names"] == [
        segment["name"] for segment in sorted(info["segments"], key=lambda s: s["segment_id"])
    ]


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_committed_without_outputs(name):
    notebook = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{name} has outputs; clear them before committing"
            )
    assert (NOTEBOOKS / name).stat().st_size < 40_000
