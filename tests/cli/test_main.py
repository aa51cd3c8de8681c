"""`python -m app.cli`'s contract for any command: one line on stderr and an exit code, whatever went wrong."""

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
