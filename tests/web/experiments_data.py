"""Outcomes for the /experiments page tests: customers split by a real challenger, and a campaign with a clear lift."""

from datetime import UTC, datetime, timedelta

import numpy as np

ADMIN_KEY = "experiments-page-admin-key"
OUTCOME_KEY = "experiments-page-crm-key-0123"


def seed_campaign(client, *, challenger: str, flush=None, customers: int = 400, seed: int = 5) -> str:
    """Split `customers` between the arms, report a campaign whose challenger arm converts far more in one segment;
    the lifted segment's name. `client` is a TestClient or an httpx.Client on a live server."""
    put = client.put(
        "/api/v1/challenger",
        json={"version": challenger, "mode": "split", "share": 0.5},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert put.status_code == 200, put.text
    segments = client.get("/api/v1/clusters").json()["segments"]
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(customers):
        features = segments[index % len(segments)]["features"]
        values = {name: float(rng.normal(f["mean"], 0.2 * f["std"])) for name, f in features.items()}
        rows.append({"customer_id": f"P-{index}"} | values)
    predictions = client.post("/api/v1/predict/batch", json={"customers": rows}).json()["predictions"]
    if flush is not None:
        flush()
    lifted = segments[0]["segment_name"]
    events = []
    for p in predictions:
        rate = 0.8 if (p["segment_name"], p["arm"]) == (lifted, "challenger") else 0.2
        when = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()  # after the assignments
        events.append({"customer_id": p["customer_id"], "event": "sent", "campaign": "spring", "occurred_at": when})
        if rng.random() < rate:
            value = float(rng.gamma(2.0, 20.0))
            event = {"event": "purchase", "value": value, "campaign": "spring", "occurred_at": when}
            events.append({"customer_id": p["customer_id"]} | event)
    stored = client.post("/api/v1/outcomes", json={"events": events}, headers={"X-API-Key": OUTCOME_KEY})
    assert stored.status_code == 200, stored.text
    return lifted
