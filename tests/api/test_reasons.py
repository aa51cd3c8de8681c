"""Every `reason` a caller gives (activations, rollbacks, the challenger, segment edits, proposals) is one line of
visible text: histories, emails, webhooks and the audit trail show it, so a line break could forge a line there."""

import pytest

from app.schemas.proposals import ProposalIn

KEY = "reasons-admin-key-0123"
ADMIN = {"X-API-Key": KEY}
# Each route with a reason, called so that a reason it takes gets the route's own answer (nothing to act on).
ROUTES = [
    ("POST", "/api/v1/models/20000101.000000-none/activate", "query", 404),
    ("POST", "/api/v1/models/rollback", "query", 409),
    ("DELETE", "/api/v1/challenger", "query", 409),
    ("POST", "/api/v1/challenger/promote", "query", 409),
    ("POST", "/api/v1/clusters/1/history/999/revert", "query", 404),
    ("PATCH", "/api/v1/clusters/99", "body", 404),
]
UNSAFE = {
    "CR LF": "spring\r\nBcc: everyone@example.com",
    "LF": "spring\nINJECTED line",
    "tab": "spring\tsummer",
    "NUL": "spring\x00",
    "line separator": "spring\u2028INJECTED line",
    "zero-width space": "spr\u200bing",
    "right-to-left override": "spring \u202etxt.exe",
}


@pytest.fixture
def api(client_for, fresh_dir, tmp_path):
    """A client with an admin key over a private copy of the session's model."""
    return client_for(
        model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'reasons.sqlite3'}", admin_api_keys=[KEY]
    )


def _call(api, method: str, path: str, where: str, reason: str):
    if where == "query":
        return api.request(method, path, params={"reason": reason}, headers=ADMIN)
    return api.request(method, path, json={"description": "Edited", "reason": reason}, headers=ADMIN)


@pytest.mark.parametrize(("method", "path", "where", "status"), ROUTES)
@pytest.mark.parametrize("reason", UNSAFE.values(), ids=UNSAFE.keys())
def test_a_reason_with_a_line_break_control_or_invisible_character_is_a_422(api, method, path, where, status, reason):
    response = _call(api, method, path, where, reason)
    assert response.status_code == 422
    assert response.json()["type"] == "validation_error"
    assert "must be one line of visible text" in response.json()["message"]


@pytest.mark.parametrize(("method", "path", "where", "status"), ROUTES)
def test_a_reason_over_200_characters_is_a_422_counting_characters(api, method, path, where, status):
    response = _call(api, method, path, where, "é" * 201)
    assert response.status_code == 422
    assert "at most 200 characters" in response.json()["message"] and "items" not in response.json()["message"]
    assert _call(api, method, path, where, "é" * 200).status_code == status


@pytest.mark.parametrize(("method", "path", "where", "status"), ROUTES)
def test_a_reason_of_one_line_in_any_script_is_taken(api, method, path, where, status):
    assert _call(api, method, path, where, "printemps — été ✓ (نسخة ربيعية)").status_code == status


@pytest.mark.parametrize("reason", UNSAFE.values(), ids=UNSAFE.keys())
def test_a_proposals_reason_is_one_line_too(api, reason):
    # A valid proposal starts a training job: the schema is checked on its own, and the route refuses the rest.
    assert ProposalIn.model_validate({"reason": "new campaign traffic"}).reason == "new campaign traffic"
    response = api.post("/api/v1/proposals", json={"reason": reason}, headers=ADMIN)
    assert response.status_code == 422
    assert "must be one line of visible text" in response.json()["message"]
