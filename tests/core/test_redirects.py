"""Trailing-slash redirects: a path-only Location, whatever Host the request names."""

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.core.redirects import relative_slash_redirects

FORGED = {"Host": "evil.example"}


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/api/v1/health/", "/api/v1/health"),
        ("/monitoring/?period=7d&bucket=day", "/monitoring?period=7d&bucket=day"),
        ("/api/v1/segmentations/default/clusters/", "/api/v1/segmentations/default/clusters"),
    ],
)
def test_a_trailing_slash_redirect_names_the_path_only_even_with_a_forged_host(client, path, location):
    response = client.get(path, headers=FORGED, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == location
    assert "evil.example" not in response.text


def test_a_path_no_route_answers_is_still_a_404(client):
    response = client.get("/no-such-page/", headers=FORGED, follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers and response.json()["type"] == "not_found"


def _app() -> TestClient:
    app = Starlette(routes=[Route("/a b/c", lambda request: PlainTextResponse("ok")), Route("/x/", lambda r: None)])
    relative_slash_redirects(app.router)
    return TestClient(app)


def test_the_location_is_percent_encoded_and_a_slash_is_added_as_well_as_removed():
    client = _app()
    spaced = client.get("/a%20b/c/", headers=FORGED, follow_redirects=False)
    assert (spaced.status_code, spaced.headers["location"]) == (307, "/a%20b/c")
    added = client.get("/x?q=1", headers=FORGED, follow_redirects=False)
    assert (added.status_code, added.headers["location"]) == (307, "/x/?q=1")
    assert client.get("/a%20b/c/", headers=FORGED).text == "ok"
