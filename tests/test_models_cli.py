"""`python -m app.cli models ...` does what the API does, on the local folder."""

import shutil
import subprocess
import sys

import pytest

from app.core.config import PROJECT_ROOT
from app.models.store import VersionStore
from app.models.training import train

# Each command starts a Python process that imports the app: about a second apiece.
pytestmark = pytest.mark.slow


def _cli(root, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "models", "--model-dir", str(root), *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_models_cli_lists_activates_rolls_back_and_deletes(model_dir, default_data, tmp_path):
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    first = VersionStore(root).active_version()
    second = train(default_data, output_dir=root, seed=3).model.version
    listed = _cli(root, "list")
    assert listed.returncode == 0 and f"* {first}" in listed.stdout and f"  {second}" in listed.stdout
    assert _cli(root, "show", second).returncode == 0
    assert _cli(root, "activate", second, "--reason", "cli test").returncode == 0
    assert VersionStore(root).active_version() == second
    refused = _cli(root, "delete", second)
    assert refused.returncode == 2 and refused.stderr.startswith("error: ") and "is active" in refused.stderr
    assert _cli(root, "rollback").returncode == 0
    assert VersionStore(root).active_version() == first
    history = _cli(root, "history")
    assert "cli test" in history.stdout and f"{second} -> {first}" in history.stdout
    assert _cli(root, "delete", second).returncode == 0
    assert VersionStore(root).versions() == [first]
    unknown = _cli(root, "show", "nope")
    assert unknown.returncode == 2 and "no model version" in unknown.stderr
