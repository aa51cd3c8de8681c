"""The team's segment text through the API: rename, edit, history, revert, across retrains and segmentations."""

import errno
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.training import train
from app.models.versions.segment_edits import EDITS_FILE
from app.models.versions.store import VersionStore

KEY = "segment-edits-admin-key"
ADMIN = {"X-API-Key": KEY}
LOCAL = ("127.0.0.1", 50_000)  # /metrics answers the loopback network


@pytest.fixture
def edits_client(make_settings, fresh_dir: Path) -> Iterator[TestClient]:
    """A client with an admin key over a private copy of the session's default model."""
    with TestClient(create_app(make_settings(model_dir=fresh_dir, admin_api_keys=[KEY])), client=LOCAL) as client:
        yield client


def _id_of(client: TestClient, generated: str, prefix: str = "/api/v1") -> int:
    """The id of the segment training called `generated` (names are looked up, never assumed to be ids)."""
    segments = client.get(f"{prefix}/clusters/info").json()["segments"]
    return next(s["segment_id"] for s in segments if s["segment_name"] == generated)


def _centroid(client: TestClient, segment_id: int, prefix: str = "/api/v1") -> dict[str, float]:
    return client.get(f"{prefix}/clusters/{segment_id}").json()["centroid"]


def _metric(client: TestClient, segment: str) -> float:
    text = client.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "segment_predictions_total"
        and sample.labels.get("segment") == segment
        and sample.labels.get("segmentation") == "default"
    )


def test_a_rename_is_served_everywhere_kept_beside_the_version_and_recorded(edits_client, fresh_dir):
    vip = _id_of(edits_client, "VIP / Whale")
    version = VersionStore(fresh_dir).active_version()
    manifest = (fresh_dir / version / "manifest.json").read_bytes()
    response = edits_client.patch(
        f"/api/v1/clusters/{vip}", json={"name": "  Top spenders ", "reason": "our word"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["segment_name"], body["generated_name"], body["edited"]) == ("Top spenders", "VIP / Whale", ["name"])
    [entry] = body["entries"]
    assert (entry["field"], entry["old"], entry["new"], entry["reason"]) == (
        "name",
        "VIP / Whale",
        "Top spenders",
        "our word",
    )
    assert entry["key_id"].startswith("key-") and KEY not in (fresh_dir / EDITS_FILE).read_text()

    # Beside the version: its signed files are as they were, and it is still usable.
    assert (fresh_dir / version / "manifest.json").read_bytes() == manifest
    assert VersionStore(fresh_dir).check(version, reuse_digests=False) is None

    customer = _centroid(edits_client, vip)
    single = edits_client.post("/api/v1/predict", json=customer).json()
    assert (single["segment_id"], single["segment_name"]) == (vip, "Top spenders")
    batch = edits_client.post("/api/v1/predict/batch", json={"customers": [customer]}).json()
    assert batch["predictions"][0]["segment_name"] == "Top spenders"
    assert {"segment_id": vip, "segment_name": "Top spenders", "count": 1} in batch["segment_counts"]
    assert edits_client.get(f"/api/v1/clusters/{vip}").json()["segment_name"] == "Top spenders"
    csv = f"annual_income,spending_score\n{customer['annual_income']},{customer['spending_score']}\n"
    scored = edits_client.post("/api/v1/predict/csv?output=csv", files={"file": ("c.csv", csv, "text/csv")})
    assert scored.status_code == 200 and "Top spenders" in scored.text and "VIP / Whale" not in scored.text


def test_metrics_keep_the_generated_name_after_a_rename(edits_client):
    vip = _id_of(edits_client, "VIP / Whale")
    assert (
        edits_client.patch(f"/api/v1/clusters/{vip}", json={"name": "Top spenders"}, headers=ADMIN).status_code == 200
    )
    before = _metric(edits_client, "VIP / Whale")
    customer = _centroid(edits_client, vip)
    assert edits_client.post("/api/v1/predict", json=customer).json()["segment_name"] == "Top spenders"
    assert edits_client.post("/api/v1/predict/batch", json={"customers": [customer] * 2}).status_code == 200
    csv = f"annual_income,spending_score\n{customer['annual_income']},{customer['spending_score']}\n"
    assert edits_client.post("/api/v1/predict/csv", files={"file": ("c.csv", csv, "text/csv")}).status_code == 200
    assert _metric(edits_client, "VIP / Whale") - before == 4
    assert _metric(edits_client, "Top spenders") == 0


def test_description_and_strategy_are_edited_and_a_change_is_reverted(edits_client):
    vip = _id_of(edits_client, "VIP / Whale")
    generated = edits_client.get(f"/api/v1/clusters/{vip}").json()
    edited = edits_client.patch(
        f"/api/v1/clusters/{vip}",
        json={"description": "Our best customers.", "marketing_strategy": [" Call them ", "Thank them"]},
        headers=ADMIN,
    )
    assert edited.status_code == 200
    assert edited.json()["marketing_strategy"] == ["Call them", "Thank them"]
    assert sorted(e["field"] for e in edited.json()["entries"]) == ["description", "marketing_strategy"]
    answer = edits_client.post("/api/v1/predict", json=_centroid(edits_client, vip)).json()
    assert (answer["description"], answer["marketing_strategy"]) == ("Our best customers.", ["Call them", "Thank them"])
    assert answer["segment_name"] == "VIP / Whale"  # only what was sent changes

    renamed = edits_client.patch(f"/api/v1/clusters/{vip}", json={"name": "Top spenders"}, headers=ADMIN).json()
    again = edits_client.patch(f"/api/v1/clusters/{vip}", json={"name": "Best"}, headers=ADMIN).json()
    # Reverting the second rename puts the team's earlier name back; reverting the first, the generated one.
    back = edits_client.post(f"/api/v1/clusters/{vip}/history/{again['entries'][0]['id']}/revert", headers=ADMIN)
    assert back.status_code == 200 and back.json()["segment_name"] == "Top spenders"
    first = renamed["entries"][0]["id"]
    generated_back = edits_client.post(f"/api/v1/clusters/{vip}/history/{first}/revert?reason=undo", headers=ADMIN)
    assert generated_back.status_code == 200
    assert generated_back.json()["segment_name"] == "VIP / Whale" and "name" not in generated_back.json()["edited"]
    assert generated_back.json()["entries"][0]["revert_of"] == first
    # Reverting it again changes nothing: a 422, and nothing is recorded.
    assert edits_client.post(f"/api/v1/clusters/{vip}/history/{first}/revert", headers=ADMIN).status_code == 422
    description_entry = next(e for e in edited.json()["entries"] if e["field"] == "description")
    edits_client.post(f"/api/v1/clusters/{vip}/history/{description_entry['id']}/revert", headers=ADMIN)
    assert edits_client.get(f"/api/v1/clusters/{vip}").json()["description"] == generated["description"]

    history = edits_client.get(f"/api/v1/clusters/{vip}/history").json()
    edits = [e for e in history["entries"] if e["kind"] == "edit"]
    assert [e["field"] for e in edits] == [
        "description",
        "marketing_strategy",
        "name",
        "name",
        "name",
        "name",
        "description",
    ]
    assert [e["reason"] for e in edits][-2] == "undo"
    assert edits_client.post(f"/api/v1/clusters/{vip}/history/999/revert", headers=ADMIN).status_code == 404
    other = next(
        s["segment_id"] for s in edits_client.get("/api/v1/clusters/info").json()["segments"] if s["segment_id"] != vip
    )
    # A change belongs to its own segment's history.
    assert edits_client.post(f"/api/v1/clusters/{other}/history/{first}/revert", headers=ADMIN).status_code == 404


def test_a_rename_survives_a_retrain_and_the_history_shows_both(edits_client, fresh_dir, default_data):
    vip = _id_of(edits_client, "VIP / Whale")
    assert (
        edits_client.patch(
            f"/api/v1/clusters/{vip}", json={"name": "Top spenders", "reason": "team word"}, headers=ADMIN
        ).status_code
        == 200
    )
    # A retrain into the same folder names its clusters against the active version (the store's reference).
    new = train(default_data, output_dir=fresh_dir, seed=7).model
    assert new.segment(vip) is not None and new.segment(vip).name == "VIP / Whale"  # the version holds generated text
    activated = edits_client.post(f"/api/v1/models/{new.version}/activate?reason=retrained", headers=ADMIN)
    assert activated.status_code == 200

    customer = _centroid(edits_client, vip)
    answer = edits_client.post("/api/v1/predict", json=customer).json()
    assert (answer["model_version"], answer["segment_id"], answer["segment_name"]) == (new.version, vip, "Top spenders")

    history = edits_client.get(f"/api/v1/clusters/{vip}/history").json()
    assert history["segment_name"] == "Top spenders" and history["model_version"] == new.version
    kinds = [(e["kind"], e.get("version")) for e in history["entries"]]
    rename = next(i for i, e in enumerate(history["entries"]) if e["kind"] == "edit")
    activation = kinds.index(("activation", new.version))
    assert rename < activation
    carried = history["entries"][activation]
    assert (carried["name"], carried["generated_name"], carried["carried_over"]) == (
        "Top spenders",
        "VIP / Whale",
        True,
    )
    assert carried["reason"] == "retrained" and carried["key_id"].startswith("key-")
    first = history["entries"][0]
    assert first["kind"] == "activation" and first["carried_over"] is False and first["name"] == "VIP / Whale"
    # Each version's listing shows the team's name too, while its signed model_info.json keeps the generated one.
    listed = edits_client.get(f"/api/v1/models/{new.version}").json()["segments"]
    assert next(s["name"] for s in listed if s["segment_id"] == vip) == "Top spenders"
    assert "Top spenders" not in (fresh_dir / new.version / "model_info.json").read_text()


def test_an_edit_reaches_another_worker_at_its_next_poll(edits_client, make_settings, fresh_dir):
    vip = _id_of(edits_client, "VIP / Whale")
    with TestClient(create_app(make_settings(model_dir=fresh_dir))) as other:
        assert other.post("/api/v1/predict", json=_centroid(other, vip)).json()["segment_name"] == "VIP / Whale"
        edits_client.patch(f"/api/v1/clusters/{vip}", json={"name": "Top spenders"}, headers=ADMIN)
        registry = other.app.state.registry
        version = registry.active.version
        assert registry.refresh() is True  # what the poller runs: a stat, then the edits file alone
        assert registry.active.version == version
        assert other.post("/api/v1/predict", json=_centroid(other, vip)).json()["segment_name"] == "Top spenders"
        assert registry.refresh() is False


def test_changes_need_an_admin_key_and_are_closed_without_one(edits_client, client_for, fresh_dir):
    assert edits_client.patch("/api/v1/clusters/1", json={"name": "x"}).status_code == 401
    assert edits_client.patch("/api/v1/clusters/1", json={"name": "x"}, headers={"X-API-Key": "no"}).status_code == 403
    assert edits_client.post("/api/v1/clusters/1/history/1/revert").status_code == 401
    closed = client_for(model_dir=fresh_dir)
    refused = closed.patch("/api/v1/clusters/1", json={"name": "x"}, headers=ADMIN)
    assert refused.status_code == 403 and "no admin keys are configured" in refused.json()["message"]
    assert not (fresh_dir / EDITS_FILE).exists()
    # The history is public, as the activation history is.
    assert closed.get("/api/v1/clusters/1/history").status_code == 200


def test_an_anonymous_editor_is_told_that_analysts_may_edit(edits_client, client_for, fresh_dir):
    refused = edits_client.patch("/api/v1/clusters/1", json={"name": "x"})
    assert refused.status_code == 401
    assert refused.json()["message"].startswith("editing segments needs an analyst or admin: sign in at /login")
    # No admin key configured: still closed to anonymous callers, and still said the same way.
    closed = client_for(model_dir=fresh_dir).patch("/api/v1/clusters/1", json={"name": "x"})
    assert closed.status_code == 403
    assert closed.json()["message"].startswith("editing segments needs an analyst or admin: sign in as one at /login")
    assert not (fresh_dir / EDITS_FILE).exists()


def test_a_caller_who_may_not_edit_is_refused_before_the_body_is_read(edits_client):
    # AdminKeyFirstRoute runs the editor guard first: a body that is not even JSON gets the guard's answer, not 415.
    plain = {"Content-Type": "text/plain"}
    assert edits_client.patch("/api/v1/clusters/1", content=b"x" * 1000, headers=plain).status_code == 401
    wrong = edits_client.patch("/api/v1/clusters/1", content=b"x", headers=plain | {"X-API-Key": "no"})
    assert wrong.status_code == 403
    # An editor gets past the guard, and the body is then held to the JSON rules.
    assert edits_client.patch("/api/v1/clusters/1", content=b"x", headers=plain | ADMIN).status_code == 415


SEGMENT = "/api/v1/clusters/{segment_id}"
REVERT = f"{SEGMENT}/history/{{entry_id}}/revert"
# Past Python's 4300-digit limit for reading an int: Starlette's `int` path convertor raised a ValueError (a 500).
LONG_ID = "9" * 5000


@pytest.mark.parametrize(
    ("method", "path", "template", "status"),
    [
        ("PATCH", "/api/v1/clusters/info", SEGMENT, 405),
        ("GET", "/api/v1/clusters/abc/history", f"{SEGMENT}/history", 404),
        ("GET", "/api/v1/clusters/-1/history", f"{SEGMENT}/history", 404),
        ("POST", "/api/v1/clusters/abc/history/1/revert", REVERT, 404),
        ("POST", "/api/v1/clusters/1/history/abc/revert", REVERT, 404),
        ("PATCH", f"/api/v1/clusters/{LONG_ID}", SEGMENT, 422),
        ("GET", f"/api/v1/clusters/{LONG_ID}/history", f"{SEGMENT}/history", 422),
        ("POST", f"/api/v1/clusters/{LONG_ID}/history/1/revert", REVERT, 422),
        ("POST", f"/api/v1/clusters/1/history/{LONG_ID}/revert", REVERT, 422),
    ],
)
def test_an_id_that_is_no_whole_number_gets_what_the_schema_documents(edits_client, method, path, template, status):
    body = None if method == "GET" else {"description": "Edited"}
    response = edits_client.request(method, path, json=body, headers=ADMIN)
    assert response.status_code == status
    assert status != 422 or response.json()["type"] == "validation_error"
    documented = edits_client.get("/openapi.json").json()["paths"][template][method.lower()]["responses"]
    assert str(status) in documented
    # The 405 only where a read of /clusters answers the same path: elsewhere no route matches such an id (a 404).
    assert ("405" in documented) == (method == "PATCH")


def test_a_wrong_method_names_only_the_methods_that_take_the_path(edits_client):
    response = edits_client.patch("/api/v1/clusters/abc", json={"description": "Edited"}, headers=ADMIN)
    assert response.status_code == 405
    # It said "Allow: GET, PATCH" to a PATCH, as PATCH /clusters/{segment_id:digits} shares the read's template.
    assert response.headers["allow"] == "GET"
    assert response.json()["message"] == "PATCH is not served at this path; it takes GET"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"name": "x" * 61}, 422, "at most 60 characters"),
        ({"name": ""}, 422, "cannot be empty"),
        ({"name": "   "}, 422, "cannot be empty"),
        ({"name": "Top\nspenders"}, 422, "control characters"),
        ({"name": "Top\u202espenders"}, 422, "control characters"),
        ({"name": "Top\u00a0spenders"}, 422, "spaces other than the plain space (found U+00A0)"),
        ({"name": "Top spenders\u200b"}, 422, "(found U+200B)"),
        ({"description": " "}, 422, "cannot be empty"),
        ({"marketing_strategy": []}, 422, "at least one action"),
        ({"marketing_strategy": ["ok", ""]}, 422, "action 2 cannot be empty"),
        ({}, 422, "nothing to change"),
        ({"reason": "only a reason"}, 422, "nothing to change"),
        ({"label": "typo"}, 422, "label"),
        ({"name": 5}, 422, "name"),
    ],
)
def test_bad_text_is_refused_and_changes_nothing(edits_client, fresh_dir, body, status, words):
    vip = _id_of(edits_client, "VIP / Whale")
    response = edits_client.patch(f"/api/v1/clusters/{vip}", json=body, headers=ADMIN)
    assert response.status_code == status
    assert words in json.dumps(response.json())
    assert not (fresh_dir / EDITS_FILE).exists()


def test_a_name_taken_by_another_segment_an_unknown_segment_and_no_change_are_refused(edits_client):
    vip = _id_of(edits_client, "VIP / Whale")
    taken = edits_client.patch(f"/api/v1/clusters/{vip}", json={"name": "young TRENDSETTER"}, headers=ADMIN)
    assert taken.status_code == 409 and "already called 'Young Trendsetter'" in taken.json()["message"]
    for look_alike in ["Ｙoung Trendsetter", "Young  Trendsetter", "young trendsetter"]:
        taken = edits_client.patch(f"/api/v1/clusters/{vip}", json={"name": look_alike}, headers=ADMIN)
        assert taken.status_code == 409 and "already called 'Young Trendsetter'" in taken.json()["message"]
    assert edits_client.patch("/api/v1/clusters/99", json={"name": "x"}, headers=ADMIN).status_code == 404
    assert edits_client.get("/api/v1/clusters/99/history").status_code == 404
    same = edits_client.patch(f"/api/v1/clusters/{vip}", json={"name": "VIP / Whale"}, headers=ADMIN)
    assert same.status_code == 422 and "already shows this text" in same.json()["message"]


@pytest.mark.parametrize("segmentation", ["crm", "rfm"])
def test_segments_of_other_segmentations_are_renamed_on_their_own(
    segmentation, segmentations_root, client_for, tmp_path
):
    root = tmp_path / "models_artifacts"
    shutil.copytree(segmentations_root, root)
    client = client_for(model_dir=root, admin_api_keys=[KEY])
    prefix = f"/api/v1/segmentations/{segmentation}"
    segments = client.get(f"{prefix}/clusters/info").json()["segments"]
    target = segments[-1]
    renamed = client.patch(f"{prefix}/clusters/{target['segment_id']}", json={"name": "<b>Ours</b>"}, headers=ADMIN)
    assert renamed.status_code == 200 and renamed.json()["generated_name"] == target["segment_name"]
    features = {name: value for name, value in _centroid(client, target["segment_id"], prefix).items()}
    answer = client.post(f"{prefix}/predict", json={"features": features}).json()
    assert (answer["segment_id"], answer["segment_name"]) == (target["segment_id"], "<b>Ours</b>")
    history = client.get(f"{prefix}/clusters/{target['segment_id']}/history").json()
    assert [e["new"] for e in history["entries"] if e["kind"] == "edit"] == ["<b>Ours</b>"]
    # Kept in that segmentation's own folder: the default segmentation is untouched.
    assert (SegmentationCatalog(root).folder(segmentation) / EDITS_FILE).is_file()
    assert not (root / EDITS_FILE).exists()
    default_names = [s["segment_name"] for s in client.get("/api/v1/clusters/info").json()["segments"]]
    assert "<b>Ours</b>" not in default_names


def test_a_folder_that_cannot_be_written_is_a_503_and_changes_nothing(edits_client, fresh_dir, monkeypatch):
    from app.models.versions import segment_edits as edits_file

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(edits_file, "atomic_replace", refuse)
    vip = _id_of(edits_client, "VIP / Whale")
    response = edits_client.patch(f"/api/v1/clusters/{vip}", json={"name": "Top spenders"}, headers=ADMIN)
    assert response.status_code == 503 and "Read-only file system" in response.json()["message"]
    assert edits_client.get(f"/api/v1/clusters/{vip}").json()["segment_name"] == "VIP / Whale"
    assert not (fresh_dir / EDITS_FILE).exists()
