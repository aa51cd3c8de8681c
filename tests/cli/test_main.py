"""`python -m app.cli`'s contract for any command: one line on stderr and an exit code, whatever went wrong."""

import argparse
import sys

import pytest

from app.cli.__main__ import COMMANDS, build_parser, one_line


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


def _undocumented(parser, path: str):
    """Every argument and listed sub-command under `parser` that `--help` shows without a word about it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if name in listed:  # an unlisted one (`models run-job`) is a process of the app's, not to type
                    yield from [f"{path} {name}"] if not listed[name] else _undocumented(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction) and not action.help:
            yield f"{path} {'/'.join(action.option_strings) or action.dest}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_argument_of_a_command_says_what_it_is(command):
    [group] = [action for action in build_parser(command)._actions if isinstance(action, argparse._SubParsersAction)]
    assert list(_undocumented(group.choices[command], command)) == []
