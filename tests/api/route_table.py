"""Every guarded route with the role it needs and a request that succeeds for each role allowed to make it.

A new route needs one line in ROUTES (its role, and how to build a valid request for it from the shared World);
tests/api/test_route_roles.py fails for a route of the app that has none. Entries run in their order: reads
first, then changes, then what deletes (each on objects of its own, made as the request is built).
"""

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from app.core.roles import Role
from app.db.tables import User
from app.services.proposals import records

# Who calls: the anonymous caller, then the three roles (each with its own bearer token).
CALLERS = ("anonymous", "viewer", "analyst", "admin")
# With a customer id column, so two runs can be compared customer by customer.
CSV = "customer_id,annual_income,spending_score\n1,50,50\n2,90,20\n3,15,80\n"
CUSTOMER = {"annual_income": 50, "spending_score": 50}
# The per-segmentation routes as the app declares them, and as the requests fill them (the default segmentation).
SEG_ = "/api/v1/segmentations/{segmentation}"
SEG = "/api/v1/segmentations/default"
FORM_TOKEN = re.compile(r'<input type="hidden" name="form_token" value="([A-Za-z0-9_-]+)">')
DOWNLOAD = re.compile(r'href="/score/download/([0-9a-f]{32})"')
LOYALTY_FEATURES = [
    {"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"},
    {"name": "visits", "column": "Visits", "label": "Visits", "unit": "visits", "transform": "log1p"},
]


@dataclass
class World:
    """The shared objects the requests name: a client with users of every role, runs, a job, a webhook, files."""

    client: TestClient
    headers: dict[str, dict[str, str]]
    segment: int = 0
    target: str = ""
    runs: tuple[str, str] = ("", "")
    job: str = ""
    webhook: int = 0
    download: str = ""
    pending: str = ""
    counter: itertools.count = field(default_factory=itertools.count)

    @property
    def admin(self) -> dict[str, str]:
        """The admin's headers, for the setup a request needs."""
        return self.headers["admin"]

    def n(self) -> int:
        """A number never given before, for names and texts that must differ per request."""
        return next(self.counter)

    def inactive(self) -> str:
        """A version of `default` that is neither active nor the challenger's, read now."""
        versions = self.client.get("/api/v1/models", headers=self.admin).json()["versions"]
        challenger = self.client.get("/api/v1/challenger", headers=self.admin).json().get("version")
        return next(v["version"] for v in versions if not v["active"] and v["version"] != challenger)

    def run(self) -> str:
        """A new run (a file scored by the analyst): its id."""
        response = self.client.post(
            "/api/v1/predict/csv", content=CSV, headers=self.headers["analyst"] | {"Content-Type": "text/csv"}
        )
        assert response.status_code == 200, response.text
        return response.headers["X-Run-Id"]

    def edit(self, prefix: str = "/api/v1") -> int:
        """A new edit of the segment's description by the admin: its id in the segment's history."""
        url = f"{prefix}/clusters/{self.segment}"
        body = {"description": f"Edited {self.n()}", "reason": "matrix"}
        assert self.client.patch(url, json=body, headers=self.admin).status_code == 200
        entries = self.client.get(f"{url}/history", headers=self.admin).json()["entries"]
        return max(entry["id"] for entry in entries if entry["kind"] == "edit")

    def key(self, caller: str) -> int:
        """A personal key of the caller (the viewer's for anonymous): its id."""
        headers = self.headers.get(caller, self.headers["viewer"])
        response = self.client.post("/api/v1/auth/keys", json={"name": f"key {self.n()}"}, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def user(self) -> int:
        """A new viewer who never signs in (no password, so no Argon2 work): its id."""
        with self.client.app.state.db_sessions() as session:
            user = User(
                email=f"user{self.n()}@example.com",
                display_name="user",
                role="viewer",
                password_hash="-",
                created_at=datetime.now(UTC),
                disabled=False,
            )
            session.add(user)
            session.commit()
            return user.id

    def hook(self) -> int:
        """A new webhook subscription: its id."""
        body = {"url": "http://127.0.0.1:9/hook", "events": ["version.activated"]}
        response = self.client.post("/api/v1/webhooks", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def segmentation(self) -> str:
        """A new, untrained segmentation: its name."""
        name = f"throwaway-{self.n()}"
        body = {"name": name, "kind": "columns", "features": LOYALTY_FEATURES}
        assert self.client.post("/api/v1/segmentations", json=body, headers=self.admin).status_code == 201
        return name

    def challenger(self) -> str:
        """A shadow challenger on `default` (set now): its version."""
        version = self.inactive()
        body = {"version": version, "mode": "shadow"}
        assert self.client.put("/api/v1/challenger", json=body, headers=self.admin).status_code == 200
        return version

    def proposal(self) -> str:
        """A proposal whose candidate is ready (stored as its job would leave it): its id."""
        with self.client.app.state.db_sessions() as session:
            active = self.client.get("/api/v1/model/info", headers=self.admin).json()["version"]
            row = records.create(
                session, segmentation="default", trigger=records.MANUAL, reason="m", base_version=active
            )
            row.state, row.candidate_version = records.READY, self.inactive()
            session.commit()
            return row.id

    def activated(self) -> None:
        """Another version activated, so there is one to roll back to."""
        url = f"/api/v1/models/{self.inactive()}/activate"
        assert self.client.post(url, headers=self.admin).status_code == 200

    def jobs_done(self) -> None:
        """Wait for the training jobs started, so none is left running after the tests."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            jobs = self.client.get("/api/v1/jobs", headers=self.admin).json()["jobs"]
            if all(job["state"] in ("succeeded", "failed") for job in jobs):
                return
            time.sleep(0.2)
        raise AssertionError("training jobs did not finish")


@dataclass(frozen=True)
class Call:
    """One request: method and URL come from the route, the rest from the entry."""

    url: str
    kwargs: dict[str, Any]


Build = Callable[[World, str], Call]


def req(url: str, **kwargs: Any) -> Build:
    """A request to `url` ({w.<attr>} filled from the World); keyword values may be functions of (world, caller).

    Entries that must first make what they need (a run to delete, a key to revoke) are functions of their own.
    """

    def build(w: World, caller: str) -> Call:
        values = {name: value(w, caller) if callable(value) else value for name, value in kwargs.items()}
        return Call(url.format(w=w), values)

    return build


@dataclass(frozen=True)
class Entry:
    """The role a route needs (None: any signed-in caller, whatever PUBLIC_READS says) and its request."""

    role: Role | None
    build: Build


V, A, AD, USER = Role.viewer, Role.analyst, Role.admin, None


def _target(w: World, caller: str) -> dict:
    return {"customer": CUSTOMER, "target_segment": w.target}


def _features_target(w: World, caller: str) -> dict:
    return {"customer": {"features": CUSTOMER}, "target_segment": w.target}


def _report(w: World, caller: str) -> Call:
    w.challenger()
    return Call("/api/v1/challenger/report", {})


def _text(w: World, caller: str) -> dict:
    return {"description": f"Edited by the {caller} {w.n()}", "reason": "matrix"}


def _label(w: World, caller: str) -> dict:
    return {"label": f"label {w.n()}"}


def _new_user(w: World, caller: str) -> dict:
    return {"email": f"new{w.n()}@example.com", "password": "a long password", "role": "viewer"}


def _segmentation(w: World, caller: str) -> dict:
    return {"name": f"made-{w.n()}", "kind": "columns", "features": LOYALTY_FEATURES}


def _version_call(path: str, **kwargs: Any) -> Build:
    """A request about a version that is not active, read as the request is built."""
    return lambda w, caller: Call(path.format(v=w.inactive()), kwargs)


def _revert(prefix: str) -> Build:
    return lambda w, caller: Call(f"{prefix}/clusters/{w.segment}/history/{w.edit(prefix)}/revert", {})


def _rollback(prefix: str) -> Build:
    def build(w: World, caller: str) -> Call:
        w.activated()
        return Call(f"{prefix}/models/rollback", {})

    return build


def _train(prefix: str) -> Build:
    return lambda w, caller: Call(f"{prefix}/models", {"data": {"k": "3"}})


def _propose(w: World, caller: str) -> Call:
    # A proposal needs 50 recently logged customers, or it is refused before anything is stored.
    batch = {"customers": [{"annual_income": 20 + n, "spending_score": 1 + n} for n in range(60)]}
    assert w.client.post("/api/v1/predict/batch", json=batch, headers=w.admin).status_code == 200
    assert w.client.app.state.prediction_log.flush()
    return Call("/api/v1/proposals", {"json": {}})


def _decide(decision: str) -> Build:
    return lambda w, caller: Call(f"/api/v1/proposals/{w.proposal()}/{decision}", {})


def _promote(w: World, caller: str) -> Call:
    w.challenger()
    return Call("/api/v1/challenger/promote", {})


def _stop(w: World, caller: str) -> Call:
    w.challenger()
    return Call("/api/v1/challenger", {})


def _patch_user(w: World, caller: str) -> Call:
    return Call(f"/api/v1/users/{w.user()}", {"json": {"role": "analyst"}})


def _set_password(w: World, caller: str) -> Call:
    return Call(f"/api/v1/users/{w.user()}/password", {"json": {"password": "a new long password"}})


def _delete_hook(w: World, caller: str) -> Call:
    return Call(f"/api/v1/webhooks/{w.hook()}", {})


def _set_challenger(w: World, caller: str) -> Call:
    return Call("/api/v1/challenger", {"json": {"version": w.inactive(), "mode": "shadow"}})


def _delete_segmentation(w: World, caller: str) -> Call:
    return Call(f"/api/v1/segmentations/{w.segmentation()}", {})


def _delete_run(w: World, caller: str) -> Call:
    return Call(f"/api/v1/runs/{w.run()}", {})


def _revoke_key(w: World, caller: str) -> Call:
    return Call(f"/api/v1/auth/keys/{w.key(caller)}", {})


def _outcomes(w: World, caller: str) -> dict:
    return {"events": [{"customer_id": "1", "event": "purchase", "campaign": "matrix", "occurred_at": _now()}]}


def _campaign(w: World, caller: str) -> Call:
    stored = w.client.post("/api/v1/outcomes", json=_outcomes(w, caller), headers=w.admin)
    assert stored.status_code == 200, stored.text
    return Call("/api/v1/experiments/matrix", {})


def _now() -> str:
    return datetime.now(UTC).isoformat()


CSV_POST = {"content": CSV, "headers": {"Content-Type": "text/csv"}}
FEATURES_BATCH = {"customers": [{"features": CUSTOMER}]}
HOOK = {"url": "http://127.0.0.1:9/h", "events": ["run.finished"]}
PROFILE = {"files": {"file": ("crm.csv", b"Income,Visits\n10,2\n20,3\n30,5\n", "text/csv")}}

# (method, path as the app declares it) -> who may call it, and a request that succeeds for them.
ROUTES: dict[tuple[str, str], Entry] = {
    # Pages.
    ("GET", "/"): Entry(V, req("/")),
    ("GET", "/about"): Entry(V, req("/about")),
    ("GET", "/audit"): Entry(V, req("/audit")),
    ("GET", "/models"): Entry(V, req("/models")),
    ("GET", "/models/segmentations/new/{token}"): Entry(V, req("/models/segmentations/new/{w.pending}")),
    ("GET", "/monitoring"): Entry(V, req("/monitoring")),
    ("GET", "/runs"): Entry(V, req("/runs")),
    ("GET", "/runs/{run_id}"): Entry(V, req("/runs/{w.runs[0]}")),
    ("GET", "/runs/{run_id}/compare"): Entry(V, req("/runs/{w.runs[1]}/compare?with={w.runs[0]}")),
    ("GET", "/runs/{a}/compare/{b}"): Entry(V, req("/runs/{w.runs[0]}/compare/{w.runs[1]}")),
    ("GET", "/score"): Entry(V, req("/score")),
    ("GET", "/score/download/{token}"): Entry(V, req("/score/download/{w.download}")),
    ("GET", "/webhooks"): Entry(V, req("/webhooks")),
    ("GET", "/users"): Entry(AD, req("/users")),
    ("GET", "/experiments"): Entry(V, req("/experiments")),
    # Reads of the default segmentation, at the top level and under its name.
    ("GET", "/api/v1/clusters"): Entry(V, req("/api/v1/clusters")),
    ("GET", "/api/v1/clusters/info"): Entry(V, req("/api/v1/clusters/info")),
    ("GET", "/api/v1/clusters/{segment_id}"): Entry(V, req("/api/v1/clusters/{w.segment}")),
    ("GET", "/api/v1/clusters/{segment_id:digits}/history"): Entry(V, req("/api/v1/clusters/{w.segment}/history")),
    ("GET", "/api/v1/clusters/{segment_id}/rules"): Entry(V, req("/api/v1/clusters/{w.segment}/rules")),
    ("GET", "/api/v1/model/info"): Entry(V, req("/api/v1/model/info")),
    ("GET", "/api/v1/models"): Entry(V, req("/api/v1/models")),
    ("GET", "/api/v1/models/history"): Entry(V, req("/api/v1/models/history")),
    ("GET", "/api/v1/models/{version}"): Entry(V, _version_call("/api/v1/models/{v}")),
    ("GET", "/api/v1/models/{version}/compare"): Entry(V, _version_call("/api/v1/models/{v}/compare?with=active")),
    ("GET", "/api/v1/models/{version}/report"): Entry(V, _version_call("/api/v1/models/{v}/report?format=html")),
    ("GET", "/api/v1/monitoring/drift"): Entry(V, req("/api/v1/monitoring/drift")),
    ("GET", "/api/v1/monitoring/drift/history"): Entry(V, req("/api/v1/monitoring/drift/history")),
    ("GET", "/api/v1/monitoring/predictions"): Entry(V, req("/api/v1/monitoring/predictions")),
    ("GET", "/api/v1/monitoring/timeseries"): Entry(V, req("/api/v1/monitoring/timeseries")),
    ("GET", "/api/v1/jobs/{job_id}"): Entry(V, req("/api/v1/jobs/{w.job}")),
    ("GET", "/api/v1/jobs"): Entry(AD, req("/api/v1/jobs")),
    ("GET", "/api/v1/segmentations"): Entry(V, req("/api/v1/segmentations")),
    ("GET", "/api/v1/segmentations/{segmentation}"): Entry(V, req(SEG)),
    ("GET", SEG_ + "/clusters"): Entry(V, req(SEG + "/clusters")),
    ("GET", SEG_ + "/clusters/info"): Entry(V, req(SEG + "/clusters/info")),
    ("GET", SEG_ + "/clusters/{segment_id}"): Entry(V, req(SEG + "/clusters/{w.segment}")),
    ("GET", SEG_ + "/clusters/{segment_id:digits}/history"): Entry(V, req(SEG + "/clusters/{w.segment}/history")),
    ("GET", SEG_ + "/clusters/{segment_id}/rules"): Entry(V, req(SEG + "/clusters/{w.segment}/rules")),
    ("GET", SEG_ + "/model/info"): Entry(V, req(SEG + "/model/info")),
    ("GET", SEG_ + "/models"): Entry(V, req(SEG + "/models")),
    ("GET", SEG_ + "/models/history"): Entry(V, req(SEG + "/models/history")),
    ("GET", SEG_ + "/models/{version}"): Entry(V, _version_call(SEG + "/models/{v}")),
    ("GET", SEG_ + "/models/{version}/compare"): Entry(V, _version_call(SEG + "/models/{v}/compare?with=active")),
    ("GET", SEG_ + "/models/{version}/report"): Entry(V, _version_call(SEG + "/models/{v}/report?format=html")),
    ("GET", SEG_ + "/monitoring/drift"): Entry(V, req(SEG + "/monitoring/drift")),
    ("GET", SEG_ + "/monitoring/drift/history"): Entry(V, req(SEG + "/monitoring/drift/history")),
    ("GET", SEG_ + "/monitoring/predictions"): Entry(V, req(SEG + "/monitoring/predictions")),
    ("GET", SEG_ + "/monitoring/timeseries"): Entry(V, req(SEG + "/monitoring/timeseries")),
    ("GET", SEG_ + "/jobs/{job_id}"): Entry(V, req(SEG + "/jobs/{w.job}")),
    ("GET", SEG_ + "/jobs"): Entry(AD, req(SEG + "/jobs")),
    ("GET", "/api/v1/challenger"): Entry(V, req("/api/v1/challenger")),
    ("GET", "/api/v1/challenger/report"): Entry(V, _report),
    ("GET", "/api/v1/experiments"): Entry(V, req("/api/v1/experiments")),
    ("GET", "/api/v1/proposals"): Entry(V, req("/api/v1/proposals")),
    ("GET", "/api/v1/proposals/{proposal_id}"): Entry(V, lambda w, c: Call(f"/api/v1/proposals/{w.proposal()}", {})),
    ("GET", "/api/v1/experiments/{campaign}"): Entry(V, _campaign),
    # Runs.
    ("GET", "/api/v1/runs"): Entry(V, req("/api/v1/runs")),
    ("GET", "/api/v1/runs/{run_id}"): Entry(V, req("/api/v1/runs/{w.runs[0]}")),
    ("GET", "/api/v1/runs/{run_id}/crm"): Entry(V, req("/api/v1/runs/{w.runs[0]}/crm")),
    ("GET", "/api/v1/runs/{run_id}/customers"): Entry(V, req("/api/v1/runs/{w.runs[0]}/customers")),
    ("GET", "/api/v1/runs/{run_id}/drift"): Entry(V, req("/api/v1/runs/{w.runs[0]}/drift")),
    ("GET", "/api/v1/runs/{run_id}/file"): Entry(V, req("/api/v1/runs/{w.runs[0]}/file")),
    ("GET", "/api/v1/runs/{run_id}/report"): Entry(V, req("/api/v1/runs/{w.runs[0]}/report?format=html")),
    ("GET", "/api/v1/runs/{a}/compare/{b}"): Entry(V, req("/api/v1/runs/{w.runs[0]}/compare/{w.runs[1]}")),
    # Predictions (reads: a viewer with PUBLIC_READS off) and files (analysts).
    ("POST", "/api/v1/predict"): Entry(V, req("/api/v1/predict", json=CUSTOMER)),
    ("POST", "/api/v1/predict/batch"): Entry(V, req("/api/v1/predict/batch", json={"customers": [CUSTOMER]})),
    ("POST", "/api/v1/predict/counterfactual"): Entry(V, req("/api/v1/predict/counterfactual", json=_target)),
    ("POST", "/api/v1/predict/csv"): Entry(A, req("/api/v1/predict/csv", **CSV_POST)),
    ("POST", SEG_ + "/predict"): Entry(V, req(SEG + "/predict", json={"features": CUSTOMER})),
    ("POST", SEG_ + "/predict/batch"): Entry(V, req(SEG + "/predict/batch", json=FEATURES_BATCH)),
    ("POST", SEG_ + "/predict/counterfactual"): Entry(V, req(SEG + "/predict/counterfactual", json=_features_target)),
    ("POST", SEG_ + "/predict/csv"): Entry(A, req(SEG + "/predict/csv", **CSV_POST)),
    ("POST", "/api/v1/outcomes"): Entry(A, req("/api/v1/outcomes", json=_outcomes)),
    # Accounts: any signed-in caller for their own keys; admins for users and the audit trail.
    ("POST", "/api/v1/auth/keys"): Entry(USER, req("/api/v1/auth/keys", json=lambda w, c: {"name": f"k{w.n()}"})),
    ("GET", "/api/v1/auth/keys"): Entry(USER, req("/api/v1/auth/keys")),
    ("DELETE", "/api/v1/auth/keys/{key_id}"): Entry(USER, _revoke_key),
    ("GET", "/api/v1/users"): Entry(AD, req("/api/v1/users")),
    ("POST", "/api/v1/users"): Entry(AD, req("/api/v1/users", json=_new_user)),
    ("PATCH", "/api/v1/users/{user_id}"): Entry(AD, _patch_user),
    ("PUT", "/api/v1/users/{user_id}/password"): Entry(AD, _set_password),
    ("GET", "/api/v1/audit"): Entry(AD, req("/api/v1/audit")),
    # Webhooks.
    ("GET", "/api/v1/webhooks"): Entry(AD, req("/api/v1/webhooks")),
    ("POST", "/api/v1/webhooks"): Entry(AD, req("/api/v1/webhooks", json=HOOK)),
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries"): Entry(AD, req("/api/v1/webhooks/{w.webhook}/deliveries")),
    ("POST", "/api/v1/webhooks/{subscription_id}/test"): Entry(AD, req("/api/v1/webhooks/{w.webhook}/test")),
    ("DELETE", "/api/v1/webhooks/{subscription_id}"): Entry(AD, _delete_hook),
    # Segment text: analysts and admins.
    ("PATCH", "/api/v1/clusters/{segment_id:digits}"): Entry(A, req("/api/v1/clusters/{w.segment}", json=_text)),
    ("PATCH", SEG_ + "/clusters/{segment_id:digits}"): Entry(A, req(SEG + "/clusters/{w.segment}", json=_text)),
    ("POST", "/api/v1/clusters/{segment_id:digits}/history/{entry_id:digits}/revert"): Entry(A, _revert("/api/v1")),
    ("POST", SEG_ + "/clusters/{segment_id:digits}/history/{entry_id:digits}/revert"): Entry(A, _revert(SEG)),
    # Versions, challengers, segmentations, files: admins.
    ("PATCH", "/api/v1/models/{version}"): Entry(AD, _version_call("/api/v1/models/{v}", json={"label": "spring"})),
    ("PATCH", SEG_ + "/models/{version}"): Entry(AD, _version_call(SEG + "/models/{v}", json={"label": "autumn"})),
    ("POST", "/api/v1/models/{version}/activate"): Entry(AD, _version_call("/api/v1/models/{v}/activate")),
    ("POST", SEG_ + "/models/{version}/activate"): Entry(AD, _version_call(SEG + "/models/{v}/activate")),
    ("POST", "/api/v1/models/rollback"): Entry(AD, _rollback("/api/v1")),
    ("POST", SEG_ + "/models/rollback"): Entry(AD, _rollback(SEG)),
    ("POST", "/api/v1/models"): Entry(AD, _train("/api/v1")),
    ("POST", SEG_ + "/models"): Entry(AD, _train(SEG)),
    ("PUT", "/api/v1/challenger"): Entry(AD, _set_challenger),
    ("DELETE", "/api/v1/challenger"): Entry(AD, _stop),
    ("POST", "/api/v1/challenger/promote"): Entry(AD, _promote),
    ("POST", "/api/v1/segmentations"): Entry(AD, req("/api/v1/segmentations", json=_segmentation)),
    ("POST", "/api/v1/proposals"): Entry(AD, _propose),
    ("POST", "/api/v1/proposals/{proposal_id}/accept"): Entry(AD, _decide("accept")),
    ("POST", "/api/v1/proposals/{proposal_id}/dismiss"): Entry(AD, _decide("dismiss")),
    ("POST", "/api/v1/files/profile"): Entry(AD, req("/api/v1/files/profile", **PROFILE)),
    # What deletes, last: each on an object of its own.
    ("DELETE", "/api/v1/models/{version}"): Entry(AD, _version_call("/api/v1/models/{v}")),
    ("DELETE", SEG_ + "/models/{version}"): Entry(AD, _version_call(SEG + "/models/{v}")),
    ("DELETE", "/api/v1/runs/{run_id}"): Entry(AD, _delete_run),
    ("DELETE", "/api/v1/segmentations/{segmentation}"): Entry(AD, _delete_segmentation),
}  # fmt: skip
