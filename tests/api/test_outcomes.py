"""POST /api/v1/outcomes: who may report, what is refused, and how events are joined to what customers were given."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.db.tables import AuditEvent, OutcomeEvent, PredictionChunk
from app.services.monitoring.prediction_log import CHUNK_FROM_ROWS
from tests.accounts import JWT_SECRET, add_user, bearer

ADMIN_KEY = "outcomes-admin-key"
OUTCOME_KEY = "outcomes-crm-key-0123456789"
CRM = {"X-API-Key": OUTCOME_KEY}
ADMIN = {"X-API-Key": ADMIN_KEY}
WHEN = "2026-12-01T10:00:00Z"


@pytest.fixture
def setup(client_for, two_versions, tmp_path):
    """A client with an outcome key, an admin key and users: (client, champion, other version)."""
    root, first, second = two_versions
    client = client_for(
        model_dir=root,
        database_url=f"sqlite:///{tmp_path / 'outcomes.sqlite3'}",
        admin_api_keys=[ADMIN_KEY],
        outcome_api_keys=[OUTCOME_KEY],
        jwt_secret=JWT_SECRET,
        rate_limit_admin="100000/minute",
    )
    return client, first, second


def _event(customer_id, **extra) -> dict:
    return {"customer_id": customer_id, "event": "purchase", "campaign": "winter", "occurred_at": WHEN} | extra


def _soon() -> str:
    """A moment after now: after every assignment a test has made so far."""
    return (datetime.now(UTC) + timedelta(minutes=1)).isoformat()


def _split(client, second, ids):
    """Set a split challenger and predict `ids`: each customer's arm."""
    put = client.put("/api/v1/challenger", json={"version": second, "mode": "split", "share": 0.5}, headers=ADMIN)
    assert put.status_code == 200
    customers = [{"customer_id": i, "annual_income": 60, "spending_score": 50} for i in ids]
    predictions = client.post("/api/v1/predict/batch", json={"customers": customers}).json()["predictions"]
    assert client.app.state.challenger_assignments.flush() and client.app.state.prediction_log.flush()
    return {p["customer_id"]: p["arm"] for p in predictions}


def _post(client, events, headers=CRM, **params):
    return client.post("/api/v1/outcomes", json={"events": events}, headers=headers, params=params)


def _stored(client) -> list[OutcomeEvent]:
    with client.app.state.db_sessions() as session:
        return list(session.scalars(select(OutcomeEvent).order_by(OutcomeEvent.id)))


def _counted(matched: str) -> float:
    return REGISTRY.get_sample_value("outcome_events_total", {"segmentation": "default", "matched": matched}) or 0.0


def test_unknown_customer_is_stored_unmatched_and_counted(setup):
    client, *_ = setup
    before = _counted("false")
    response = _post(client, [_event("nobody-1"), _event("nobody-2", value=12.5), _event(99)])
    assert response.status_code == 200, response.text
    assert response.json() == {"segmentation": "default", "stored": 3, "matched": 0, "unmatched": 3}
    rows = _stored(client)
    assert [(r.customer_id, r.matched, r.arm, r.segment_name, r.value) for r in rows] == [
        ("nobody-1", False, None, None, None),
        ("nobody-2", False, None, None, 12.5),
        ("99", False, None, None, None),
    ]
    assert _counted("false") == before + 3


def test_a_customer_is_joined_to_their_newest_logged_segment(setup):
    client, first, _ = setup
    # The same customer twice: the newest prediction is the segment they last got.
    for income, spending in [(20, 10), (90, 90)]:
        answer = client.post(
            "/api/v1/predict", json={"customer_id": "C-1", "annual_income": income, "spending_score": spending}
        )
        assert answer.status_code == 200
    client.post("/api/v1/predict", json={"customer_id": 7, "annual_income": 20, "spending_score": 10})
    assert client.app.state.prediction_log.flush()
    before = _counted("true")
    # 7.0 is the integer id 7, as for predictions.
    response = _post(client, [_event("C-1"), _event(7.0), _event("C-2")])
    assert response.json() == {"segmentation": "default", "stored": 3, "matched": 2, "unmatched": 1}
    assert _counted("true") == before + 2
    rows = {r.customer_id: r for r in _stored(client)}
    assert (rows["C-1"].matched, rows["C-1"].version, rows["C-1"].arm) == (True, first, None)
    assert rows["C-1"].segment_name == answer.json()["segment_name"]
    assert rows["7"].segment_name != rows["C-1"].segment_name
    assert rows["C-2"].matched is False


def test_a_customer_logged_in_a_chunk_is_joined_to_their_newest_segment_there(setup):
    client, first, _ = setup
    # A batch large enough to be stored as one chunk row; C-1 is in it twice, and was scored alone before it.
    assert client.post("/api/v1/predict", json={"customer_id": "C-1", "annual_income": 20, "spending_score": 10})
    customers = [
        {"customer_id": f"B-{i}", "annual_income": 10 + i % 130, "spending_score": 1 + i % 99} for i in range(200)
    ]
    customers[5]["customer_id"] = customers[150]["customer_id"] = "C-1"
    customers[150] |= {"annual_income": 120, "spending_score": 90}
    assert len(customers) >= CHUNK_FROM_ROWS
    predictions = client.post("/api/v1/predict/batch", json={"customers": customers}).json()["predictions"]
    assert client.app.state.prediction_log.flush()
    with client.app.state.db_sessions() as session:
        assert session.scalar(select(func.sum(PredictionChunk.row_count))) == 200
    response = _post(client, [_event("C-1"), _event("B-7"), _event("B-5")])
    assert response.json() == {"segmentation": "default", "stored": 3, "matched": 2, "unmatched": 1}
    rows = {r.customer_id: r for r in _stored(client)}
    assert (rows["C-1"].version, rows["C-1"].segment_name) == (first, predictions[150]["segment_name"])
    assert rows["B-7"].segment_id == predictions[7]["segment_id"] and rows["B-5"].matched is False


def test_a_split_challengers_arm_is_joined_from_the_assignments(setup):
    client, first, second = setup
    put = client.put("/api/v1/challenger", json={"version": second, "mode": "split", "share": 0.5}, headers=ADMIN)
    assert put.status_code == 200
    customers = [{"customer_id": f"S-{i}", "annual_income": 60, "spending_score": 50} for i in range(40)]
    predictions = client.post("/api/v1/predict/batch", json={"customers": customers}).json()["predictions"]
    assert client.app.state.challenger_assignments.flush() and client.app.state.prediction_log.flush()
    events = [_event(c["customer_id"], occurred_at=_soon()) for c in customers]
    assert _post(client, events).json()["matched"] == 40
    given = {p["customer_id"]: (p["arm"], p["model_version"], p["segment_name"]) for p in predictions}
    assert {arm for arm, _, _ in given.values()} == {"champion", "challenger"}
    assert {r.customer_id: (r.arm, r.version, r.segment_name) for r in _stored(client)} == given
    assert {version for _, version, _ in given.values()} == {first, second}


def test_an_outcome_before_the_assignment_takes_no_arm_and_is_left_out_of_the_report(setup):
    client, _, second = setup
    arms = _split(client, second, [f"E-{i}" for i in range(40)])
    early = next(c for c, arm in arms.items() if arm == "challenger")
    events = [_event(early, campaign="pre-experiment", value=100, occurred_at="2001-01-01T00:00:00Z")]
    events += [_event(c, campaign="pre-experiment", occurred_at=_soon()) for c in arms if c != early]
    assert _post(client, events).json()["matched"] == 40
    rows = {r.customer_id: r for r in _stored(client)}
    assert (rows[early].arm, rows[early].matched) == (None, True)
    assert rows[early].assigned_at > rows[early].occurred_at
    report = client.get("/api/v1/experiments/pre-experiment", params={"event": "purchase"})
    assert report.status_code == 200
    body = report.json()
    assert body["outcomes_before_assignment"] == 1
    assert body["customers"] == 39
    challengers = [arm for segment in body["segments"] for arm in segment["arms"] if arm["arm"] == "challenger"]
    # The early customer's purchase of 100 is no challenger's conversion: only the others' purchases are.
    assert sum(arm["conversions"] for arm in challengers) == sum(arm == "challenger" for arm in arms.values()) - 1
    assert "1 outcome occurred before the customer's assignment in the experiment: left out" in body["warnings"]


def test_an_outcome_after_its_experiment_stopped_takes_no_arm(setup):
    client, _, second = setup
    arms = _split(client, second, [f"F-{i}" for i in range(20)])
    during = datetime.now(UTC).isoformat()  # after the assignments, before the stop
    assert client.delete("/api/v1/challenger", headers=ADMIN).status_code == 200
    after = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    customer = next(iter(arms))
    _post(client, [_event(customer, occurred_at=during, event="open"), _event(customer, occurred_at=after)])
    during_row, after_row = _stored(client)
    assert (during_row.arm, after_row.arm) == (arms[customer], None)
    assert after_row.matched is True


def test_an_outcome_in_a_second_run_of_the_version_counts_for_the_arm_of_the_first(setup):
    client, _, second = setup
    arms = _split(client, second, [f"R-{i}" for i in range(20)])
    assert client.delete("/api/v1/challenger", headers=ADMIN).status_code == 200
    # The same version again, with the same share: half the customers come back, the others are not served again.
    again = _split(client, second, list(arms)[:10])
    assert again == {c: arms[c] for c in again}
    response = _post(client, [_event(c, campaign="rerun", occurred_at=_soon()) for c in arms])
    assert response.json()["matched"] == 20
    assert {r.customer_id: r.arm for r in _stored(client)} == arms
    body = client.get("/api/v1/experiments/rerun", params={"event": "purchase"}).json()
    counted = {arm["arm"]: arm["customers"] for segment in body["segments"] for arm in segment["arms"]}
    assert counted == {arm: list(arms.values()).count(arm) for arm in ("champion", "challenger")}
    assert body["outcomes_before_assignment"] == 0


def test_who_may_report_outcomes(setup):
    client, *_ = setup
    for name in ("viewer", "analyst", "admin"):
        add_user(client.app, f"{name}@example.com", name)
    event = [_event("C-9")]
    anonymous = _post(client, event, headers={})
    assert anonymous.status_code == 401
    viewer = _post(client, event, headers=bearer(client, "viewer@example.com"))
    assert viewer.status_code == 403 and "analyst" in viewer.json()["message"]
    assert _post(client, event, headers={"X-API-Key": "not-a-key-of-ours"}).status_code == 403
    assert _post(client, event).status_code == 200
    assert _post(client, event, headers=bearer(client, "analyst@example.com")).status_code == 200
    assert _post(client, event, headers=bearer(client, "admin@example.com")).status_code == 200
    assert _post(client, event, headers=ADMIN).status_code == 200
    assert len(_stored(client)) == 4


def test_an_anonymous_writer_is_told_what_may_report_outcomes(setup):
    client, *_ = setup
    response = _post(client, [_event("C-9")], headers={})
    assert response.status_code == 401
    message = response.json()["message"]
    assert message.startswith("this needs a key from OUTCOME_API_KEYS, or an analyst or admin: sign in at /login")
    assert "admin role" not in message


def test_an_outcome_key_opens_no_other_route(setup):
    client, _, second = setup
    response = client.put("/api/v1/challenger", json={"version": second, "mode": "shadow"}, headers=CRM)
    assert response.status_code == 403


def test_nothing_configured_is_closed(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'closed.sqlite3'}")
    response = _post(client, [_event("C-1")], headers={})
    assert response.status_code == 403
    assert "OUTCOME_API_KEYS" in response.json()["message"]


def test_a_refused_writer_is_refused_before_the_body_is_read(setup):
    client, *_ = setup
    # Not even JSON: the key check answers first.
    response = client.post("/api/v1/outcomes", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 401


def test_the_post_is_audited(setup):
    client, *_ = setup
    assert _post(client, [_event("C-1"), _event("C-2")]).status_code == 200
    with client.app.state.db_sessions() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "outcomes.record")))
    assert [(r.target, r.detail["stored"], r.detail["unmatched"]) for r in rows] == [("default", 2, 2)]
    assert rows[0].who.startswith("outcome-key-") and OUTCOME_KEY not in rows[0].who


BAD = [
    ("customer_id", _event("")),
    ("customer_id", _event("   ")),
    ("customer_id", _event(True)),
    ("customer_id", _event(1.5)),
    ("customer_id", _event(2**53)),
    ("customer_id", _event(None)),
    ("event", _event("C-1", event="")),
    ("event", _event("C-1", event=3)),
    ("value", _event("C-1", value="12")),
    ("value", _event("C-1", value=1e300)),
    ("campaign", _event("C-1", campaign="")),
    # Its report is at /experiments/{campaign}: a "/" (sent as %2F or not) would split the address.
    ("campaign", _event("C-1", campaign="spring/2027")),
    # Names are shown on /experiments and in its links: no NUL, line break or bidi override, and no "." or "..",
    # which as a path segment would make the report's address another one.
    ("event", _event("C-1", event="a\u0000b")),
    ("event", _event("C-1", event="a\nb")),
    ("event", _event("C-1", event="\u202etxt")),
    ("event", _event("C-1", event="..")),
    ("campaign", _event("C-1", campaign="a\u0000b")),
    ("campaign", _event("C-1", campaign="spring\r\n2027")),
    ("campaign", _event("C-1", campaign="\u202etxt")),
    ("campaign", _event("C-1", campaign="ab\u200b")),
    ("campaign", _event("C-1", campaign=".")),
    ("campaign", _event("C-1", campaign="..")),
    ("occurred_at", _event("C-1", occurred_at="2026-12-01T10:00:00")),
    ("occurred_at", _event("C-1", occurred_at="1899-12-01T10:00:00Z")),
    ("occurred_at", _event("C-1", occurred_at="2999-12-01T10:00:00Z")),
    ("occurred_at", _event("C-1", occurred_at=1764583200)),
    ("occurred_at", _event("C-1", occurred_at="yesterday")),
    ("colour", _event("C-1", colour="red")),
]


@pytest.mark.parametrize(("field", "event"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
def test_bad_events_are_422_naming_the_field(setup, field, event):
    client, *_ = setup
    response = _post(client, [_event("C-0"), event])
    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["details"])
    assert _stored(client) == []


def test_a_text_id_is_trimmed_as_a_predictions_is(setup):
    client, *_ = setup
    answer = client.post("/api/v1/predict", json={"customer_id": " C-5", "annual_income": 60, "spending_score": 50})
    assert answer.status_code == 200
    assert client.app.state.prediction_log.flush()
    response = _post(client, [_event(" C-5\t")])
    assert response.status_code == 200, response.text
    assert (response.json()["matched"], [row.customer_id for row in _stored(client)]) == (1, ["C-5"])


def test_names_in_any_script_with_spaces_and_dots_are_stored_as_sent(setup):
    client, *_ = setup
    names = [("achat réussi", "été 2026"), ("покупка", "spring.2027"), ("..x", "v1..2"), ("a b", "...x...")]
    response = _post(client, [_event("C-1", event=event, campaign=campaign) for event, campaign in names])
    assert response.status_code == 200, response.text
    assert [(row.event, row.campaign) for row in _stored(client)] == names


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_values_are_422(setup, literal):
    client, *_ = setup
    event = json.dumps({"customer_id": "C-1", "event": "e", "value": 0.0, "occurred_at": WHEN})
    body = '{"events": [' + event.replace("0.0", literal) + "]}"
    response = client.post("/api/v1/outcomes", content=body, headers=CRM | {"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "value" in json.dumps(response.json()["details"])


def test_an_empty_list_is_422(setup):
    client, *_ = setup
    assert _post(client, []).status_code == 422


def test_more_events_than_the_setting_are_422(client_for, tmp_path):
    client = client_for(
        database_url=f"sqlite:///{tmp_path / 'few.sqlite3'}", outcome_api_keys=[OUTCOME_KEY], outcomes_max_events=5
    )
    response = _post(client, [_event(f"C-{i}") for i in range(6)])
    assert response.status_code == 422
    assert "at most 5" in response.json()["message"]
    assert _post(client, [_event(f"C-{i}") for i in range(5)]).status_code == 200


def test_more_than_ten_thousand_events_are_refused(setup):
    client, *_ = setup
    small = [{"customer_id": i, "event": "e", "occurred_at": WHEN} for i in range(10_001)]
    response = _post(client, small)
    assert response.status_code == 422
    assert "10000" in response.text or "10,000" in response.text


def test_a_hundred_thousand_outcomes_are_refused_before_parsing(setup):
    client, *_ = setup
    response = _post(client, [_event(f"C-{i}") for i in range(100_000)])
    assert response.status_code == 413
    assert response.json()["type"] == "body_too_large"
    assert _stored(client) == []


def test_an_unknown_segmentation_is_404(setup):
    client, *_ = setup
    assert _post(client, [_event("C-1")], segmentation="nosuch").status_code == 404
    assert _post(client, [_event("C-1")], segmentation="Bad Name").status_code == 422


def test_a_customer_id_holding_a_nul_is_refused_with_its_index(setup):
    client, *_ = setup
    response = _post(client, [_event("C-1"), _event("C-\x002")])
    assert response.status_code == 422  # PostgreSQL cannot look up or store a NUL: it was a 500 there
    assert "events.1.customer_id" in response.json()["message"] and "U+0000" in response.json()["message"]
    assert _stored(client) == []
