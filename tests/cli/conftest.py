"""CLI fixtures: `python -m app.cli` run in-process, with its exit code and output."""

import logging
from collections.abc import Callable, Iterator

import pytest

from app.cli.__main__ import main
from app.core.config import get_settings

CliRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_cli(model_dir, monkeypatch, capsys, tmp_path) -> Iterator[CliRun]:
    """Run `python -m app.cli ARGS` in-process against the session's model; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    # Changes are audited in the database: the test's own, never the project's data folder.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("AUTO_TRAIN", "false")
    get_settings.cache_clear()
    # The "app" logger as a command's own process has it (none of the handlers an app made in this process set up),
    # so that a test's server logs nothing into the command's stderr.
    monkeypatch.setattr(logging.getLogger("app"), "handlers", [])
    monkeypatch.setattr(logging.getLogger("app"), "level", logging.NOTSET)

    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()  # what came before (a test's server answering) is not the command's
        code = main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    get_settings.cache_clear()
