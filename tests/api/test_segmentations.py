"""A `columns` segmentation through the API: create, train from an upload, predict, score, drift, delete."""

import io
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.synthetic_crm import generate_crm, write_crm

KEY = "segmentations-admin-key"
HEADERS = {"X-API-Key": KEY}
LOYALTY = {
    "name": "loyalty",
    "kind": "columns",
    "features": [
        {"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"},
        {"name": "visits", "column": "Visits", "label": "Visits", "unit": "visits", "transform": "log1p"},
        {"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years", "transform": "none", "max": 80},
    ],
}


@pytest.fixture
def api(client_for, fresh_dir: Path, tmp_path: Path) -> TestClient:
    return client_for(model_dir=fresh_dir, admin_api_keys=[KEY], jobs_dir=tmp_path / "jobs")


def _finished_job(api: TestClient, name: str, data: bytes, **form: str) -> dict:
    response = api.post(
        f"/api/v1/segmentations/{name}/models",
        files={"file": ("crm.csv", data, "text/csv")},
        data={"k": "3", **form},
        headers=HEADERS,
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError("the training job did not finish")


def _train(api: TestClient, name: str, data: bytes, **form: str) -> str:
    job = _finished_job(api, name, data, **form)
    assert job["state"] == "succeeded", job
    return job["version"]


def _crm_with_a_value_more(every: int) -> bytes:
    """The CRM export under the header Income,Visits,Tenure, every `every`-th row (the first included) with a
    fourth value the header does not name."""
    frame, _ = generate_crm()
    rows = [
        f"{row.Income},{row.Visits},{row.Tenure}" + (f",{index % 3}" if index % every == 0 else "")
        for index, row in enumerate(frame.itertuples())
    ]
    return ("Income,Visits,Tenure\n" + "\n".join(rows) + "\n").encode()


def test_a_columns_segmentation_is_created_trained_and_used(api: TestClient, tmp_path: Path) -> None:
    crm = write_crm(tmp_path / "crm.csv").read_bytes()
    assert api.post("/api/v1/segmentations", json=LOYALTY).status_code == 401
    created = api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/segmentations/loyalty"
    assert created.json()["ready"] is False
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 409
    names = [item["name"] for item in api.get("/api/v1/segmentations").json()["segmentations"]]
    assert names == ["default", "loyalty"]
    untrained = api.post("/api/v1/segmentations/loyalty/predict", json={"features": {}})
    assert untrained.status_code == 503
    assert untrained.json()["type"] == "model_not_ready"
    assert untrained.json()["message"] == (
        "segmentation loyalty has no trained version yet: train one with POST /api/v1/segmentations/loyalty/models "
        "or `python -m app.cli train --segmentation loyalty`"
    )
    assert api.get("/api/v1/segmentations/loyalty/clusters").json()["message"] == untrained.json()["message"]

    version = _train(api, "loyalty", crm)
    assert api.get("/api/v1/segmentations/loyalty/jobs").status_code == 401  # job ids are their starters' handles
    [job] = api.get("/api/v1/segmentations/loyalty/jobs", headers=HEADERS).json()["jobs"]
    assert (job["segmentation"], job["state"], job["version"]) == ("loyalty", "succeeded", version)
    assert api.get(f"/api/v1/segmentations/loyalty/jobs/{job['job_id']}").json()["version"] == version
    assert api.get(f"/api/v1/segmentations/default/jobs/{job['job_id']}").status_code == 404  # not default's
    assert api.get("/api/v1/segmentations/default/jobs", headers=HEADERS).json()["jobs"] == []
    assert job["job_id"] in [j["job_id"] for j in api.get("/api/v1/jobs", headers=HEADERS).json()["jobs"]]
    described = api.get("/api/v1/segmentations/loyalty").json()
    assert described["active_version"] == version and described["ready"]
    assert [f["name"] for f in described["served_features"]] == ["income", "visits", "tenure"]

    body = {"features": {"income": 140_000, "visits": 3, "tenure": 12}, "customer_id": "C-9"}
    answer = api.post("/api/v1/segmentations/loyalty/predict", json=body)
    assert answer.status_code == 200, answer.text
    affluent = answer.json()
    assert affluent["customer_id"] == "C-9" and affluent["model_version"] == version
    occasional = api.post(
        "/api/v1/segmentations/loyalty/predict", json={"features": {"income": 30_000, "visits": 1.4, "tenure": 1}}
    ).json()
    assert occasional["segment_id"] != affluent["segment_id"]
    assert "High Income" in affluent["segment_name"] and "Low Income" in occasional["segment_name"]

    batch = api.post(
        "/api/v1/segmentations/loyalty/predict/batch",
        json={"customers": [body, {"features": {"income": 30_000, "visits": 1.4, "tenure": 1}, "customer_id": 2}]},
    )
    assert batch.status_code == 200, batch.text
    predictions = batch.json()["predictions"]
    assert [p["segment_id"] for p in predictions] == [affluent["segment_id"], occasional["segment_id"]]
    assert [p["customer_id"] for p in predictions] == ["C-9", 2]

    scored = api.post("/api/v1/segmentations/loyalty/predict/csv", files={"file": ("crm.csv", crm, "text/csv")})
    assert scored.status_code == 200, scored.text
    lines = scored.text.splitlines()
    assert lines[0].startswith("CustomerID,Income,Visits,Tenure,segment_id,segment_name")
    assert len(lines) == crm.count(b"\n")

    drift = api.get("/api/v1/segmentations/loyalty/monitoring/drift")
    assert drift.status_code == 200, drift.text

    # The default segmentation is untouched by all of this.
    assert api.get("/api/v1/model/info").json()["features"] == ["annual_income", "spending_score"]
    assert api.get("/api/v1/segmentations/loyalty/model/info").json()["features"] == ["income", "visits", "tenure"]

    assert api.delete("/api/v1/segmentations/loyalty", headers=HEADERS).status_code == 409
    assert api.delete("/api/v1/segmentations/loyalty?force=true", headers=HEADERS).status_code == 204
    assert api.get("/api/v1/segmentations/loyalty").status_code == 404
    assert api.post("/api/v1/segmentations/loyalty/predict", json=body).status_code == 404


BAD_BODIES = [
    ({"income": 50_000, "visits": 3, "tenure": 2, "age": 40}, "age"),
    ({"income": 50_000, "visits": 3}, "tenure"),
    ({"income": 50_000, "visits": 3, "tenure": 200}, "tenure"),
    ({"income": -5, "visits": 3, "tenure": 2}, "income"),
]


def test_a_body_with_an_unknown_missing_or_out_of_range_feature_is_a_422_naming_it(
    api: TestClient, tmp_path: Path
) -> None:
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    _train(api, "loyalty", write_crm(tmp_path / "crm.csv").read_bytes())
    for features, named in BAD_BODIES:
        response = api.post("/api/v1/segmentations/loyalty/predict", json={"features": features})
        assert response.status_code == 422, response.text
        assert named in response.json()["message"]
        batch = api.post("/api/v1/segmentations/loyalty/predict/batch", json={"customers": [{"features": features}]})
        assert batch.status_code == 422 and named in batch.json()["message"]
    for body in ({"features": {"income": "1", "visits": 3, "tenure": 2}}, {"features": {"income": None}}, {}):
        assert api.post("/api/v1/segmentations/loyalty/predict", json=body).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Default", "kind": "columns"},
        {"name": "x", "kind": "columns"},
        {"name": "ok-name", "kind": "columns", "features": [{"name": "a", "column": "A"}]},
        {
            "name": "ok-name",
            "kind": "columns",
            "features": [{"name": "a", "column": "A"}, {"name": "a", "column": "B"}],
        },
        {"name": "ok-name", "kind": "columns", "features": [{"name": "a", "column": "A", "min": 5, "max": 1}] * 2},
        {"name": "ok-name", "kind": "nope"},
        {"name": "default", "kind": "rfm"},
    ],
)
def test_a_bad_create_request_is_refused_and_creates_nothing(api: TestClient, body: dict) -> None:
    response = api.post("/api/v1/segmentations", json=body, headers=HEADERS)
    assert response.status_code in (409, 422), response.text
    assert [item["name"] for item in api.get("/api/v1/segmentations").json()["segmentations"]] == ["default"]


@pytest.mark.parametrize(("column", "code"), [("a\u0000b", "U+0000"), ("Visits\n", "U+000A"), ("Vis\tits", "U+0009")])
def test_a_feature_column_with_a_control_character_is_a_422_naming_the_feature(
    api: TestClient, column: str, code: str
) -> None:
    features = [LOYALTY["features"][0], LOYALTY["features"][1] | {"column": column}, LOYALTY["features"][2]]
    response = api.post("/api/v1/segmentations", json=LOYALTY | {"features": features}, headers=HEADERS)
    assert response.status_code == 422, response.text
    assert "features[1].column (visits) cannot hold a control character" in response.json()["message"]
    assert code in response.json()["message"]
    assert [item["name"] for item in api.get("/api/v1/segmentations").json()["segmentations"]] == ["default"]


def test_a_feature_column_is_trimmed_as_file_headers_are(api: TestClient) -> None:
    features = [LOYALTY["features"][0], LOYALTY["features"][1], LOYALTY["features"][2] | {"column": " Tenure "}]
    created = api.post("/api/v1/segmentations", json=LOYALTY | {"features": features}, headers=HEADERS)
    assert created.status_code == 201, created.text
    assert [feature["column"] for feature in created.json()["features"]] == ["Income", "Visits", "Tenure"]
    blank = [LOYALTY["features"][0], LOYALTY["features"][1] | {"column": "   "}]
    refused = api.post("/api/v1/segmentations", json={"name": "blank", "features": blank}, headers=HEADERS)
    assert refused.status_code == 422 and "features[1].column (visits) must name" in refused.json()["message"]


def test_default_can_never_be_deleted_and_unknown_names_are_404(api: TestClient) -> None:
    assert api.delete("/api/v1/segmentations/default?force=true", headers=HEADERS).status_code == 409
    assert api.get("/api/v1/segmentations/nothing-here").status_code == 404
    assert api.get("/api/v1/segmentations/nothing-here/clusters").status_code == 404
    assert api.get("/api/v1/segmentations/BAD/clusters").status_code == 422


def test_default_answers_the_same_under_its_segmentation_name(api: TestClient) -> None:
    flat = api.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90}).json()
    named = api.post(
        "/api/v1/segmentations/default/predict", json={"features": {"annual_income": 120, "spending_score": 90}}
    ).json()
    assert named == flat
    assert api.get("/api/v1/segmentations/default/clusters").json() == api.get("/api/v1/clusters").json()


def test_a_file_without_the_segmentations_columns_is_refused_before_training(api: TestClient) -> None:
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    response = api.post(
        "/api/v1/segmentations/loyalty/models",
        files={"file": ("crm.csv", io.BytesIO(b"CustomerID,Income,Visits\n1,2,3\n"), "text/csv")},
        headers=HEADERS,
    )
    assert response.status_code == 422
    assert "'Tenure'" in response.json()["message"]


def test_features_other_than_the_segmentations_own_are_refused_not_ignored(api: TestClient) -> None:
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    for features in ("annual_income,spending_score", "income, visits"):
        response = api.post(
            "/api/v1/segmentations/loyalty/models",
            files={"file": ("crm.csv", io.BytesIO(b"CustomerID,Income,Visits,Tenure\n1,2,3,4\n"), "text/csv")},
            data={"features": features},
            headers=HEADERS,
        )
        assert response.status_code == 422
        assert "trains on the features it was created with (income, visits, tenure)" in response.json()["message"]
    assert not list((api.app.state.settings.job_root).glob("*/job.json"))


def test_a_segmentation_deleted_and_created_again_elsewhere_is_read_anew(api: TestClient) -> None:
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    assert next(f["name"] for f in api.get("/api/v1/segmentations/loyalty").json()["features"]) == "income"
    catalog = SegmentationCatalog(api.app.state.settings.model_dir)
    catalog.delete("loyalty")
    catalog.create(SegmentationSpec.from_dict({**LOYALTY, "features": LOYALTY["features"][1:]}))
    deadline = time.monotonic() + 10
    while next(f["name"] for f in api.get("/api/v1/segmentations/loyalty").json()["features"]) != "visits":
        assert time.monotonic() < deadline, "the old spec is still served"
        time.sleep(0.1)


def test_a_segmentation_another_process_deletes_disappears_at_the_next_poll(api: TestClient) -> None:
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    assert api.get("/api/v1/segmentations/loyalty").status_code == 200
    SegmentationCatalog(api.app.state.settings.model_dir).delete("loyalty")
    deadline = time.monotonic() + 10
    while api.get("/api/v1/segmentations/loyalty").status_code != 404:
        assert time.monotonic() < deadline, "the deleted segmentation is still served"
        time.sleep(0.1)
    assert [item["name"] for item in api.get("/api/v1/segmentations").json()["segmentations"]] == ["default"]


def test_docs_show_each_segmentations_features_as_an_example(api: TestClient) -> None:
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    schema = api.get("/openapi.json").json()
    examples = schema["paths"]["/api/v1/segmentations/{segmentation}/predict"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    assert examples["default"]["value"]["features"].keys() == {"annual_income", "spending_score"}
    assert examples["loyalty"]["value"]["features"].keys() == {"income", "visits", "tenure"}
    assert examples["loyalty"]["summary"] == "loyalty: income, visits, tenure"
    for example in examples.values():  # every example is a valid request
        assert api.post("/api/v1/segmentations/default/predict", json=examples["default"]["value"]).status_code == 200
        assert set(example["value"]) == {"features"}


def test_a_segmentations_predictions_are_logged_under_its_name_with_customer_ids(
    api: TestClient, tmp_path: Path
) -> None:
    from tests.db.reading import logged_rows_of

    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    crm = write_crm(tmp_path / "crm.csv").read_bytes()
    version = _train(api, "loyalty", crm)
    body = {"features": {"income": 140_000, "visits": 3, "tenure": 12}, "customer_id": "C-9"}
    assert api.post("/api/v1/segmentations/loyalty/predict", json=body).status_code == 200
    assert api.post("/api/v1/segmentations/loyalty/predict/csv", files={"file": ("c.csv", crm)}).status_code == 200
    flat = api.post("/api/v1/predict", json={"customer_id": "D-7", "annual_income": 50, "spending_score": 50})
    assert flat.status_code == 200 and flat.json()["customer_id"] == "D-7"  # the flat body takes an id too
    rows_in_file = crm.count(b"\n") - 1
    engine = api.app.state.db_engine
    deadline = time.monotonic() + 20
    while True:
        rows = logged_rows_of(engine)
        # The session's database is shared: this test's rows are its version's.
        loyalty = [row for row in rows if row.model_version == version]
        if len(loyalty) == 1 + rows_in_file or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(loyalty) == 1 + rows_in_file, rows[-5:]
    assert {row.segmentation for row in loyalty} == {"loyalty"}
    assert "C-9" in {row.customer_id for row in loyalty} and "1" in {row.customer_id for row in loyalty}
    assert [row.segmentation for row in rows].count("default") >= 1
    deadline = time.monotonic() + 20
    while ("default", "D-7") not in {(row.segmentation, row.customer_id) for row in rows}:
        assert time.monotonic() < deadline, "the flat predict's customer id was not logged"
        time.sleep(0.2)
        rows = logged_rows_of(engine)
    drift = api.get("/api/v1/segmentations/loyalty/monitoring/drift").json()
    assert drift["window"]["size"] == 1 + rows_in_file, drift["window"]


def test_a_file_no_row_of_which_can_be_scored_says_why(api: TestClient) -> None:
    # Income in dollars for the default segmentation, which takes k$: every row is out of range.
    dollars = b"CustomerID,Annual Income (k$),Spending Score (1-100)\n" + b"".join(
        f"{i},{income},{score}\n".encode() for i, (income, score) in enumerate([(45_000, 40), (72_000, 60)] * 20)
    )
    summary = api.post(
        "/api/v1/predict/csv", files={"file": ("d.csv", dollars)}, headers={"Accept": "application/json"}
    ).json()
    assert summary["scored"] == 0
    assert "dollars" in summary["diagnosis"]["message"], summary["diagnosis"]
    good = api.post(
        "/api/v1/predict/csv",
        files={"file": ("d.csv", dollars.replace(b"45000", b"45").replace(b"72000", b"72"))},
        headers={"Accept": "application/json"},
    ).json()
    assert good["scored"] == 40 and "diagnosis" not in good


def test_a_file_is_profiled_into_suggested_features_that_create_a_segmentation(api: TestClient, tmp_path: Path) -> None:
    crm = write_crm(tmp_path / "crm.csv").read_bytes()
    assert api.post("/api/v1/files/profile", files={"file": ("crm.csv", crm)}).status_code == 401
    profile = api.post("/api/v1/files/profile", files={"file": ("crm.csv", crm)}, headers=HEADERS)
    assert profile.status_code == 200, profile.text
    body = profile.json()
    assert body["header"] == ["CustomerID", "Income", "Visits", "Tenure"]
    columns = {column["column"]: column for column in body["columns"]}
    assert columns["CustomerID"]["id_like"] and not columns["Income"]["id_like"]
    features = [
        {"name": columns[c]["name"], "column": c, "label": columns[c]["label"], "min": columns[c]["range"]["min"]}
        for c in ("Income", "Visits", "Tenure")
    ]
    assert [f["name"] for f in features] == ["income", "visits", "tenure"]
    created = api.post("/api/v1/segmentations", json={"name": "from-profile", "features": features}, headers=HEADERS)
    assert created.status_code == 201, created.text
    bad = api.post("/api/v1/files/profile", files={"file": ("x.csv", b"\x00\x01\x02")}, headers=HEADERS)
    assert bad.status_code == 422 and "'x'" in bad.json()["message"]


def test_a_file_whose_rows_have_a_value_more_than_its_header_fails_training_at_its_line(
    api: TestClient, tmp_path: Path
) -> None:
    # Read with the first column as a row index, every value moved one column left: refused, never trained.
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    served = _train(api, "loyalty", write_crm(tmp_path / "crm.csv").read_bytes())
    shifted = _crm_with_a_value_more(every=1)
    job = _finished_job(api, "loyalty", shifted, activate="false")
    assert job["state"] == "failed", job
    assert "600 of the 600 rows" in job["error"], job["error"]
    assert "line 2 has 4 fields where the header has 3" in job["error"]
    assert [item["version"] for item in api.get("/api/v1/segmentations/loyalty/models").json()["versions"]] == [served]
    # Scoring reads the file by the same rule: every row refused for the same reason.
    scored = api.post(
        "/api/v1/segmentations/loyalty/predict/csv",
        files={"file": ("crm.csv", shifted)},
        headers={"Accept": "application/json"},
    )
    assert scored.status_code == 200 and scored.json()["errors"] == {"wrong number of fields": 600}


def test_rows_with_the_wrong_number_of_fields_are_dropped_and_counted_in_training(api: TestClient) -> None:
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    version = _train(api, "loyalty", _crm_with_a_value_more(every=100))
    info = api.get("/api/v1/segmentations/loyalty/model/info").json()
    assert info["version"] == version
    assert info["dropped_rows"] == {"wrong number of fields": 6}
    assert (info["n_input_rows"], info["n_samples"]) == (600, 594)
    # No column moved: incomes stay incomes (tens of thousands of dollars), tenures stay years.
    clusters = api.get("/api/v1/segmentations/loyalty/clusters").json()
    centroids = [segment["centroid"] for segment in clusters["segments"]]
    assert all(c["income"] > 10_000 and c["visits"] < 20 and c["tenure"] < 20 for c in centroids), centroids


def test_profiling_skips_rows_with_the_wrong_number_of_fields_and_never_shifts_columns(api: TestClient) -> None:
    shifted = b"income,visits\n100,5,999\n100,6,999\n100,7,999\n"
    refused = api.post("/api/v1/files/profile", files={"file": ("s.csv", shifted)}, headers=HEADERS)
    assert refused.status_code == 422
    assert "line 2 has 3 fields where the header has 2" in refused.json()["message"]
    mixed = b"income,visits\n100,5\n200,6,999\n300,7\n"
    profile = api.post("/api/v1/files/profile", files={"file": ("m.csv", mixed)}, headers=HEADERS)
    assert profile.status_code == 200, profile.text
    body = profile.json()
    assert (body["rows_read"], body["skipped_rows"], body["first_skipped_line"]) == (
        2,
        {"wrong number of fields": 1},
        3,
    )
    assert body["rows"] == [["100", "5"], ["300", "7"]]
    columns = {column["column"]: (column["min"], column["max"]) for column in body["columns"]}
    assert columns == {"income": (100.0, 300.0), "visits": (5.0, 7.0)}


def test_a_segmentation_cannot_be_deleted_while_it_trains(api: TestClient, tmp_path: Path) -> None:
    assert api.post("/api/v1/segmentations", json=LOYALTY, headers=HEADERS).status_code == 201
    started = api.post(
        "/api/v1/segmentations/loyalty/models",
        files={"file": ("crm.csv", write_crm(tmp_path / "crm.csv").read_bytes(), "text/csv")},
        data={"k": "3"},
        headers=HEADERS,
    )
    assert started.status_code == 202
    refused = api.delete("/api/v1/segmentations/loyalty?force=true", headers=HEADERS)
    assert refused.status_code == 409 and "training job" in refused.json()["message"]
    deadline = time.monotonic() + 120
    while api.get(f"/api/v1/jobs/{started.json()['job_id']}").json()["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert api.delete("/api/v1/segmentations/loyalty?force=true", headers=HEADERS).status_code == 204
