"""train_model.py (the shim over `python -m app.cli train`) as a user runs it: a summary, or one line and exit 2."""

import subprocess
import sys

import pytest

from app.core.config import PROJECT_ROOT
from app.models.versions.store import VersionStore

pytestmark = pytest.mark.slow


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "train_model.py", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )


def test_cli_trains_and_prints_summary(default_data, tmp_path):
    result = _run("--data", str(default_data), "--output-dir", str(tmp_path / "m"), "--processed-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for name in ("Average Customer", "VIP / Whale", "Young Trendsetter", "High Earner Saver", "Budget Conscious"):
        assert name in result.stdout
    assert "silhouette" in result.stdout
    store = VersionStore(tmp_path / "m")
    [version] = store.versions()
    assert store.active_version() == version and f"Version {version}" in result.stdout
    assert sorted(p.name for p in (tmp_path / "m" / version).iterdir()) == [
        "kmeans_model.pkl",
        "manifest.json",
        "model_info.json",
        "scaler.pkl",
    ]
    assert "k sweep" in result.stderr  # the tqdm progress bar
    again = _run("--data", str(default_data), "--output-dir", str(tmp_path / "m"), "--quiet")
    assert again.returncode == 0, again.stderr
    assert len(store.versions()) == 2 and store.active_version() == version  # not activated without --activate
    third = _run("--data", str(default_data), "--output-dir", str(tmp_path / "m"), "--activate", "--quiet")
    assert third.returncode == 0
    assert store.active_version() == store.versions()[-1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x00\x01\x02binary", "not a CSV"),
        (b"name,city\nann,paris\n", "missing required column"),
        (
            b"CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n1,Male,20,30,40\n",
            "at least 6 are needed",
        ),
    ],
)
def test_cli_reports_bad_data_in_one_line(tmp_path, content, message):
    data = tmp_path / "bad.csv"
    data.write_bytes(content)
    result = _run("--data", str(data), "--output-dir", str(tmp_path / "m"), "--processed-dir", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert message in result.stderr
    assert VersionStore(tmp_path / "m").versions() == []


def test_cli_rejects_bad_k(tmp_path):
    result = _run("--k", "many", "--output-dir", str(tmp_path / "m"))
    assert result.returncode == 2
    assert "must be 'auto' or a whole number" in result.stderr
    assert _run("--k", "1_0", "--output-dir", str(tmp_path / "m")).returncode == 2


def test_cli_on_dask_without_dask_installed_says_how_to_install_it(default_data, tmp_path):
    # train_model.py run as a user runs it, in a Python where `import distributed` fails (setup.sh run's packages).
    script = (
        "import runpy, sys; sys.modules['distributed'] = None; sys.argv = ['train_model.py', *sys.argv[1:]]; "
        "runpy.run_path('train_model.py', run_name='__main__')"
    )
    args = ["--engine", "dask", "--data", str(default_data), "--output-dir", str(tmp_path / "m")]
    result = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: the Dask engine is not installed") and result.stderr.count("\n") == 1
    assert "pip install -r requirements-dask.txt" in result.stderr
    assert VersionStore(tmp_path / "m").versions() == []
