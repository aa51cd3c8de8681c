"""Version labels: set and removed with the admin key, kept beside the signed version, shown in listings."""

import json

import pytest

from app.models.versions.labels import LABELS_FILE
from app.models.versions.store import VersionStore

KEY = "label-admin-key-0123"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def admin_client(client_for, two_versions):
    return client_for(model_dir=two_versions[0], admin_api_keys=[KEY])


def test_a_label_is_set_listed_and_removed(admin_client, two_versions):
    root, first, second = two_versions
    manifest = (root / second / "manifest.json").read_bytes()
    response = admin_client.patch(f"/api/v1/models/{second}", json={"label": "  spring   export "}, headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["label"] == "spring export" and response.json()["version"] == second
    listing = {v["version"]: v for v in admin_client.get("/api/v1/models").json()["versions"]}
    assert listing[second]["label"] == "spring export" and listing[first]["label"] is None
    # Kept beside the version: its signed files are as they were, and it stays usable.
    assert (root / second / "manifest.json").read_bytes() == manifest
    assert VersionStore(root).check(second) is None
    stored = json.loads((root / LABELS_FILE).read_text())
    assert stored[second]["label"] == "spring export" and stored[second]["key_id"].startswith("key-")
    assert KEY not in (root / LABELS_FILE).read_text()

    removed = admin_client.patch(f"/api/v1/models/{second}", json={"label": ""}, headers=ADMIN)
    assert removed.status_code == 200 and removed.json()["label"] is None
    assert admin_client.get(f"/api/v1/models/{second}").json()["label"] is None


def test_labelling_needs_the_key_a_known_version_and_a_short_json_label(admin_client, two_versions):
    _, _, second = two_versions
    assert admin_client.patch(f"/api/v1/models/{second}", json={"label": "x"}).status_code == 401
    wrong = admin_client.patch(f"/api/v1/models/{second}", json={"label": "x"}, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 403
    unknown = admin_client.patch("/api/v1/models/20990101.000000.000000-nope", json={"label": "x"}, headers=ADMIN)
    assert unknown.status_code == 404
    long = admin_client.patch(f"/api/v1/models/{second}", json={"label": "x" * 81}, headers=ADMIN)
    assert long.status_code == 422 and "at most 80 characters" in long.json()["message"]
    text = admin_client.patch(
        f"/api/v1/models/{second}", content=b"label=x", headers={**ADMIN, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415


def test_deleting_a_version_drops_its_label(admin_client, two_versions):
    root, _, second = two_versions
    assert admin_client.patch(f"/api/v1/models/{second}", json={"label": "old"}, headers=ADMIN).status_code == 200
    assert admin_client.delete(f"/api/v1/models/{second}", headers=ADMIN).status_code == 204
    assert second not in json.loads((root / LABELS_FILE).read_text())


def test_the_models_page_shows_labels_and_offers_to_edit_them(admin_client, two_versions):
    _, _, second = two_versions
    assert (
        admin_client.patch(f"/api/v1/models/{second}", json={"label": "Q1 <export>"}, headers=ADMIN).status_code == 200
    )
    page = admin_client.get("/models")
    assert page.status_code == 200
    assert "“Q1 &lt;export&gt;”" in page.text and "Q1 <export>" not in page.text
    assert f'data-action="label" data-version="{second}" data-label="Q1 &lt;export&gt;"' in page.text


def test_an_unreadable_labels_file_hides_labels_but_lists_versions(admin_client, two_versions):
    root, _, _ = two_versions
    (root / LABELS_FILE).write_text("{not json")
    response = admin_client.get("/api/v1/models")
    assert response.status_code == 200
    assert all(v["label"] is None for v in response.json()["versions"])
