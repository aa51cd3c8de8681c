"""The A/B report over HTTP: a planted lift is found, nothing else is; campaigns, unknown ones and bad events."""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

SEED = 20261205
ADMIN_KEY = "experiments-admin-key"
OUTCOME_KEY = "experiments-crm-key-0123456789"
CRM = {"X-API-Key": OUTCOME_KEY}
PER_SEGMENT = 1_000
BASE_RATE, PLANTED_RATE = 0.20, 0.36


@pytest.fixture(scope="module")
def experiment(make_settings, two_versions_template, tmp_path_factory):
    """Customers split between two versions by a real challenger, and 10,000 outcome events with one planted lift."""
    import shutil

    from fastapi.testclient import TestClient

    from app.main import create_app

    root = tmp_path_factory.mktemp("experiments")
    shutil.copytree(two_versions_template[0], root / "models_artifacts")
    settings = make_settings(
        model_dir=root / "models_artifacts",
        database_url=f"sqlite:///{root / 'outcomes.sqlite3'}",
        admin_api_keys=[ADMIN_KEY],
        outcome_api_keys=[OUTCOME_KEY],
        rate_limit_admin="100000/minute",
    )
    with TestClient(create_app(settings)) as client:
        challenger = {"version": two_versions_template[2], "mode": "split", "share": 0.5}
        assert client.put("/api/v1/challenger", json=challenger, headers={"X-API-Key": ADMIN_KEY}).status_code == 200
        rng = np.random.default_rng(SEED)
        segments = client.get("/api/v1/clusters").json()["segments"]
        customers = []
        for segment in segments:
            # Customers around each segment's centroid, in the model's own features.
            features = segment["features"]
            for _ in range(PER_SEGMENT):
                values = {name: float(rng.normal(f["mean"], 0.25 * f["std"])) for name, f in features.items()}
                customers.append({"customer_id": f"C-{len(customers)}"} | values)
        predictions = client.post("/api/v1/predict/batch", json={"customers": customers}).json()["predictions"]
        assert client.app.state.challenger_assignments.flush() and client.app.state.prediction_log.flush()
        planted = segments[0]["segment_name"]
        events, truth = [], {}
        for p in predictions:
            lifted = p["segment_name"] == planted and p["arm"] == "challenger"
            converts = bool(rng.random() < (PLANTED_RATE if lifted else BASE_RATE))
            value = float(rng.gamma(2.0, 25.0)) if converts else 0.0
            truth[p["customer_id"]] = (p["segment_name"], p["arm"], converts, value)
            # After the assignments: an outcome before its customer's assignment counts for no arm.
            later = timedelta(hours=int(rng.integers(0, 4)), minutes=1 + int(rng.integers(0, 24)))
            when = (datetime.now(UTC) + later).isoformat()
            events.append({"customer_id": p["customer_id"], "event": "sent", "campaign": "winter", "occurred_at": when})
            follow = {"event": "purchase", "value": value} if converts else {"event": "opened"}
            events.append({"customer_id": p["customer_id"], "campaign": "winter", "occurred_at": when} | follow)
        assert len(events) == 10_000
        stored = client.post("/api/v1/outcomes", json={"events": events}, headers=CRM)
        assert stored.status_code == 200, stored.text
        unknown = [
            {"customer_id": f"X-{i}", "event": "sent", "campaign": "winter", "occurred_at": when} for i in range(3)
        ]
        assert client.post("/api/v1/outcomes", json={"events": unknown}, headers=CRM).json()["unmatched"] == 3
        yield client, planted, truth, stored.json()


def test_all_ten_thousand_events_are_matched(experiment):
    _, _, _, stored = experiment
    assert stored == {"segmentation": "default", "stored": 10_000, "matched": 10_000, "unmatched": 0}


def test_the_report_flags_the_planted_lift_and_nothing_else(experiment):
    client, planted, _, _ = experiment
    response = client.get("/api/v1/experiments/winter", params={"event": "purchase"})
    assert response.status_code == 200, response.text
    report = response.json()
    by_name = {segment["segment"]: segment for segment in report["segments"]}
    assert planted in by_name and len(by_name) >= 3
    lifted = by_name.pop(planted)
    assert lifted["significant"] is True
    assert lifted["rate_test"]["p_value"] < 0.01
    rates = {arm["arm"]: arm["conversion_rate"] for arm in lifted["arms"]}
    assert rates["challenger"] > rates["champion"]
    assert lifted["rate_test"]["z"] > 0
    for name, segment in by_name.items():
        assert segment["significant"] is False, name
        assert segment["rate_test"]["p_value"] > 0.05, name
        assert segment["value_test"]["p_value"] > 0.05, name


def test_every_number_equals_one_computed_from_the_events(experiment):
    client, _, truth, _ = experiment
    report = client.get("/api/v1/experiments/winter", params={"event": "purchase"}).json()
    cells = defaultdict(list)
    for segment, arm, converts, value in truth.values():
        cells[segment, arm].append((converts, value))
    assert report["customers"] == len(truth) and report["unmatched_customers"] == 3
    for segment in report["segments"]:
        for arm in segment["arms"]:
            rows = cells[segment["segment"], arm["arm"]]
            conversions = sum(c for c, _ in rows)
            values = np.array([v for _, v in rows])
            assert (arm["customers"], arm["conversions"]) == (len(rows), conversions)
            wilson = stats.binomtest(conversions, len(rows)).proportion_ci(method="wilson")
            assert arm["rate_ci"] == pytest.approx([wilson.low, wilson.high], abs=1e-12)
            assert arm["mean_value"] == pytest.approx(values.mean())
            t = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
            assert arm["value_ci"] == pytest.approx(list(t), rel=1e-9)
        new = cells[segment["segment"], "challenger"]
        old = cells[segment["segment"], "champion"]
        table = [[sum(c for c, _ in rows), sum(not c for c, _ in rows)] for rows in (new, old)]
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
        assert segment["rate_test"]["chi2"] == pytest.approx(chi2) and segment["rate_test"]["p_value"] == pytest.approx(
            p
        )
        welch = stats.ttest_ind([v for _, v in new], [v for _, v in old], equal_var=False)
        assert segment["value_test"]["p_value"] == pytest.approx(welch.pvalue)


def test_without_an_event_any_event_converts(experiment):
    client, *_ = experiment
    report = client.get("/api/v1/experiments/winter").json()
    assert report["conversion_event"] is None
    assert all(arm["conversion_rate"] == 1.0 for segment in report["segments"] for arm in segment["arms"])
    # Everyone converted: no rate test can tell the arms apart.
    assert all(segment["rate_test"] is None for segment in report["segments"])


def test_campaigns_are_listed(experiment):
    client, _, truth, _ = experiment
    response = client.get("/api/v1/experiments")
    assert response.status_code == 200
    (campaign,) = response.json()["campaigns"]
    assert campaign["campaign"] == "winter"
    assert (campaign["events"], campaign["customers"]) == (10_003, len(truth) + 3)
    assert campaign["event_names"] == ["opened", "purchase", "sent"]


def test_an_unknown_campaign_is_404_and_an_event_never_seen_converts_no_one(experiment):
    client, *_ = experiment
    assert client.get("/api/v1/experiments/spring").status_code == 404
    response = client.get("/api/v1/experiments/winter", params={"event": "refund"})
    assert response.status_code == 200
    report = response.json()
    assert all(arm["conversions"] == 0 for segment in report["segments"] for arm in segment["arms"])
    assert any("no 'refund' events" in w and "purchase" in w for w in report["warnings"])
    assert client.get("/api/v1/experiments", params={"segmentation": "nosuch"}).status_code == 404


def test_small_arms_are_warned_about(client_for, two_versions, tmp_path):
    root, _, second = two_versions
    client = client_for(
        model_dir=root,
        database_url=f"sqlite:///{tmp_path / 'small.sqlite3'}",
        admin_api_keys=[ADMIN_KEY],
        outcome_api_keys=[OUTCOME_KEY],
    )
    challenger = {"version": second, "mode": "split", "share": 0.5}
    assert client.put("/api/v1/challenger", json=challenger, headers={"X-API-Key": ADMIN_KEY}).status_code == 200
    customers = [{"customer_id": f"S-{i}", "annual_income": 60, "spending_score": 50} for i in range(20)]
    predictions = client.post("/api/v1/predict/batch", json={"customers": customers}).json()["predictions"]
    assert client.app.state.challenger_assignments.flush() and client.app.state.prediction_log.flush()
    arms = Counter(p["arm"] for p in predictions)
    events = [
        {"customer_id": c["customer_id"], "event": "purchase" if i % 3 else "sent", "campaign": "tiny"}
        | {"occurred_at": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
        for i, c in enumerate(customers)
    ]
    assert client.post("/api/v1/outcomes", json={"events": events}, headers=CRM).status_code == 200
    report = client.get("/api/v1/experiments/tiny", params={"event": "purchase"}).json()
    warnings = " ".join(w for segment in report["segments"] for w in segment["warnings"])
    for arm, count in arms.items():
        assert f"only {count} customers in the {arm} arm" in warnings


def test_outcomes_and_reports_are_per_segmentation(client_for, fresh_dir, tmp_path):
    from app.models.segmentations.catalog import SegmentationCatalog
    from app.models.segmentations.spec import SegmentationSpec
    from app.models.segmentations.training import train_segmentation
    from app.models.synthetic_crm import write_crm
    from tests.api.test_segmentations import LOYALTY

    spec = SegmentationCatalog(fresh_dir).create(SegmentationSpec.from_dict(LOYALTY))
    train_segmentation(spec, write_crm(tmp_path / "crm.csv"), models_root=fresh_dir, k=3)
    client = client_for(
        model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'seg.sqlite3'}", outcome_api_keys=[OUTCOME_KEY]
    )
    features = {"income": 58_000, "visits": 6, "tenure": 4}
    answer = client.post("/api/v1/segmentations/loyalty/predict", json={"features": features, "customer_id": "L-1"})
    assert answer.status_code == 200
    assert client.app.state.prediction_log.flush()
    event = {"customer_id": "L-1", "event": "renewal", "campaign": "loyal", "occurred_at": "2026-12-01T10:00:00Z"}
    # The customer was segmented by `loyalty`, not by the default segmentation.
    assert client.post("/api/v1/outcomes", json={"events": [event]}, headers=CRM).json()["unmatched"] == 1
    stored = client.post("/api/v1/outcomes", json={"events": [event]}, headers=CRM, params={"segmentation": "loyalty"})
    assert stored.json() == {"segmentation": "loyalty", "stored": 1, "matched": 1, "unmatched": 0}
    report = client.get("/api/v1/experiments/loyal", params={"segmentation": "loyalty"}).json()
    assert [s["segment"] for s in report["segments"]] == [answer.json()["segment_name"]]
    assert report["segments"][0]["arms"][0]["arm"] == "none"
    assert any("both arms" in w for w in report["warnings"])
    assert [c["campaign"] for c in client.get("/api/v1/experiments").json()["campaigns"]] == ["loyal"]
    assert client.get("/api/v1/experiments", params={"segmentation": "loyalty"}).json()["campaigns"][0]["events"] == 1


def test_without_an_event_the_report_says_every_customer_converts_and_names_the_events(experiment):
    client, *_ = experiment
    report = client.get("/api/v1/experiments/winter").json()
    (warning,) = [w for w in report["warnings"] if "no conversion event named" in w]
    assert "purchase" in warning
    named = client.get("/api/v1/experiments/winter", params={"event": "purchase"}).json()
    assert not any("no conversion event named" in w for w in named["warnings"])


def test_a_campaign_or_event_holding_a_nul_is_a_422(experiment):
    client = experiment[0]
    for path, params in (("/api/v1/experiments/a%00b", {}), ("/api/v1/experiments/winter", {"event": "buy\x00"})):
        response = client.get(path, params=params)
        assert response.status_code == 422, response.text  # PostgreSQL refuses a NUL in a query: a 500 there
        assert "U+0000" in response.json()["message"]
