"""Database settings: the default SQLite file, an empty DATABASE_URL, and the URL never shown."""

import pytest
from pydantic import ValidationError

from app.core.config import DEFAULT_DATABASE_URL, PROJECT_ROOT, Settings


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
