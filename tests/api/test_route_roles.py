"""Every route × role with PUBLIC_READS=false: anonymous 401, a role below the route's 403, the route's role or above
passes the check. The routes come from the app itself, classed by the guard they declare, so new routes are covered."""

import re
import shutil

import pytest
from fastapi.routing import APIRoute

from app.controllers.deps import require_admin_key, require_analyst, require_editor, require_user
from app.core.roles import Role
from tests.accounts import JWT_SECRET, add_user, bearer

# Routes anyone may call whatever PUBLIC_READS says: signing in, and what load balancers and Prometheus ask (the
# metrics have their own network rule).
OPEN = {"/api/v1/auth/token", "/api/v1/health", "/login", "/logout", "/livez", "/readyz", "/metrics"}
# Sends anyone not signed in to /login (tests/web/test_login.py).
OPEN |= {"/account"}
ROLES = {"viewer": Role.viewer, "analyst": Role.analyst, "admin": Role.admin}


def _leaves(routes):
    for route in routes:
        children = getattr(route, "effective_candidates", None)
        if callable(children):
            yield from _leaves(children())
        else:
            yield route


def _declares(dependant, call) -> bool:
    return any(sub.call is call or _declares(sub, call) for sub in dependant.dependencies)


def needed_role(route) -> Role | None:
    """The role a route asks for, read from the guards it declares (None: any signed-in caller)."""
    if _declares(route.dependant, require_admin_key):
        return Role.admin
    if _declares(route.dependant, require_analyst) or _declares(route.dependant, require_editor):
        return Role.analyst
    if _declares(route.dependant, require_user):
        return None
    return Role.viewer


def _cases(app):
    for route in _leaves(app.router.routes):
        if not isinstance(getattr(route, "original_route", route), APIRoute) or route.path in OPEN:
            continue
        # Pages' own form posts carry their own tokens and are tested with them (tests/web); docs are public.
        if not route.path.startswith("/api/v1") and route.methods - {"HEAD"} != {"GET"}:
            continue
        if route.path.startswith(("/docs", "/redoc", "/openapi")):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            yield method, route.path, needed_role(route)


def _role_refusal(response) -> bool:
    return re.search(r"needs (the \w+ role|an admin)", response.text) is not None


def _url(path: str) -> str:
    """The path with its parameters filled: the default segmentation, and ids that name nothing (so no change)."""
    path = path.replace("{segmentation}", "default")
    # A parameter may carry a converter ({segment_id:int}).
    return re.sub(r"\{([a-z_]+)(?::\w+)?\}", lambda m: "999999" if m.group(1).endswith("id") else "nosuch", path)


@pytest.fixture(scope="module")
def closed(make_settings, two_versions_template, tmp_path_factory):
    from fastapi.testclient import TestClient

    from app.main import create_app

    root = tmp_path_factory.mktemp("closed")
    # A copy: the sample below activates a version. No bundled data: a training started by an empty body fails at
    # once instead of adding a version.
    shutil.copytree(two_versions_template[0], root / "models_artifacts")
    settings = make_settings(
        model_dir=root / "models_artifacts",
        data_path=root / "no-such-data.csv",
        database_url=f"sqlite:///{root / 'accounts.sqlite3'}",
        public_reads=False,
        jwt_secret=JWT_SECRET,
        rate_limit_admin="100000/minute",
        rate_limit_predict="100000/minute",
    )
    with TestClient(create_app(settings)) as client:
        for name in ROLES:
            add_user(client.app, f"{name}@example.com", name)
        headers = {name: bearer(client, f"{name}@example.com") for name in ROLES}
        yield client, headers


def test_the_matrix_covers_every_kind_of_route(closed):
    client, _ = closed
    needed = {role for _, _, role in _cases(client.app)}
    assert {Role.viewer, Role.analyst, Role.admin, None} <= needed
    paths = {path for _, path, _ in _cases(client.app)}
    assert {"/api/v1/models/{version}/activate", "/api/v1/users", "/api/v1/predict/csv", "/"} <= paths


def test_every_route_by_role(closed):
    client, headers = closed
    failures = []
    for method, path, needed in _cases(client.app):
        url = _url(path)
        # An empty JSON body: enough for the guards to answer, never enough to train or change anything.
        body = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
        anonymous = client.request(method, url, **body)
        if anonymous.status_code != 401:
            failures.append(f"anonymous {method} {path}: {anonymous.status_code}")
        for name, role in ROLES.items():
            response = client.request(method, url, headers=headers[name], **body)
            allowed = needed is None or role >= needed
            # A page may refuse a made-up upload token with its own 403; what must not come is the role's refusal.
            if allowed and (response.status_code == 401 or (response.status_code == 403 and _role_refusal(response))):
                failures.append(f"{name} {method} {path}: {response.status_code}, should pass")
            if not allowed and not (response.status_code == 403 and _role_refusal(response)):
                failures.append(f"{name} {method} {path}: {response.status_code}, should be 403")
            if response.status_code >= 500:
                failures.append(f"{name} {method} {path}: {response.status_code}")
    assert failures == [], "\n".join(failures)


def test_allowed_mutations_succeed(closed):
    client, headers = closed
    # A sample of allowed calls that change something, each 2xx for its role.
    created = client.post("/api/v1/auth/keys", json={"name": "v"}, headers=headers["viewer"])
    assert created.status_code == 201
    user = client.post(
        "/api/v1/users", json={"email": "x@example.com", "password": "a long password"}, headers=headers["admin"]
    )
    assert user.status_code == 201
    assert (
        client.patch(
            f"/api/v1/users/{user.json()['id']}", json={"role": "analyst"}, headers=headers["admin"]
        ).status_code
        == 200
    )
    versions = client.get("/api/v1/models", headers=headers["viewer"]).json()["versions"]
    inactive = next(v["version"] for v in versions if not v["active"])
    assert client.post(f"/api/v1/models/{inactive}/activate", headers=headers["admin"]).status_code == 200
    assert client.post(f"/api/v1/models/{inactive}/activate", headers=headers["analyst"]).status_code == 403
    csv = "annual_income,spending_score\n50,50\n"
    scored = client.post("/api/v1/predict/csv", content=csv, headers=headers["analyst"] | {"Content-Type": "text/csv"})
    assert scored.status_code == 200
    assert (
        client.post(
            "/api/v1/predict/csv", content=csv, headers=headers["viewer"] | {"Content-Type": "text/csv"}
        ).status_code
        == 403
    )


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
