"""`python -m app.cli`'s contract for any command: one line on stderr and an exit code, whatever went wrong."""

import sys

import pytest

from app.cli.__main__ import one_line


@pytest.mark.parametrize("command", [("db", "upgrade"), ("users", "list")])
def test_an_unreachable_database_is_one_line_without_its_password(run_cli, monkeypatch, command):
    # SQLAlchemy's error is three lines: the driver's message, its hint, and a link to SQLAlchemy's pages.
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://segments:DBSECRET@127.0.0.1:1/segments")
    code, out, err = run_cli(*command)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: OperationalError: ") and "Connection refused" in err
    assert "DBSECRET" not in err and "sqlalche.me" not in err


def test_one_line_joins_lines_and_hides_a_quoted_password():
    text = 'could not parse "postgresql://app:s3cret@db/x"\n\tcheck it\n(Background on this error at: https://x)\n'
    assert one_line(text) == 'could not parse "postgresql://app:***@db/x" check it'


def test_a_broken_pipe_other_than_the_output_is_an_error_line(run_cli, monkeypatch):
    # Only stdout's reader going away ends quietly: a pipe the command itself writes is a failure to report.
    def failing(**_):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("app.services.lifecycle.list_versions", failing)
    code, out, err = run_cli("models", "list")
    assert code == 1 and out == "" and err == "error: BrokenPipeError: [Errno 32] Broken pipe\n"


def test_the_outputs_reader_gone_in_process_ends_quietly_without_a_descriptor(run_cli, monkeypatch, capsys):
    # pytest's capture has no file descriptor: the quiet ending must not fail on it with a traceback.
    def closed(*_):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(type(sys.stdout), "write", closed)
    code, _, err = run_cli("models", "list")
    assert code == 141 and err == ""
