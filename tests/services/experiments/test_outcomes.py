"""Which experiment's assignment an outcome counts in: the one running when it occurred, made before it."""

from datetime import UTC, datetime, timedelta

from app.services.experiments.outcomes import Assignment, assignment_at, experiment_windows

START = datetime(2026, 12, 1, tzinfo=UTC)


def _at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def _history(*entries: tuple[float, str, str]) -> list[dict]:
    return [{"at": _at(hours).isoformat(), "event": event, "version": version} for hours, event, version in entries]


FIRST = Assignment("challenger", "v2", "v2", _at(1))
SECOND = Assignment("champion", "v1", "v3", _at(5))
HISTORY = _history((0, "set", "v2"), (3, "stopped", "v2"), (4, "set", "v3"))


def test_an_outcome_counts_in_the_experiment_running_when_it_occurred():
    windows = experiment_windows(HISTORY)
    assert assignment_at([FIRST, SECOND], windows, _at(2)) == (FIRST, FIRST.first_seen)
    assert assignment_at([FIRST, SECOND], windows, _at(6)) == (SECOND, SECOND.first_seen)


def test_an_outcome_before_every_assignment_takes_none_and_the_first_assignments_time():
    assert assignment_at([FIRST, SECOND], experiment_windows(HISTORY), _at(0.5)) == (None, FIRST.first_seen)


def test_an_outcome_after_the_customers_experiment_stopped_takes_none():
    # Stopped at 3, the next experiment had not assigned this customer by 4.5: no arm served them then.
    assert assignment_at([FIRST, SECOND], experiment_windows(HISTORY), _at(4.5)) == (None, None)


def test_experiment_windows_end_at_the_next_change_and_a_running_one_stays_open():
    windows = experiment_windows(HISTORY + _history((8, "promoted", "v3"), (9, "set", "v2")))
    assert [(w.experiment, w.start, w.end) for w in windows] == [
        ("v2", _at(0), _at(3)),
        ("v3", _at(4), _at(8)),
        ("v2", _at(9), None),
    ]


def test_without_a_history_an_assignment_counts_from_when_it_was_made():
    assert assignment_at([FIRST], [], _at(100)) == (FIRST, FIRST.first_seen)
    assert assignment_at([FIRST], [], _at(0)) == (None, FIRST.first_seen)
