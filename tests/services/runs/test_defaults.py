"""Where runs live by default: in the project's data folder (kept over a reboot, like the database), never committed."""

from app.core.config import PROJECT_ROOT, Settings
from app.services.runs.store import runs_dir


def test_runs_live_under_the_projects_data_folder_by_default_and_git_ignores_them(monkeypatch):
    monkeypatch.delenv("SCORE_RESULTS_DIR", raising=False)
    folder = runs_dir(Settings(_env_file=None).score_results_dir)
    assert folder.is_relative_to(PROJECT_ROOT / "data")
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert any(
        folder.relative_to(PROJECT_ROOT).is_relative_to(line.strip("/")) for line in ignored if line.startswith("data/")
    )


def test_a_relative_results_folder_is_under_the_project(monkeypatch):
    monkeypatch.setenv("SCORE_RESULTS_DIR", "data/elsewhere")
    assert Settings(_env_file=None).score_results_dir == PROJECT_ROOT / "data" / "elsewhere"
