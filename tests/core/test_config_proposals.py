"""The retraining proposal settings: the cooldown in seconds or ISO 8601, and AUTO_PROMOTE's bounds."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from app.core.config import Settings


def test_the_defaults_keep_a_human_in_the_loop():
    settings = Settings(_env_file=None)
    assert settings.proposal_cooldown == timedelta(hours=24)
    assert settings.auto_promote is False and settings.auto_promote_min_agreement == 0.8


@pytest.mark.parametrize(("given", "expected"), [("3600", timedelta(hours=1)), ("PT2H", timedelta(hours=2))])
def test_the_cooldown_reads_seconds_or_iso_8601(monkeypatch, given, expected):
    monkeypatch.setenv("PROPOSAL_COOLDOWN", given)
    assert Settings(_env_file=None).proposal_cooldown == expected


@pytest.mark.parametrize(("name", "value"), [("proposal_cooldown", "-5"), ("auto_promote_min_agreement", "1.5")])
def test_out_of_range_values_are_refused(name, value):
    with pytest.raises(ValidationError, match=name):
        Settings(_env_file=None, **{name: value})
