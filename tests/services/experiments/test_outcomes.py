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


# The same version run twice: stopped at 3, set again at 4.
RERUN = _history((0, "set", "v2"), (3, "stopped", "v2"), (4, "set", "v2"))


def test_an_outcome_in_a_later_run_of_the_version_counts_for_the_arm_given_in_an_earlier_run():
    assert assignment_at([FIRST], experiment_windows(RERUN), _at(5)) == (FIRST, FIRST.first_seen)


def test_setting_the_version_again_with_another_share_keeps_its_customers_in():
    # A new share is a new run (a "set" while it runs), and the customer assigned before it is still in.
    history = _history((0, "set", "v2"), (2, "set", "v2"))
    assert assignment_at([FIRST], experiment_windows(history), _at(3)) == (FIRST, FIRST.first_seen)


def test_an_outcome_between_two_runs_of_the_version_takes_none():
    assert assignment_at([FIRST], experiment_windows(RERUN), _at(3.5)) == (None, None)


def test_an_outcome_in_a_later_run_before_the_customers_first_assignment_takes_that_assignments_time():
    late = Assignment("champion", "v1", "v2", _at(6))
    assert assignment_at([late], experiment_windows(RERUN), _at(5)) == (None, late.first_seen)


def test_an_outcome_takes_the_arm_the_customer_was_last_given_by_the_version_before_it():
    again = Assignment("champion", "v1", "v2", _at(6))  # given again in the second run, in the other arm
    windows = experiment_windows(RERUN)
    assert assignment_at([FIRST, again], windows, _at(5)) == (FIRST, FIRST.first_seen)
    assert assignment_at([FIRST, again], windows, _at(7)) == (again, again.first_seen)


def test_a_version_run_again_after_another_counts_its_own_assignment_not_the_other_ones():
    history = HISTORY + _history((8, "stopped", "v3"), (9, "set", "v2"))
    windows = experiment_windows(history)
    assert assignment_at([FIRST, SECOND], windows, _at(10)) == (FIRST, FIRST.first_seen)
    assert assignment_at([FIRST, SECOND], windows, _at(8.5)) == (None, None)
