"""/monitoring rendered on the server: statuses in words, and bad input as an HTML 4xx page."""

import re
from datetime import UTC, datetime, timedelta


def test_monitoring_page_renders_without_data(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    response = client.get("/monitoring", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert 'data-status="insufficient data"' in response.text
    assert "no verdict yet" in response.text
    assert 'aria-current="page"' in response.text
    assert 'id="retrain-link" href="/models"' in response.text
    assert client.get("/models", headers={"Accept": "text/html"}).status_code == 200


def test_monitoring_page_says_no_predictions_in_plain_sentences(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    for query in ("", "?since=2026-01-01T00:00&until=2026-01-02T00:00"):
        response = client.get(f"/monitoring{query}", headers={"Accept": "text/html"})
        assert response.status_code == 200
        page = re.sub(r"<[^>]+>", "", response.text)
        assert "No predictions logged by this model version in this window" in page
        assert "Only 0" not in page
        (lead,) = re.findall(r'<p class="lead">(.*?)</p>', response.text, re.S)
        assert "(" not in lead and ")" not in lead, lead
        assert "with the training data. A customer scored several times counts as their latest prediction." in lead
    rows = client.get("/monitoring?window=120", headers={"Accept": "text/html"})
    assert "No predictions logged by this model version: drift checks need" in rows.text
    (lead,) = re.findall(r'<p class="lead">(.*?)</p>', rows.text, re.S)
    assert "(" not in lead and "latest prediction" not in lead, lead


def test_monitoring_page_with_a_bad_window_is_an_html_422(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    response = client.get("/monitoring?window=0", headers={"Accept": "text/html"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")


def test_monitoring_page_picks_a_time_window_and_keeps_window_n(client_for, tmp_path):
    from tests.api.test_monitoring import customers, feed

    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    feed(client, customers(300, seed=61))
    page = client.get("/monitoring", headers={"Accept": "text/html"}).text
    assert "in the last 24 h, each customer once" in page
    assert '<a href="?period=24h" data-period="24h" aria-current="true">Last 24 h</a>' in page
    assert '<dd data-fact="window-size">300</dd>' in page
    week = client.get("/monitoring?period=7d", headers={"Accept": "text/html"}).text
    assert '<a href="?period=7d" data-period="7d" aria-current="true">Last 7 days</a>' in week
    # A custom span that ended before anything was logged.
    custom = client.get("/monitoring?since=2026-01-01T00:00&until=2026-01-02T00:00", headers={"Accept": "text/html"})
    assert custom.status_code == 200
    assert 'data-status="insufficient data"' in custom.text
    assert 'name="since" required value="2026-01-01T00:00"' in custom.text
    assert '" aria-current="true">Last' not in custom.text  # no preset is current (a bucket link is)
    # window=N keeps its meaning: the last N rows as logged.
    rows = client.get("/monitoring?window=120", headers={"Accept": "text/html"}).text
    assert "the last 120 predictions this model version logged" in rows
    assert '<dd data-fact="window-size">120</dd>' in rows


def test_monitoring_page_warns_when_the_window_is_mostly_one_file(client_for, tmp_path):
    from app.models.synthetic import generate_customers

    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    data = generate_customers(rows=500, seed=62).to_csv(index=False).encode()
    headers = {"content-type": "text/csv", "X-Request-ID": "march-export"}
    assert client.post("/api/v1/predict/csv", content=data, headers=headers).status_code == 200
    assert client.app.state.prediction_log.flush()
    page = client.get("/monitoring", headers={"Accept": "text/html"}).text
    assert 'id="window-warning" data-request-id="march-export"><strong>Mostly one file.</strong>' in page
    assert "Most of this window (100%, 500 customers) is one file scored at" in page


def test_monitoring_page_of_a_segmentation_keeps_it_in_the_picker(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    page = client.get("/monitoring?segmentation=default&period=30d", headers={"Accept": "text/html"}).text
    assert 'data-period="30d" aria-current="true"' in page
    bad = client.get("/monitoring?period=1y", headers={"Accept": "text/html"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")


def test_a_custom_span_whose_from_is_after_its_to_is_said_on_the_page_without_charts(client_for, tmp_path):
    from tests.api.test_monitoring import customers, feed

    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    feed(client, customers(150, seed=63))
    query = {"segmentation": "default", "bucket": "day", "since": "2026-12-06T12:00", "until": "2026-12-01T12:00"}
    response = client.get("/monitoring", params=query, headers={"Accept": "text/html"})
    assert response.status_code == 422
    page = response.text
    assert 'id="window-error"' in page and 'role="alert"' in page
    assert "From must be before To" in page
    assert "2026-12-06 12:00 UTC is after 2026-12-01 12:00 UTC" in re.sub(r"<[^>]+>", "", page)
    # The form keeps what was typed, to be fixed; nothing is charted or counted for a span that cannot be.
    assert 'name="since" required value="2026-12-06T12:00"' in page and 'name="until" value="2026-12-01T12:00"' in page
    assert '<input type="hidden" name="bucket" value="day">' in page
    for shown in ("Predictions per segment", 'id="summary"', 'class="chart', "Drift checks", "No predictions logged"):
        assert shown not in page, shown
    assert 'data-period="24h"' in page  # the presets still offer a way out


def test_a_custom_span_counts_predictions_per_segment_up_to_its_to(client_for, tmp_path):
    from tests.api.test_monitoring import customers, feed

    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    feed(client, customers(150, seed=64))
    now = datetime.now(UTC)
    since, until = (
        (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    response = client.get("/monitoring", params={"since": since, "until": until}, headers={"Accept": "text/html"})
    assert response.status_code == 200
    page = re.sub(r"<[^>]+>", "", response.text)
    # The 150 predictions were logged after the span's To: none of them is in it.
    assert 'id="volume-empty"' in response.text and 'id="volume-chart"' not in response.text
    assert (
        f"No predictions have been logged from {since.replace('T', ' ')} UTC to {until.replace('T', ' ')} UTC" in page
    )


def test_a_custom_span_without_a_to_runs_to_now(client_for, tmp_path):
    from tests.api.test_monitoring import customers, feed

    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    feed(client, customers(150, seed=65))
    # As the form sends it: a From without a zone and an empty To.
    since = (datetime.now(UTC) - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    for params in ({"since": since, "until": ""}, {"since": since}):
        response = client.get("/monitoring", params=params, headers={"Accept": "text/html"})
        assert response.status_code == 200, params
        assert 'id="volume-chart"' in response.text
        assert '<dd data-fact="window-size">150</dd>' in response.text


def test_monitoring_badge_without_a_verdict_says_a_sentence(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    response = client.get("/monitoring", headers={"Accept": "text/html"})
    assert response.status_code == 200
    (overall,) = re.findall(r'<h2 id="summary-title">Overall: (.*?)</h2>', response.text, re.S)
    words = re.sub(r"<[^>]+>", "", overall).replace("…", "").strip()
    assert words == "Not enough data for a verdict yet.", words


def test_a_file_scored_twice_is_said_as_customers_not_as_predictions_lost(client_for, tmp_path):
    from tests.api.test_monitoring import customers, feed

    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    rows = [{**row, "customer_id": f"C-{index}"} for index, row in enumerate(customers(30, seed=64))]
    feed(client, rows)
    feed(client, rows)  # the same export scored again: 60 predictions of 30 customers
    page = client.get("/monitoring", headers={"Accept": "text/html"}).text
    # Before, "Only 30 predictions logged" beside a volume chart counting 60.
    assert "Only 30 predictions logged" not in page
    assert "Only 30 distinct customers in the 60 predictions logged by this model version in this window" in page
    assert '<dd data-fact="window-size">30 (customers, each once, of 60 predictions logged)</dd>' in page
