"""Champion and challenger over HTTP: split and shadow traffic, the report, promote, stop and bad input."""

import json
from collections import Counter

import pytest
from sklearn.metrics import adjusted_rand_score, cohen_kappa_score
from sqlalchemy import create_engine, select

from app.db.tables import ChallengerAssignment
from app.models.versions import challenger as challengers
from app.models.versions.store import VersionStore
from tests.db.reading import logged_rows

KEY = "challenger-admin-key"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def setup(client_for, two_versions, tmp_path):
    """A client on a two-version folder with its own prediction log: (client, folder, champion, other, db url)."""
    root, first, second = two_versions
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    client = client_for(model_dir=root, database_url=url, admin_api_keys=[KEY])
    return client, root, first, second, url


def _set(client, body: dict, **params):
    return client.put("/api/v1/challenger", json=body, headers=ADMIN, params=params)


def _rows(url: str, statement):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(statement).all()
    finally:
        engine.dispose()


def test_without_a_challenger_answers_name_no_arm(setup):
    client, *_ = setup
    body = client.post("/api/v1/predict", json={"customer_id": 7, "annual_income": 60, "spending_score": 50}).json()
    assert "arm" not in body
    assert client.get("/api/v1/challenger").json()["challenger"] is None


def test_split_sends_thirty_percent_of_ids_and_the_same_id_keeps_its_arm(setup):
    client, _root, first, second, url = setup
    assert _set(client, {"version": second, "mode": "split", "share": 0.3}).status_code == 200
    customers = [{"customer_id": f"C-{i}", "annual_income": 60.0, "spending_score": 50.0} for i in range(10_000)]
    response = client.post("/api/v1/predict/batch", json={"customers": customers})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    arms = {p["customer_id"]: p["arm"] for p in predictions}
    assert 0.29 <= list(arms.values()).count("challenger") / 10_000 <= 0.31
    assert all(p["model_version"] == (second if p["arm"] == "challenger" else first) for p in predictions)
    # The same ids one by one, again: every one gets its arm again (100%).
    again = [
        client.post("/api/v1/predict", json=customers[i]).json()["arm"] == arms[customers[i]["customer_id"]]
        for i in range(0, 10_000, 20)
    ]
    assert all(again)
    # Without an id, always the champion.
    anonymous = client.post("/api/v1/predict", json={"annual_income": 60, "spending_score": 50}).json()
    assert (anonymous["arm"], anonymous["model_version"]) == ("champion", first)
    # Each customer's first assignment is in its own table.
    assert client.app.state.challenger_assignments.flush()
    assigned = dict(_rows(url, select(ChallengerAssignment.customer_id, ChallengerAssignment.arm)))
    assert assigned == arms


def test_split_refuses_a_blank_id_and_reads_a_padded_one_as_the_same_customer(setup):
    client, _root, _first, second, url = setup
    assert _set(client, {"version": second, "mode": "split", "share": 0.5}).status_code == 200
    for blank in ["", "   "]:
        refused = client.post("/api/v1/predict", json={"customer_id": blank, "annual_income": 60, "spending_score": 50})
        assert refused.status_code == 422 and "customer_id" in refused.json()["message"]
    arms = {
        client.post("/api/v1/predict", json={"customer_id": given, "annual_income": 60, "spending_score": 50}).json()[
            "arm"
        ]
        for given in ["C-7", " C-7", "C-7\n"]
    }
    assert len(arms) == 1
    assert client.app.state.challenger_assignments.flush()
    assert [row.customer_id for row in _rows(url, select(ChallengerAssignment.customer_id))] == ["C-7"]


def test_segmentation_route_serves_the_challenger_too(setup):
    client, _root, _first, second, _url = setup
    assert _set(client, {"version": second, "mode": "split", "share": 0.5}, segmentation="default").status_code == 200
    ids = range(200)
    bodies = [
        client.post(
            "/api/v1/segmentations/default/predict",
            json={"customer_id": i, "features": {"annual_income": 60, "spending_score": 50}},
        ).json()
        for i in ids
    ]
    assert [b["arm"] for b in bodies] == [challengers.arm_of("default", i, 0.5) for i in ids]
    batch = client.post(
        "/api/v1/segmentations/default/predict/batch",
        json={"customers": [{"customer_id": i, "features": {"annual_income": 60, "spending_score": 50}} for i in ids]},
    ).json()
    assert [p["arm"] for p in batch["predictions"]] == [b["arm"] for b in bodies]


def test_shadow_logs_both_segments_and_the_report_matrix_equals_compare(setup):
    client, root, first, second, url = setup
    assert _set(client, {"version": second, "mode": "shadow"}).status_code == 200
    sample = VersionStore(root).info(second)["map_sample"]
    customers = [{"annual_income": a, "spending_score": s} for a, s in sample]
    response = client.post("/api/v1/predict/batch", json={"customers": customers})
    assert response.status_code == 200
    assert {(p["arm"], p["model_version"]) for p in response.json()["predictions"]} == {("champion", first)}
    for customer in customers[:5]:
        assert client.post("/api/v1/predict", json=customer).json()["arm"] == "champion"
    assert client.app.state.prediction_log.flush()
    logged = [(row.arm, row.challenger_version, row.challenger_segment_id) for row in logged_rows(url)]
    assert len(logged) == len(customers) + 5
    assert all(arm == "champion" and version == second and segment is not None for arm, version, segment in logged)
    # The window holds the newest len(customers) rows: the 5 singles repeat the batch's first 5 customers, whose
    # batch rows fall out of it, so the window holds exactly compare's customers.
    report = client.get("/api/v1/challenger/report", params={"window": len(customers)})
    assert report.status_code == 200
    compare = client.get(f"/api/v1/models/{second}/compare", params={"with": "active"}).json()
    body = report.json()
    assert body["n_paired"] == len(customers)
    assert body["migration_matrix"] == compare["migration_matrix"]
    assert body["old_segments"] == compare["old_segments"] and body["new_segments"] == compare["new_segments"]
    assert body["requests_by_arm"] == {"champion": len(customers) + 5, "challenger": 0}
    # Kappa and ARI over the same pairs as the matrix (the window's rows), computed by scikit-learn here.
    pairs = [(row.segment_id, row.challenger_segment_id) for row in logged_rows(url)[::-1][: len(customers)]]
    old, new = [p[0] for p in pairs], [p[1] for p in pairs]
    assert body["cohen_kappa"] == pytest.approx(cohen_kappa_score(old, new))
    assert body["adjusted_rand_index"] == pytest.approx(adjusted_rand_score(old, new))
    assert body["agreement"] == pytest.approx(sum(o == n for o, n in pairs) / len(pairs))
    by_segment = body["agreement_by_segment"]
    assert sum(row["n"] for row in by_segment) == len(customers)


def test_promote_activates_the_challenger_and_writes_both_histories(setup):
    client, root, _first, second, _url = setup
    assert _set(client, {"version": second, "mode": "split", "share": 0.2}).status_code == 200
    response = client.post("/api/v1/challenger/promote", headers=ADMIN)
    assert response.status_code == 200
    store = VersionStore(root)
    assert store.active_version() == second
    assert store.history()[-1]["to"] == second and "challenger" in store.history()[-1]["reason"]
    assert [e["event"] for e in challengers.read_history(root)] == ["set", "promoted"]
    assert client.get("/api/v1/challenger").json()["challenger"] is None
    body = client.post("/api/v1/predict", json={"customer_id": 1, "annual_income": 60, "spending_score": 50}).json()
    assert "arm" not in body and body["model_version"] == second


def test_stop_writes_history_and_the_champion_answers_everything(setup):
    client, root, _first, second, _url = setup
    assert _set(client, {"version": second, "mode": "shadow"}).status_code == 200
    assert client.delete("/api/v1/challenger", headers=ADMIN, params={"reason": "enough"}).status_code == 200
    assert [(e["event"], e["reason"]) for e in challengers.read_history(root)][-1] == ("stopped", "enough")
    assert not (root / challengers.CHALLENGER_FILE).exists()
    body = client.post("/api/v1/predict", json={"customer_id": 1, "annual_income": 60, "spending_score": 50}).json()
    assert "arm" not in body
    assert client.delete("/api/v1/challenger", headers=ADMIN).status_code == 409


def test_activating_the_challenger_by_hand_clears_it(setup):
    client, root, first, second, _url = setup
    assert _set(client, {"version": second, "mode": "split", "share": 0.5}).status_code == 200
    assert client.post(f"/api/v1/models/{second}/activate", headers=ADMIN).status_code == 200
    assert client.get("/api/v1/challenger").json()["challenger"] is None
    assert challengers.read_history(root)[-1]["event"] == "cleared"
    # And a rollback back to the old champion, with the old one as challenger, clears that too.
    assert _set(client, {"version": first, "mode": "shadow"}).status_code == 200
    assert client.post("/api/v1/models/rollback", headers=ADMIN).status_code == 200
    assert client.get("/api/v1/challenger").json()["challenger"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"version": "FIRST", "mode": "split", "share": 0.3}, 409),
        ({"version": "20000101.000000.000000-unknown", "mode": "split", "share": 0.3}, 404),
        ({"version": "SECOND", "mode": "split", "share": 0}, 422),
        ({"version": "SECOND", "mode": "split", "share": 1}, 422),
        ({"version": "SECOND", "mode": "split", "share": 1.5}, 422),
        ({"version": "SECOND", "mode": "split", "share": -0.1}, 422),
        ({"version": "SECOND", "mode": "split", "share": "0.5"}, 422),
        ({"version": "SECOND", "mode": "split", "share": True}, 422),
        ({"version": "SECOND", "mode": "split"}, 422),
        ({"version": "SECOND", "mode": "canary", "share": 0.3}, 422),
    ],
)
def test_bad_challengers_are_refused_with_a_clear_4xx(setup, body, status):
    client, _root, first, second, _url = setup
    body = json.loads(json.dumps(body).replace("FIRST", first).replace("SECOND", second))
    response = _set(client, body)
    assert response.status_code == status
    assert response.json()["message"]
    assert client.get("/api/v1/challenger").json()["challenger"] is None


def test_changes_need_the_admin_key(setup):
    client, _root, _first, second, _url = setup
    assert client.put("/api/v1/challenger", json={"version": second, "mode": "shadow"}).status_code == 401
    assert client.delete("/api/v1/challenger").status_code == 401
    assert client.post("/api/v1/challenger/promote").status_code == 401


def test_report_without_a_challenger_is_a_conflict(setup):
    client, *_ = setup
    response = client.get("/api/v1/challenger/report")
    assert response.status_code == 409


def test_the_count_of_logged_rows_per_arm_follows_split(setup):
    client, _root, _first, second, url = setup
    assert _set(client, {"version": second, "mode": "split", "share": 0.5}).status_code == 200
    customers = [{"customer_id": i, "annual_income": 60.0, "spending_score": 50.0} for i in range(300)]
    assert client.post("/api/v1/predict/batch", json={"customers": customers}).status_code == 200
    assert client.app.state.prediction_log.flush()
    expected = sum(challengers.arm_of("default", i, 0.5) == "challenger" for i in range(300))
    counted = dict(Counter(row.arm for row in logged_rows(url)))
    assert counted == {"challenger": expected, "champion": 300 - expected}
    report = client.get("/api/v1/challenger/report").json()
    assert report["requests_by_arm"] == counted and report["n_paired"] == 0


def test_a_bad_customer_of_a_split_batch_is_named_by_its_index_in_the_request(setup):
    client, _root, _first, second, _url = setup
    assert _set(client, {"version": second, "mode": "split", "share": 0.5}).status_code == 200
    customers = [{"customer_id": i, "features": {"annual_income": 60, "spending_score": 50}} for i in range(40)]
    # The last customer whose arm is the challenger, so its index within that arm differs from the request's.
    bad = max(i for i in range(40) if challengers.arm_of("default", i, 0.5) == "challenger")
    customers[bad]["features"] = {"annual_income": 60}
    response = client.post("/api/v1/segmentations/default/predict/batch", json={"customers": customers})
    assert response.status_code == 422
    assert response.json()["message"].startswith(f"customers[{bad}]")


def test_predictions_with_a_challenger_survive_a_database_that_is_away(client_for, two_versions):
    root, first, second = two_versions
    unreachable = "postgresql+psycopg://app:secret@127.0.0.1:1/app?connect_timeout=1"  # nothing listens on port 1
    client = client_for(model_dir=root, database_url=unreachable, admin_api_keys=[KEY])
    assert _set(client, {"version": second, "mode": "shadow"}).status_code == 200
    customers = [{"customer_id": i, "annual_income": 60.0, "spending_score": 50.0} for i in range(20)]
    response = client.post("/api/v1/predict/batch", json={"customers": customers})
    assert response.status_code == 200
    assert {(p["arm"], p["model_version"]) for p in response.json()["predictions"]} == {("champion", first)}
    # The report reads the database: a 503 in the error shape, never a 500.
    report = client.get("/api/v1/challenger/report")
    assert report.status_code == 503 and report.json()["message"]


def test_the_running_challenger_cannot_be_deleted(setup):
    client, root, _first, second, _url = setup
    assert _set(client, {"version": second, "mode": "shadow"}).status_code == 200
    response = client.delete(f"/api/v1/models/{second}", headers=ADMIN)
    assert response.status_code == 409 and "challenger" in response.json()["message"]
    assert (root / second).is_dir()
    assert client.delete("/api/v1/challenger", headers=ADMIN).status_code == 200
    assert client.delete(f"/api/v1/models/{second}", headers=ADMIN).status_code == 204
