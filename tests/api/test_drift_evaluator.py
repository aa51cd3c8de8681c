"""The drift evaluator in a running app: started by the lifespan, its verdicts on /metrics and in
/api/v1/monitoring/drift/history."""

from tests.api.test_monitoring import customers, feed
from tests.api.test_ops import ops_client, samples, value  # noqa: F401 - the loopback client fixture


def test_an_evaluation_sets_the_gauge_and_is_in_the_history(ops_client, tmp_path, fresh_dir, model):  # noqa: F811
    # A private versions folder: the drift proposes retraining, whose job adds a candidate version to it.
    client = ops_client(
        model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}", drift_evaluation_seconds=3_600
    )
    evaluator = client.app.state.drift_evaluator
    assert evaluator is not None and evaluator.interval == 3_600
    std = model.info["data_stats"]["annual_income"]["std"]
    feed(client, customers(400, seed=51, income_shift=std))
    assert evaluator.run_once() == ["default"]

    metrics = samples(client)
    assert value(metrics, "drift_status", segmentation="default", check="overall") == 2.0
    assert value(metrics, "drift_status", segmentation="default", check="feature:annual_income") == 2.0

    response = client.get("/api/v1/monitoring/drift/history")
    assert response.status_code == 200
    (evaluation,) = response.json()["evaluations"]
    assert (evaluation["status"], evaluation["window"]["size"]) == ("drift", 400)
    assert evaluation["checks"][0] == {"check": "overall", "status": "drift", "value": None}
    # Every stored check is on the gauge, with its status's value.
    codes = {"stable": 0.0, "watch": 1.0, "drift": 2.0, "insufficient data": -1.0}
    for check in evaluation["checks"]:
        assert value(metrics, "drift_status", segmentation="default", check=check["check"]) == codes[check["status"]]
    assert client.get("/api/v1/segmentations/default/monitoring/drift/history").json()["evaluations"] == [evaluation]
    assert client.get("/api/v1/segmentations/nope/monitoring/drift/history").status_code == 404
    # The drift proposed a retrained candidate, whose training job started.
    (proposal,) = client.get("/api/v1/proposals").json()["proposals"]
    assert proposal["trigger"] == "drift" and proposal["reason"].startswith("drift in ")
    assert "annual_income" in proposal["reason"] and " since " in proposal["reason"]
    assert proposal["job_id"] is not None


def test_the_evaluator_is_off_with_zero_seconds(ops_client, tmp_path):  # noqa: F811
    client = ops_client(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}", drift_evaluation_seconds=0)
    assert client.app.state.drift_evaluator is None
    assert client.get("/api/v1/monitoring/drift/history").json()["evaluations"] == []
