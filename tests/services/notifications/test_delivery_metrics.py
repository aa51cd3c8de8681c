"""notification_deliveries_total: each delivery attempt counted by channel and outcome once its outcome is stored."""

import pytest
from prometheus_client import REGISTRY

from app.core import metrics
from app.services.notifications.drainer import SendOptions, drain_once
from app.services.notifications.events import VERSION_ACTIVATED, emit
from app.services.notifications.subscriptions import create_subscription


def _count(channel: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("notification_deliveries_total", {"channel": channel, "outcome": outcome}) or 0.0


def _counts() -> dict[tuple[str, str], float]:
    return {
        (channel, outcome): _count(channel, outcome)
        for channel in metrics.NOTIFICATION_CHANNELS
        for outcome in metrics.NOTIFICATION_OUTCOMES
    }


@pytest.fixture
def counted(make_settings) -> None:
    """Metrics configured in this process, as the app does before the drainer starts."""
    if metrics.configure_metrics(make_settings()).folder is not None:
        pytest.skip("this process counts through a multiprocess folder; the in-memory registry holds nothing")


def test_every_channel_and_outcome_is_exported_before_any_attempt(counted):
    family = next(m for m in REGISTRY.collect() if m.name == "notification_deliveries")
    exported = {(s.labels["channel"], s.labels["outcome"]) for s in family.samples if s.name.endswith("_total")}
    assert exported == set(_counts())


def test_attempts_are_counted_by_channel_and_outcome(counted, sessions, receiver):
    create_subscription(sessions=sessions, events=[VERSION_ACTIVATED], url=receiver.url, allow_private=True)
    create_subscription(sessions=sessions, events=[VERSION_ACTIVATED], email="analyst@example.com")
    options = SendOptions(allow_private=True, max_attempts=2, backoff_seconds=0.0, smtp_url=None)
    before = _counts()

    emit(sessions=sessions, event=VERSION_ACTIVATED, payload={})
    assert drain_once(sessions, options) == 2  # the webhook delivered; the email refused for good (no SMTP_URL)
    receiver.status = 500
    emit(sessions=sessions, event=VERSION_ACTIVATED, payload={})
    drain_once(sessions, options)  # the webhook's first failed attempt, and an email refused again
    drain_once(sessions, options)  # its second: the last one allowed

    changes = {labels: _counts()[labels] - before[labels] for labels in before}
    assert {labels: change for labels, change in changes.items() if change} == {
        ("webhook", "delivered"): 1,
        ("webhook", "failed"): 1,
        ("webhook", "gave_up"): 1,
        ("email", "gave_up"): 2,
    }


def test_each_failed_attempt_is_logged_by_delivery_id_and_the_last_one_as_a_warning(sessions, receiver, caplog):
    create_subscription(sessions=sessions, events=[VERSION_ACTIVATED], url=receiver.url, allow_private=True)
    options = SendOptions(allow_private=True, max_attempts=2, backoff_seconds=0.0, smtp_url=None)
    receiver.status = 500
    emit(sessions=sessions, event=VERSION_ACTIVATED, payload={})
    with caplog.at_level("INFO", logger="app.services.notifications.drainer"):
        drain_once(sessions, options)
        drain_once(sessions, options)
    lines = [(record.levelname, record.getMessage()) for record in caplog.records if "attempt" in record.getMessage()]
    assert [level for level, _ in lines] == ["INFO", "WARNING"]
    assert "webhook delivery " in lines[0][1] and "to be tried again" in lines[0][1]
    assert "no attempt is left" in lines[1][1]
    assert all(receiver.url not in text for _, text in lines)  # the address is an admin's to read, not the log's
