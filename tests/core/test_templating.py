"""The page templates: times read as people read them, and links that never come from the Host header."""

from app.core.templating import p_value, readable_time


def test_iso_times_read_in_utc_to_the_minute():
    assert readable_time("2026-11-28T04:10:47.289000+00:00") == "2026-11-28 04:10 UTC"
    assert readable_time("2026-11-28T05:10:47+01:00") == "2026-11-28 04:10 UTC"


def test_anything_that_is_not_a_time_is_shown_as_it_is():
    assert readable_time("unknown") == "unknown"


def test_pages_link_by_path_never_by_the_requests_host(client):
    page = client.get("/score", headers={"Host": "evil.example", "Accept": "text/html"})
    assert page.status_code == 200
    assert "evil.example" not in page.text
    assert 'action="/score"' in page.text and 'src="/static/js/score.js' in page.text


def test_links_keep_the_apps_root_path(app):
    from fastapi.testclient import TestClient

    with TestClient(app, root_path="/segments") as client:
        page = client.get("/", headers={"Accept": "text/html"})
    assert 'href="/segments/static/css/app.css?v=' in page.text


def test_p_values_never_read_as_zero():
    assert p_value(0.0) == "< 0.001"
    assert p_value(0.000999) == "< 0.001"
    assert p_value(0.001) == "= 0.001"
    assert p_value(0.25) == "= 0.250"
