"""Credentials hidden in text bound for a log, in every form a driver or a URL may give them."""

import pytest

from app.utils.redact import scrub_credentials

PASSWORD = "s3cret-Pw"


@pytest.mark.parametrize(
    ("message", "said"),
    [
        (f'in URI: "postgresql://app:{PASSWORD}@[bad/db"', 'in URI: "postgresql://app:***@[bad/db"'),
        (f"postgresql+psycopg://app:p@ss{PASSWORD}@db:5432/x", "postgresql+psycopg://app:***@db:5432/x"),
        (f'missing "=" after "app:{PASSWORD}@db" in connection info string', 'missing "=" after "app:***@db" in'),
        (f"host=db password={PASSWORD} user=app", "host=db password=*** user=app"),
        (f"host=db password='{PASSWORD} x' user=app", "host=db password=*** user=app"),
        (f"redis://:{PASSWORD}@cache:6379/0", "redis://:***@cache:6379/0"),
    ],
)
def test_credentials_are_scrubbed_from_any_form_of_address(message, said):
    scrubbed = scrub_credentials(message)
    assert scrubbed.startswith(said)
    assert PASSWORD not in scrubbed and "s3cret" not in scrubbed


@pytest.mark.parametrize(
    "message",
    [
        'connection failed: FATAL:  password authentication failed for user "app"',
        "postgresql+psycopg://app@db:5432/segments",
        "sqlite:////data/prediction_log.sqlite3",
        "at 12:30 app@db",
    ],
)
def test_a_message_without_a_secret_is_kept_as_it_is(message):
    assert scrub_credentials(message) == message
