"""Every route x role with PUBLIC_READS=false: anonymous 401, a role below the route's 403, and the route's role or
above a real 2xx, each with a valid request (tests/api/route_table.py). The routes come from the app itself, so a new
route without an entry in the table fails here."""

import re
import shutil

import pytest
from fastapi.routing import APIRoute

from app.core.roles import Role
from tests.accounts import JWT_SECRET, add_user, bearer
from tests.api.route_table import CALLERS, DOWNLOAD, FORM_TOKEN, ROUTES, World

# Routes anyone may call whatever PUBLIC_READS says: signing in, and what load balancers and Prometheus ask (the
# metrics have their own network rule).
OPEN = {"/api/v1/auth/token", "/api/v1/health", "/login", "/logout", "/livez", "/readyz", "/metrics"}
# Sends anyone not signed in to /login (tests/web/test_login.py).
OPEN |= {"/account"}
# Any signed-in caller, for themselves only: it ends the caller's own tokens, so it is tested on users of its own
# (tests/api/test_passwords.py) rather than on the matrix's shared ones.
OPEN |= {"/api/v1/auth/password"}
ROLES = {"viewer": Role.viewer, "analyst": Role.analyst, "admin": Role.admin}


def _leaves(routes):
    for route in routes:
        children = getattr(route, "effective_candidates", None)
        if callable(children):
            yield from _leaves(children())
        else:
            yield route


def app_routes(app) -> set[tuple[str, str]]:
    """Every (method, path) of the app the matrix covers."""
    found = set()
    for route in _leaves(app.router.routes):
        if not isinstance(getattr(route, "original_route", route), APIRoute) or route.path in OPEN:
            continue
        # Pages' own form posts carry their own tokens and are tested with them (tests/web); docs are public.
        if not route.path.startswith("/api/v1") and route.methods - {"HEAD"} != {"GET"}:
            continue
        if route.path.startswith(("/docs", "/redoc", "/openapi")):
            continue
        found |= {(method, route.path) for method in route.methods - {"HEAD"}}
    return found


def _role_refusal(response) -> bool:
    return re.search(r"needs (the \w+ role|an admin)", response.text) is not None


@pytest.fixture(scope="module")
def world(make_settings, two_versions_template, default_data, tmp_path_factory):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.models.training import train

    root = tmp_path_factory.mktemp("closed")
    # A copy with two more versions: activating, rolling back, promoting and deleting each need one of their own.
    shutil.copytree(two_versions_template[0], root / "models_artifacts")
    for seed in (11, 12):
        train(default_data, output_dir=root / "models_artifacts", k=3, sweep=False, seed=seed)
    settings = make_settings(
        model_dir=root / "models_artifacts",
        database_url=f"sqlite:///{root / 'accounts.sqlite3'}",
        score_results_dir=root / "results",
        jobs_dir=root / "jobs",
        public_reads=False,
        jwt_secret=JWT_SECRET,
        webhook_allow_private=True,
        # /models offers its upload form (for the column chooser below) to callers with a key when keys exist.
        admin_api_keys=["matrix-service-key"],
        rate_limit_admin="100000/minute",
        rate_limit_predict="100000/minute",
        train_max_concurrent_jobs=4,  # the two training routes start theirs while the fixture's may still run
    )
    with TestClient(create_app(settings)) as client:
        for name in ROLES:
            add_user(client.app, f"{name}@example.com", name)
        w = World(client=client, headers={name: bearer(client, f"{name}@example.com") for name in ROLES})
        segments = client.get("/api/v1/clusters", headers=w.admin).json()["segments"]
        w.segment = segments[0]["segment_id"]
        w.target = segments[-1]["segment_name"]
        w.runs = (w.run(), w.run())
        started = client.post("/api/v1/models", data={"k": "3"}, headers=w.admin)
        assert started.status_code == 202, started.text
        w.job = started.json()["job_id"]
        w.webhook = w.hook()
        # A file scored on the page (its download) and one kept for a new segmentation (its column chooser).
        html = {"accept": "text/html"} | w.headers["analyst"]
        token = FORM_TOKEN.search(client.get("/score", headers=html).text).group(1)
        files = {"file": ("mall.csv", b"annual_income,spending_score\n50,50\n", "text/csv")}
        scored = client.post("/score", files=files, data={"form_token": token}, headers=html)
        w.download = DOWNLOAD.search(scored.text).group(1)
        token = FORM_TOKEN.search(client.get("/models", headers=w.admin).text).group(1)
        crm = {"file": ("crm.csv", b"Income,Visits\n10,2\n20,3\n30,5\n", "text/csv")}
        kept = client.post(
            "/models/segmentations/new", files=crm, data={"form_token": token}, headers=w.admin, follow_redirects=False
        )
        assert kept.status_code == 303, kept.text
        w.pending = kept.headers["location"].rsplit("/", 1)[1]
        yield w
        w.jobs_done()


def test_every_route_has_an_entry_and_every_entry_a_route(world):
    routes = app_routes(world.client.app)
    assert sorted(routes - ROUTES.keys()) == [], "routes without an entry in tests/api/route_table.py"
    assert sorted(ROUTES.keys() - routes) == [], "entries of routes the app does not have"
    assert {entry.role for entry in ROUTES.values()} == {Role.viewer, Role.analyst, Role.admin, None}


def test_every_route_by_role(world):
    client = world.client
    failures = []
    for (method, _), entry in ROUTES.items():
        for caller in CALLERS:
            call = entry.build(world, caller)
            kwargs = dict(call.kwargs)
            headers = kwargs.pop("headers", {}) | world.headers.get(caller, {})
            response = client.request(method, call.url, headers=headers, **kwargs)
            said = f"{caller} {method} {call.url}: {response.status_code} {response.text[:200]}"
            if caller == "anonymous":
                if response.status_code != 401:
                    failures.append(f"{said}, should be 401")
            elif entry.role is None or ROLES[caller] >= entry.role:
                if not 200 <= response.status_code < 300:
                    failures.append(f"{said}, should be 2xx")
            elif not (response.status_code == 403 and _role_refusal(response)):
                failures.append(f"{said}, should be 403")
    assert failures == [], "\n".join(failures)


def test_open_reads_stay_open_by_default(client):
    # PUBLIC_READS=true (the default): what was open stays open without signing in.
    assert client.get("/api/v1/clusters").status_code == 200
    assert client.post("/api/v1/predict", json={"annual_income": 50, "spending_score": 50}).status_code == 200
    assert client.get("/models").status_code == 200


def test_segment_edits_need_an_analyst_even_while_reads_are_public(make_settings, two_versions_template, tmp_path):
    from fastapi.testclient import TestClient

    from app.main import create_app

    shutil.copytree(two_versions_template[0], tmp_path / "models_artifacts")
    settings = make_settings(
        model_dir=tmp_path / "models_artifacts",
        database_url=f"sqlite:///{tmp_path / 'accounts.sqlite3'}",
        public_reads=True,
        jwt_secret=JWT_SECRET,
        rate_limit_admin="100000/minute",
    )
    with TestClient(create_app(settings)) as client:
        for name in ROLES:
            add_user(client.app, f"{name}@example.com", name)
        segment = client.get("/api/v1/clusters").json()["segments"][0]["segment_id"]
        url, body = f"/api/v1/clusters/{segment}", {"description": "Edited by the team", "reason": "test"}
        assert client.patch(url, json=body).status_code in (401, 403)  # anonymous: never open
        viewer = client.patch(url, json=body, headers=bearer(client, "viewer@example.com"))
        assert viewer.status_code == 403 and "analyst" in viewer.text
        analyst = client.patch(url, json=body, headers=bearer(client, "analyst@example.com"))
        assert analyst.status_code == 200, analyst.text
        assert client.get(url).json()["description"] == "Edited by the team"
