"""`python -m app.cli users create`: the first admin, from the server, on a database it migrates first."""

import io
import subprocess
import sys

import pytest
from sqlalchemy import inspect, text

from app.core.config import PROJECT_ROOT
from app.core.credentials import verify_password
from app.db.session import create_db_engine, session_factory
from app.db.tables import User


def _users(url: str) -> list[User]:
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.query(User))
    finally:
        engine.dispose()


def test_create_reads_the_password_from_stdin_on_a_new_database(run_cli, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    code, out, err = run_cli("users", "create", "--email", "Root@Example.com", "--role", "admin", "--password-stdin")
    assert code == 0, err
    assert "admin root@example.com" in out and "password" not in out
    [user] = _users(url)
    assert user.role == "admin" and user.email == "root@example.com"
    assert user.password_hash.startswith("$argon2id$") and verify_password("a long enough password", user.password_hash)
    engine = create_db_engine(url)
    with engine.connect() as connection:
        audited = connection.execute(text("SELECT who, action, target, detail FROM audit_events")).all()
    engine.dispose()
    assert [(row.action, row.target) for row in audited] == [("user.create", "root@example.com")]
    assert audited[0].who.startswith("cli:") and "password" not in str(audited[0].detail)


def test_create_prompts_twice_and_refuses_two_different_passwords(run_cli, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    answers = iter(["first password!!", "second password!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = run_cli("users", "create", "--email", "a@example.com")
    assert code == 2 and "differ" in err
    assert "users" not in inspect(create_db_engine(url)).get_table_names() or _users(url) == []


def test_create_refuses_a_short_password_and_a_taken_email(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.sqlite3'}")
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code, _, err = run_cli("users", "create", "--email", "a@example.com", "--password-stdin")
    assert code == 2 and "at least 10" in err
    for expected in (0, 2):
        monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
        code, _, err = run_cli("users", "create", "--email", "a@example.com", "--password-stdin")
        assert code == expected, err
    assert "exists already" in err


def test_cli_user_can_sign_in_to_the_server(tmp_path, client_for, fresh_dir):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "users",
            "create",
            "--email",
            "ops@example.com",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    from tests.accounts import sign_in

    client = client_for(model_dir=fresh_dir, database_url=url)
    sign_in(client, "ops@example.com", "a long enough password")
    assert "ops@example.com" in client.get("/models").text


def test_set_password_reads_stdin_ends_sessions_and_is_audited(run_cli, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert run_cli("users", "create", "--email", "ops@example.com", "--password-stdin")[0] == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("the new long password\n"))
    code, out, err = run_cli("users", "set-password", "OPS@example.com", "--password-stdin")
    assert code == 0, err
    assert "ops@example.com" in out and "the new long password" not in out
    [user] = _users(url)
    assert verify_password("the new long password", user.password_hash)
    engine = create_db_engine(url)
    with engine.connect() as connection:
        audited = connection.execute(text("SELECT who, action, target FROM audit_events")).all()
    engine.dispose()
    assert [(row.action, row.target) for row in audited][-1] == ("user.password_set", "ops@example.com")


def test_set_password_prompts_twice_and_refuses_an_unknown_user_or_a_short_password(run_cli, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert run_cli("users", "create", "--email", "ops@example.com", "--password-stdin")[0] == 0
    answers = iter(["first password!!", "second password!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = run_cli("users", "set-password", "ops@example.com")
    assert code == 2 and "differ" in err and "unchanged" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    code, _, err = run_cli("users", "set-password", "who@example.com", "--password-stdin")
    assert code == 2 and "no user" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code, _, err = run_cli("users", "set-password", "ops@example.com", "--password-stdin")
    assert code == 2 and "at least 10" in err
    [user] = _users(url)
    assert verify_password("a long enough password", user.password_hash)


@pytest.mark.parametrize("command", [("create", "--email", "ops@example.com"), ("set-password", "ops@example.com")])
def test_without_a_terminal_the_password_prompt_is_one_line_pointing_to_stdin(tmp_path, command):
    # Run with no controlling terminal, as `kubectl exec` without -t: getpass warned the password would be echoed,
    # then read the empty standard input and ended in "error: EOFError: " with exit 1.
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "users", *command],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
        start_new_session=True, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: no terminal to type the password on: pipe it in with --password-stdin")


def test_create_refuses_a_name_of_two_lines_naming_the_option(run_cli, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    code, out, err = run_cli(
        "users", "create", "--email", "ana@example.com", "--name", "Ana\nadmin", "--password-stdin"
    )
    assert code == 2 and out == ""
    assert err.startswith("error: --name: must be one line of visible text") and "U+000A" in err
    assert _users(url) == []
