"""challenger.report: when a challenger is promoted or stopped, subscribers get its final agreement report."""

import pytest

from app.services.notifications.events import CHALLENGER_REPORT
from tests.api.test_challenger import ADMIN, _set, setup  # noqa: F401 - the two-version client fixture
from tests.services.proposals.helpers import events


def _shadow_traffic(client) -> None:
    customers = [{"annual_income": float(i % 140), "spending_score": float(i % 99 + 1)} for i in range(200)]
    assert client.post("/api/v1/predict/batch", json={"customers": customers}).status_code == 200
    assert client.app.state.prediction_log.flush()


@pytest.mark.parametrize(("ending", "outcome"), [("promote", "promoted"), ("stop", "stopped")])
def test_ending_a_challenger_sends_its_final_report(setup, ending, outcome):  # noqa: F811
    client, _root, _first, second, url = setup
    assert _set(client, {"version": second, "mode": "shadow"}).status_code == 200
    _shadow_traffic(client)
    final = client.get("/api/v1/challenger/report").json()

    if ending == "promote":
        response = client.post("/api/v1/challenger/promote", headers=ADMIN)
    else:
        response = client.delete("/api/v1/challenger", headers=ADMIN)
    assert response.status_code == 200

    (event,) = events(url, CHALLENGER_REPORT)
    assert (event.payload["outcome"], event.payload["version"], event.payload["mode"]) == (outcome, second, "shadow")
    report = event.payload["report"]
    assert report["n_paired"] == final["n_paired"] == 200
    assert report["migration_matrix"] == final["migration_matrix"]
    assert report["agreement"] == pytest.approx(final["agreement"])


def test_a_refused_ending_sends_nothing(setup):  # noqa: F811
    client, *_rest, url = setup
    assert client.post("/api/v1/challenger/promote", headers=ADMIN).status_code == 409
    assert client.delete("/api/v1/challenger", headers=ADMIN).status_code == 409
    assert events(url, CHALLENGER_REPORT) == []
