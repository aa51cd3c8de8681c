"""Times on pages read as people read them, while the <time> element keeps the exact value."""

from app.core.templating import readable_time


def test_iso_times_read_in_utc_to_the_minute():
    assert readable_time("2026-11-28T04:10:47.289000+00:00") == "2026-11-28 04:10 UTC"
    assert readable_time("2026-11-28T05:10:47+01:00") == "2026-11-28 04:10 UTC"


def test_anything_that_is_not_a_time_is_shown_as_it_is():
    assert readable_time("unknown") == "unknown"
