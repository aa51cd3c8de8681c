"""Database settings: the default SQLite file, an empty DATABASE_URL, a password of its own, and the URL never
shown."""

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.core.config import DEFAULT_DATABASE_URL, PROJECT_ROOT, Settings
from app.core.setting_errors import settings_problems
from app.db.session import create_db_engine

# Every character a URL gives a meaning to, and a secret file's line end.
ODD_PASSWORD = "p@ss:w/rd%40#?&="


def test_default_database_is_a_sqlite_file_under_data():
    settings = Settings(_env_file=None)
    assert settings.database_url.get_secret_value() == DEFAULT_DATABASE_URL
    expected = f"sqlite:///{PROJECT_ROOT / 'data' / 'prediction_log.sqlite3'}"
    assert expected == DEFAULT_DATABASE_URL
    assert (settings.prediction_log_enabled, settings.prediction_log_sample) == (True, 1.0)
    assert settings.prediction_log_retention_days == 30


def test_empty_database_url_means_the_default(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "")
    assert Settings(_env_file=None).database_url.get_secret_value() == DEFAULT_DATABASE_URL


def test_database_password_is_never_printed():
    settings = Settings(_env_file=None, database_url="postgresql+psycopg://app:s3cret@db/app")
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.model_dump())


@pytest.mark.parametrize("sample", [-0.1, 1.5])
def test_sample_outside_zero_to_one_is_refused(sample):
    with pytest.raises(ValidationError):
        Settings(_env_file=None, prediction_log_sample=sample)


def test_database_password_goes_into_the_url_quoted_whatever_it_holds(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://segments@db:5432/segments")
    monkeypatch.setenv("DATABASE_PASSWORD", ODD_PASSWORD + "\n")
    settings = Settings(_env_file=None)
    url = make_url(settings.database_url.get_secret_value())
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "segments",
        ODD_PASSWORD,
        "db",
        5432,
        "segments",
    )
    assert "p@ss" not in repr(settings) and "p@ss" not in str(settings.model_dump())


def test_an_empty_database_password_is_none(monkeypatch):
    monkeypatch.setenv("DATABASE_PASSWORD", "")
    url = "postgresql+psycopg://segments:kept@db/segments"
    assert Settings(_env_file=None, database_url=url).database_url.get_secret_value() == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite:///log.sqlite3", "DATABASE_PASSWORD is for a PostgreSQL DATABASE_URL"),
        (
            "postgresql+psycopg://segments:URLSECRET@db/segments",
            "holds another password: give it there or in DATABASE_PASSWORD",
        ),
        ("postgresql+psycopg://db:5432/segments", "DATABASE_URL names no user for DATABASE_PASSWORD"),
        ("postgresql+psycopg:///segments?host=/run/postgresql", "DATABASE_URL names no user for DATABASE_PASSWORD"),
    ],
)
def test_a_database_password_with_nowhere_to_go_is_one_line_never_quoting_it(monkeypatch, url, problem):
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATABASE_PASSWORD", "DBSECRET")
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    [line] = settings_problems(refused.value)
    assert line.startswith("invalid setting") and problem in line
    assert "DBSECRET" not in str(refused.value) and "URLSECRET" not in line


@pytest.mark.slow
def test_a_server_is_reached_with_a_database_password_of_any_characters(postgres):
    # The test server trusts local connections, so this shows the URL still names its host, port and database.
    settings = Settings(_env_file=None, database_url=postgres.create_database(), database_password=ODD_PASSWORD)
    engine = create_db_engine(settings.database_url.get_secret_value())
    try:
        assert engine.url.password == ODD_PASSWORD
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_database()")).scalar().startswith("test_")
    finally:
        engine.dispose()


def test_a_training_job_reads_the_database_its_server_reads_with_a_database_password(monkeypatch):
    from app.services.training.launch import job_environment

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://segments@db:5432/segments")
    monkeypatch.setenv("DATABASE_PASSWORD", ODD_PASSWORD)
    server = Settings(_env_file=None)
    # The job's process gets the URL with the password in it, and inherits DATABASE_PASSWORD too.
    for name, value in job_environment(settings=server).items():
        monkeypatch.setenv(name, value)
    job = Settings(_env_file=None)
    assert job.database_url.get_secret_value() == server.database_url.get_secret_value()
    assert make_url(job.database_url.get_secret_value()).password == ODD_PASSWORD
