"""`python -m app.cli models ...` does what the API does, on the local folder."""

import errno
import os
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from app.core.config import PROJECT_ROOT
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services import lifecycle
from app.services.lifecycle import MAX_REASON_LENGTH
from app.services.training.launch import job_environment
from app.services.training.store import JobStore, read_job


def test_models_cli_lists_activates_rolls_back_and_deletes(run_cli, two_versions):
    root, first, second = two_versions

    def models(*args: str) -> tuple[int, str, str]:
        return run_cli("models", "--model-dir", root, *args)

    code, out, _ = models("list")
    assert code == 0 and f"* {first}" in out and f"  {second}" in out
    assert models("show", second)[0] == 0
    assert models("activate", second, "--reason", "cli test")[0] == 0
    assert VersionStore(root).active_version() == second
    code, _, err = models("delete", second)
    assert code == 2 and err.startswith("error: ") and "is active" in err
    assert models("rollback")[0] == 0
    assert VersionStore(root).active_version() == first
    code, out, _ = models("history")
    assert "cli test" in out and f"{second} -> {first}" in out
    assert models("delete", second)[0] == 0
    assert VersionStore(root).versions() == [first]
    # Each change is in the audit trail, made by the command line's user.
    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as connection:
        audited = connection.execute(text("SELECT who, action, target FROM audit_events ORDER BY id")).all()
    engine.dispose()
    assert [(action, target) for _, action, target in audited] == [
        ("version.activate", second), ("version.rollback", first), ("version.delete", second),
    ]  # fmt: skip
    assert all(who.startswith("cli:") for who, _, _ in audited)
    code, _, err = models("show", "nope")
    assert code == 2 and "no model version" in err


def test_models_cli_caps_a_long_reason_like_the_api(run_cli, two_versions, tmp_path):
    root, _, second = two_versions
    api_root = tmp_path / "api" / "models_artifacts"
    shutil.copytree(root, api_root)
    reason = "why " * 100  # 400 characters

    assert run_cli("models", "--model-dir", root, "activate", second, "--reason", reason)[0] == 0
    assert run_cli("models", "--model-dir", root, "rollback", "--reason", reason)[0] == 0
    # The same two changes as the API makes them, on a copy of the folder.
    registry = ModelRegistry(VersionStore(api_root)).load()
    lifecycle.activate(registry=registry, version=second, reason=reason, key="key-api")
    lifecycle.rollback(registry=registry, reason=reason, key="key-api")

    from_cli = [entry["reason"] for entry in VersionStore(root).history()[-2:]]
    from_api = [entry["reason"] for entry in VersionStore(api_root).history()[-2:]]
    assert from_cli == from_api == [reason[:MAX_REASON_LENGTH]] * 2


# Runs a job's process as launch.py does, noting the job's recorded state when numpy, pandas or scikit-learn is
# first imported.
_RUN_JOB_NOTING_THE_STATE = """
import json, sys
from pathlib import Path

job = Path(sys.argv[3]) / "job.json"
HEAVY = {"numpy", "pandas", "sklearn", "scipy"}


class FirstHeavyImport:
    seen = False

    def find_spec(self, name, path=None, target=None):
        if not self.seen and name.split(".")[0] in HEAVY:
            self.seen = True
            print("state at the first heavy import:", json.loads(job.read_text())["state"], flush=True)


sys.meta_path.insert(0, FirstHeavyImport())
from app.cli.__main__ import main

sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_run_job_records_running_before_any_heavy_import(make_settings, default_data, tmp_path):
    settings = make_settings(model_dir=tmp_path / "models_artifacts", data_path=default_data)
    request = {
        "k": 2, "features": ["annual_income", "spending_score"], "seed": 1, "sweep": False, "activate": False,
        "key_id": "", "request_id": None, "data_file": None,
    }  # fmt: skip
    _, folder = JobStore(settings.job_root).create(request)
    result = subprocess.run(
        [sys.executable, "-c", _RUN_JOB_NOTING_THE_STATE, "models", "run-job", str(folder)],
        cwd=PROJECT_ROOT,
        env=job_environment(settings=settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "state at the first heavy import: running"
    assert read_job(folder)["state"] == "succeeded"


def test_a_refused_setting_is_one_line_naming_it_and_exit_2(run_cli, monkeypatch):
    # It used to be "error: ValidationError: 1 validation error for Settings" and the rest of pydantic's text.
    monkeypatch.setenv("ADMIN_API_KEYS", '["short-SECRET"]')
    monkeypatch.setenv("PREDICTION_LOG_SAMPLE", "2")
    code, out, err = run_cli("models", "list")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)
    assert any("ADMIN_API_KEYS" in line for line in lines) and any("PREDICTION_LOG_SAMPLE" in line for line in lines)
    assert "short-SECRET" not in err and "Traceback" not in err


def test_models_help_lists_no_hidden_action(run_cli, capsys):
    with pytest.raises(SystemExit) as stopped:
        run_cli("models", "--help")
    out = capsys.readouterr().out
    assert stopped.value.code == 0 and "history" in out
    assert "run-job" not in out and "SUPPRESS" not in out  # a training job's own command, not one to type


def test_models_history_says_a_first_activation_had_none_before_and_no_key(run_cli, two_versions):
    root, first, second = two_versions
    assert run_cli("models", "--model-dir", root, "activate", second, "--reason", "cli test")[0] == 0
    code, out, _ = run_cli("models", "--model-dir", root, "history")
    assert code == 0
    trained, activated = out.splitlines()
    assert f"  (none) -> {first}  " in trained and "None" not in trained and "key=" not in trained
    assert activated.endswith(f"  {first} -> {second}  key=cli  cli test")


def test_models_activate_says_none_was_active_rather_than_none(run_cli, two_versions):
    root, _, second = two_versions
    (root / "ACTIVE").unlink()
    code, out, _ = run_cli("models", "--model-dir", root, "activate", second)
    assert code == 0 and out.strip() == f"active: {second} (was none)"


@pytest.mark.parametrize("reason", ["spring\nBcc: x@example.com", "tab\there", "zero\u200bwidth"])
def test_models_cli_refuses_a_reason_that_is_not_one_line_of_visible_text_like_the_api(
    run_cli, two_versions, capsys, reason
):
    root, first, second = two_versions
    for args in (("activate", second, "--reason", reason), ("rollback", "--reason", reason)):
        # argparse refuses it while parsing: exit 2 with the usage line, before any store is opened.
        with pytest.raises(SystemExit) as stopped:
            run_cli("models", "--model-dir", root, *args)
        assert stopped.value.code == 2 and "must be one line of visible text" in capsys.readouterr().err
    assert VersionStore(root).active_version() == first


def test_models_cli_lists_a_folder_it_cannot_write_and_refuses_to_change_it(run_cli, two_versions, monkeypatch):
    # `models list` took the folder's lock for its housekeeping: on a read-only mount, or as another user than the
    # server's, it failed with "Permission denied: .../.lock" where a listing needs only to read.
    root, first, second = two_versions

    def read_only(store: VersionStore) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(store.root / ".lock"))

    monkeypatch.setattr(VersionStore, "prepare", read_only)
    code, out, err = run_cli("models", "--model-dir", root, "list")
    assert code == 0, err
    assert f"* {first}" in out and f"  {second}" in out
    assert run_cli("models", "--model-dir", root, "show", second)[0] == 0
    assert run_cli("models", "--model-dir", root, "history")[0] == 0
    code, _, err = run_cli("models", "--model-dir", root, "activate", second)
    assert code == 1 and err.startswith("error: PermissionError: ") and err.count("\n") == 1
    assert VersionStore(root).active_version() == first


@pytest.mark.parametrize("action", [("list",), ("history",), ("show", "v1"), ("activate", "v1"), ("rollback",)])
def test_models_cli_refuses_a_models_folder_that_does_not_exist_in_one_line(run_cli, tmp_path, action):
    # A typo in the folder used to list as "no model versions" and exit 0, and rollback created the folder.
    missing = tmp_path / "modles_artifacts"
    code, out, err = run_cli("models", "--model-dir", missing, *action)
    assert code == 2 and out == ""
    assert err == f"error: the models folder '{missing}' (--model-dir) does not exist\n"
    assert not missing.exists()


def test_models_cli_names_modeldir_when_the_setting_is_the_missing_folder(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "nowhere"))
    code, out, err = run_cli("models", "list")
    assert code == 2 and out == ""
    assert err == f"error: the models folder '{tmp_path / 'nowhere'}' (MODEL_DIR) does not exist\n"


def test_models_cli_refuses_a_file_given_as_the_models_folder(run_cli, tmp_path):
    (tmp_path / "models.csv").write_text("")
    code, _, err = run_cli("models", "--model-dir", tmp_path / "models.csv", "list")
    assert code == 2 and err.endswith("(--model-dir) is not a folder\n")


def test_models_cli_lists_an_empty_models_folder_as_no_versions(run_cli, tmp_path):
    code, out, err = run_cli("models", "--model-dir", tmp_path, "list")
    assert code == 0, err
    assert out == "no model versions\n"


def test_models_cli_takes_the_model_dir_after_the_action_too(run_cli, two_versions):
    root, first, second = two_versions
    code, out, err = run_cli("models", "list", "--model-dir", root)
    assert code == 0, err
    assert f"* {first}" in out and f"  {second}" in out
    assert run_cli("models", "activate", second, "--model-dir", root)[0] == 0
    assert VersionStore(root).active_version() == second


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(model_dir, tmp_path):
    # `models list | head -1`: the pipe's reader goes away; a shell tool ends quietly, not "error: BrokenPipeError".
    env = {**os.environ, "MODEL_DIR": str(model_dir), "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes a line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "models", "list"], cwd=PROJECT_ROOT, env=env, stdout=write,
            stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 141
