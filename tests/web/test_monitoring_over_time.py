"""/monitoring over time: segment mix, volumes, rates and drift statuses per hour, day or week, from the same service
as GET /api/v1/monitoring/timeseries."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.db.tables import DriftCheck
from app.services.monitoring.timeseries import floor
from tests.api.test_monitoring_windows import export, score

HTML = {"Accept": "text/html"}


@pytest.fixture
def series_client(client_for, fresh_dir, tmp_path):
    """A client with its own log and the evaluator built (not ticking on its own within a test), on a private
    versions folder: drift it finds proposes retraining, whose job adds a candidate version."""
    return client_for(
        model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}", drift_evaluation_seconds=3_600
    )


def store_check(client, *, at: datetime, status: str, segmentation: str = "default") -> None:
    """A drift_checks row as the background evaluator stores it, at `at`."""
    model = client.app.state.segmentations.registry(segmentation).get()
    checks = [{"check": "overall", "status": status, "value": None}]
    checks += [{"check": f"feature:{name}", "status": status, "value": 0.3} for name in model.features]
    fixed = ("segment_mix", "atypical", "out_of_range")
    checks += [{"check": name, "status": "stable", "value": 0.0} for name in fixed]
    with client.app.state.db_sessions() as session:
        session.add(
            DriftCheck(
                evaluated_at=at,
                segmentation=segmentation,
                model_version=model.version,
                window_since=at - timedelta(days=1),
                window_until=at,
                window_size=500,
                status=status,
                checks=checks,
                warning=None,
            )
        )
        session.commit()


def cells(page: str, check: str) -> list[tuple[str, str]]:
    """(status, bucket start) of each cell in one check's strip."""
    strip = re.search(rf'<g class="drift-strip" data-check="{check}">(.*?)</g>\s*\n', page, re.S).group(1)
    return re.findall(r'data-status="([^"]+)" data-start="([^"]+)"', strip)


def table_rows(page: str) -> list[str]:
    """The bucket starts of the numbers table's rows."""
    table = re.search(r'<table id="over-time-table">(.*?)</table>', page, re.S).group(1)
    return re.findall(r'<tr data-start="([^"]+)">', table)


@pytest.mark.parametrize(("bucket", "period"), [("hour", "24h"), ("day", "7d"), ("week", "30d")])
def test_each_bucket_shows_the_mix_volumes_rates_and_drift_of_the_service(series_client, bucket, period):
    data = export(400, seed=81)
    score(series_client, data)
    score(series_client, data)
    now = datetime.now(UTC)
    # A minute ago, but never in the bucket before now's: a run in an hour's first minute still finds one cell.
    store_check(series_client, at=max(floor(now, bucket), now - timedelta(minutes=1)), status="drift")

    page = series_client.get(f"/monitoring?period={period}&bucket={bucket}", headers=HTML).text
    assert f'data-bucket="{bucket}"' in page
    assert f"Over time, per {bucket}" in page
    # The bucket control keeps the window; the window picker keeps the bucket.
    assert f'<a href="?period={period}&amp;bucket={bucket}" data-bucket="{bucket}" aria-current="true">' in page
    assert f'<a href="?period=24h&amp;bucket={bucket}" data-period="24h"' in page
    assert '<input type="hidden" name="bucket" value="' + bucket + '">' in page

    api = series_client.get("/api/v1/monitoring/timeseries", params={"bucket": bucket}).json()
    (logged,) = [point for point in api["series"] if point["predictions"]]
    assert (logged["predictions"], logged["customers"]) == (800, 400)
    assert table_rows(page) == [floor(now, bucket).isoformat()]
    # One stacked bar: its segment counts are the service's, in every segment's own colour.
    bars = re.findall(r'<g class="mix-bar" data-start="[^"]+">(.*?)</g>', page, re.S)
    assert len(bars) == 1
    counts = dict(re.findall(r'data-segment-id="(\d+)" data-count="(\d+)"', bars[0]))
    assert {k: int(v) for k, v in counts.items()} == logged["counts"]
    for segment in api["segments"]:
        assert f"{segment['segment_name']} (" in page
    assert "800 predictions in all" in page
    assert 'id="rates-time-chart"' in page
    # The drift strip: the overall verdict and each check in words, cell and table.
    assert cells(page, "overall") == [("drift", floor(now, bucket).isoformat())]
    assert cells(page, "feature:annual_income")[0][0] == "drift"
    assert cells(page, "segment_mix")[0][0] == "stable"
    drift_table = re.search(r'<table id="drift-time-table">(.*?)</table>', page, re.S).group(1)
    model = series_client.app.state.segmentations.registry("default").get()
    for feature in model.feature_specs:
        assert f'<th scope="col">{feature.label}</th>' in drift_table
    assert drift_table.count('<span aria-hidden="true">✕</span> drift') == len(model.features) + 1
    assert 'id="over-time-empty"' not in page


def test_hours_show_an_earlier_evaluation_in_its_own_cell(series_client):
    now = datetime.now(UTC)
    score(series_client, export(200, seed=82))
    store_check(series_client, at=now - timedelta(hours=5), status="watch")
    store_check(series_client, at=now, status="stable")
    page = series_client.get("/monitoring?bucket=hour", headers=HTML).text
    expected = [
        ("watch", floor(now - timedelta(hours=5), "hour").isoformat()),
        ("stable", floor(now, "hour").isoformat()),
    ]
    assert cells(page, "overall") == expected
    # The default window of a day is by hour without a bucket in the query, and the period links carry none.
    default = series_client.get("/monitoring", headers=HTML).text
    assert 'data-bucket="hour"' in default and '<a href="?period=7d" data-period="7d"' in default


def test_an_empty_log_says_so_plainly(series_client):
    page = series_client.get("/monitoring?bucket=day", headers=HTML).text
    assert 'id="over-time-empty"' in page
    assert "No predictions by this model version were logged in this range" in page
    assert 'id="drift-time-empty"' in page
    for chart in ("mix-time-chart", "volume-time-chart", "rates-time-chart", "drift-time-chart"):
        assert f'id="{chart}"' not in page


def test_a_bad_bucket_is_an_html_422(series_client):
    response = series_client.get("/monitoring?bucket=month", headers=HTML)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")


def test_a_three_feature_segmentation_shows_its_own_segments_and_checks(client_for, segmentations_root, tmp_path):
    client = client_for(model_dir=segmentations_root, database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    customers = [{"features": {"income": 30_000 + 900 * i, "visits": i % 9, "tenure": i % 12}} for i in range(60)]
    response = client.post("/api/v1/segmentations/crm/predict/batch", json={"customers": customers})
    assert response.status_code == 200, response.text
    assert client.app.state.prediction_log.flush()
    store_check(client, at=datetime.now(UTC), status="watch", segmentation="crm")

    page = client.get("/monitoring?segmentation=crm&period=7d&bucket=day", headers=HTML).text
    api = client.get("/api/v1/monitoring/timeseries?segmentation=crm&bucket=day").json()
    (logged,) = [point for point in api["series"] if point["predictions"]]
    assert logged["predictions"] == 60
    assert len(api["segments"]) == 3
    for segment in api["segments"]:
        assert f"{segment['segment_name']} (" in page
    # Links keep the segmentation; the strip has one row per feature of this model, by its labels.
    assert '<a href="?segmentation=crm&amp;period=7d&amp;bucket=week" data-bucket="week">' in page
    for name in ("income", "visits", "tenure"):
        ((status, start),) = cells(page, f"feature:{name}")
        assert (status, datetime.fromisoformat(start)) == ("watch", datetime.fromisoformat(logged["start"]))
        assert f'class="axis-label">{name.title()}</text>' in page
    assert 'data-check="feature:annual_income"' not in page
    assert "60 predictions in all" in page
