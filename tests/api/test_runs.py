"""/api/v1/runs: every scored file kept as a run, listed, downloaded, browsed, compared, removed and deleted."""

import base64
import csv
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy import delete as sa_delete

from app.services.runs import browse
from tests.runs_files import ADMIN_KEY, client_builder, customers_csv, rows_of, score
from tests.web.conftest import segmentations_template  # noqa: F401  (a session fixture: crm and rfm trained once)

RUNS = "/api/v1/runs"


@pytest.fixture
def runs_client(client_for, tmp_path: Path):
    return client_builder(client_for, tmp_path)


@pytest.fixture
def api(runs_client):
    return runs_client()


def _runs_folder(tmp_path: Path) -> Path:
    return tmp_path / "results" / "runs"


def _age_run(tmp_path: Path, run_id: str, days: int) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'runs.sqlite3'}")
    with engine.begin() as connection:
        then = (datetime.now(UTC) - timedelta(days=days)).replace(tzinfo=None)
        connection.execute(text("UPDATE runs SET created_at = :then WHERE id = :id"), {"then": then, "id": run_id})
    engine.dispose()


def test_a_scored_file_becomes_a_run_named_in_the_header_and_the_summary(api):
    first, labelled = score(api, customers_csv(range(120)))
    second, summary = score(api, customers_csv(range(50)), summary=True)

    assert first != second and summary["run_id"] == second
    response = api.get(f"{RUNS}/{first}")
    assert response.status_code == 200
    run = response.json()
    assert (run["segmentation"], run["rows"], run["scored"], run["source"]) == ("default", 120, 120, "api")
    assert run["customer_id_column"] == "CustomerID"
    assert run["model_version"] == api.get("/api/v1/model/info").json()["version"]
    assert run["removed_at"] is None
    assert [s["count"] for s in run["summary"]["segments"]] == [
        sum(row["segment_name"] == s["segment_name"] for row in rows_of(labelled)) for s in run["summary"]["segments"]
    ]
    listed = api.get(RUNS).json()["runs"]
    assert [item["run_id"] for item in listed] == [second, first]  # newest first


def test_runs_under_a_segmentations_path_are_its_own_and_filtered_by_it(runs_client, segmentations_template, tmp_path):  # noqa: F811
    root = tmp_path / "models_artifacts"
    shutil.copytree(segmentations_template[0], root)
    api = runs_client(model_dir=root)
    default_run, _ = score(api, customers_csv(range(30)), url="/api/v1/segmentations/default/predict/csv")
    crm_run, _ = score(api, segmentations_template[1].read_text(), url="/api/v1/segmentations/crm/predict/csv")

    assert api.get(f"{RUNS}/{crm_run}").json()["segmentation"] == "crm"
    assert [r["run_id"] for r in api.get(RUNS, params={"segmentation": "crm"}).json()["runs"]] == [crm_run]
    assert [r["run_id"] for r in api.get(RUNS, params={"segmentation": "default"}).json()["runs"]] == [default_run]

    response = api.get(f"{RUNS}/{default_run}/compare/{crm_run}")
    assert response.status_code == 409
    assert "different segmentations ('default' and 'crm')" in response.json()["message"]


def test_an_unknown_segmentations_runs_are_404(runs_client, segmentations_template, tmp_path):  # noqa: F811
    """A segmentation with no kept run and no spec is 404; a deleted one's kept runs go with it (its history)."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(segmentations_template[0], root)
    api = runs_client(model_dir=root)
    crm_run, _ = score(api, segmentations_template[1].read_text(), url="/api/v1/segmentations/crm/predict/csv")

    unknown = api.get(RUNS, params={"segmentation": "nope"})
    assert unknown.status_code == 404
    assert unknown.json() | {"request_id": None} == {
        "type": "unknown_segmentation",
        "message": "no segmentation named 'nope'",
        "details": [],
        "request_id": None,
    }
    page = api.get("/runs", params={"segmentation": "nope"}, headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "no segmentation named &#39;nope&#39;" in page.text and "Kept runs of" not in page.text
    # A segmentation with no run yet lists none.
    assert api.get(RUNS, params={"segmentation": "default"}).json() == {"runs": []}

    deleted = api.delete("/api/v1/segmentations/crm", params={"force": "true"}, headers={"X-API-Key": ADMIN_KEY})
    assert deleted.status_code == 204, deleted.text
    assert api.get(RUNS, params={"segmentation": "crm"}).status_code == 404
    assert api.get(f"{RUNS}/{crm_run}").status_code == 404
    assert api.get("/runs", params={"segmentation": "crm"}, headers={"Accept": "text/html"}).status_code == 404


def test_the_file_downloads_as_the_scoring_answer_and_as_parquet(api):
    run_id, labelled = score(api, customers_csv(range(80), note='=HYPERLINK("http://x")'))

    response = api.get(f"{RUNS}/{run_id}/file")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    # The same bytes as the scoring answer, formulas made inert the same way.
    assert response.text == labelled
    assert rows_of(response.text)[0]["Note"].startswith("'=HYPERLINK")

    response = api.get(f"{RUNS}/{run_id}/file", params={"format": "parquet"})
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == 80
    assert table["segment_name"].to_pylist() == [row["segment_name"] for row in rows_of(labelled)]
    assert table["Note"][0].as_py() == '=HYPERLINK("http://x")'  # kept as sent; made inert when rendered as CSV


def _all_pages(api, run_id: str, **params) -> list[dict]:
    items, cursor, seen = [], None, 0
    while True:
        response = api.get(f"{RUNS}/{run_id}/customers", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        seen += 1
        assert seen < 1000
        if cursor is None:
            return items


def test_browse_filters_by_segment_atypical_and_out_of_range(api):
    run_id, labelled = score(api, customers_csv(range(300), seed=3))
    rows = rows_of(labelled)
    segment = rows[0]["segment_name"]

    items = _all_pages(api, run_id, segment=segment, limit=40)
    assert [item["CustomerID"] for item in items] == [r["CustomerID"] for r in rows if r["segment_name"] == segment]
    segment_id = rows[0]["segment_id"]
    assert _all_pages(api, run_id, segment=segment_id, limit=40) == items

    out = _all_pages(api, run_id, out_of_range="true", limit=40)
    assert out and [item["CustomerID"] for item in out] == [
        r["CustomerID"] for r in rows if r["out_of_range"] == "true"
    ]
    typical = _all_pages(api, run_id, atypical="false", segment=segment)
    assert [item["CustomerID"] for item in typical] == [
        r["CustomerID"] for r in rows if r["is_atypical"] == "false" and r["segment_name"] == segment
    ]


@pytest.mark.parametrize(("sort", "key"), [("distance", float), ("-confidence", float), ("Age", int), ("-Age", int)])
def test_browse_sorts_and_pages_through_every_customer_once(api, sort, key):
    run_id, labelled = score(api, customers_csv(range(250), seed=4))
    column = sort.removeprefix("-")
    items = _all_pages(api, run_id, sort=sort, limit=7)

    assert sorted(item["CustomerID"] for item in items) == sorted(row["CustomerID"] for row in rows_of(labelled))
    values = [key(item[column]) for item in items]
    # Ages sort as numbers (9 before 10), not as text.
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_browse_answers_items_a_total_and_refuses_a_cursor_of_another_query(api):
    run_id, _ = score(api, customers_csv(range(60)))
    page = api.get(f"{RUNS}/{run_id}/customers", params={"limit": 10, "sort": "Age"}).json()
    assert (len(page["items"]), page["total"]) == (10, 60) and page["next_cursor"]

    response = api.get(f"{RUNS}/{run_id}/customers", params={"cursor": page["next_cursor"], "sort": "-Age"})
    assert response.status_code == 422
    assert "cursor" in response.json()["message"]
    response = api.get(f"{RUNS}/{run_id}/customers", params={"sort": "Shoe size"})
    assert response.status_code == 422
    assert "Shoe size" in response.json()["message"]


def test_browsing_an_unknown_segment_is_a_404_naming_the_runs_segments(api):
    run_id, _ = score(api, customers_csv(range(60)))
    segments = api.get(f"{RUNS}/{run_id}").json()["summary"]["segments"]

    for format in ("json", "csv"):
        response = api.get(f"{RUNS}/{run_id}/customers", params={"segment": "Nope", "format": format})
        assert response.status_code == 404, response.text
        assert response.json()["type"] == "unknown_segment"
        assert f"run {run_id} has no segment 'Nope'; its segments are " in response.json()["message"]
        assert all(segment["segment_name"] in response.json()["message"] for segment in segments)
    # A segment of the run, by name or by id, still filters as before.
    named = next(segment for segment in segments if segment["count"])
    by_name = api.get(f"{RUNS}/{run_id}/customers", params={"segment": named["segment_name"]})
    by_id = api.get(f"{RUNS}/{run_id}/customers", params={"segment": str(named["segment_id"])})
    assert by_name.status_code == by_id.status_code == 200
    assert by_name.json()["total"] == by_id.json()["total"] == named["count"]


def _with_offset(cursor: str, offset: int) -> str:
    """The cursor of the same query at another offset."""
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    key = text.split(":", 1)[1]
    return base64.urlsafe_b64encode(f"{offset}:{key}".encode()).decode().rstrip("=")


@pytest.mark.parametrize("params", [{}, {"segment": "1"}, {"sort": "-Age"}, {"atypical": "false"}])
def test_browse_refuses_a_negative_cursor_offset(api, params):
    run_id, _ = score(api, customers_csv(range(60)))
    page = api.get(f"{RUNS}/{run_id}/customers", params={**params, "limit": 5}).json()
    assert page["next_cursor"]
    for cold in (True, False):
        if cold:  # a worker that has not read the run: the unfiltered page comes from its row groups
            browse._tables.clear()
            browse._indexes.clear()
        cursor = _with_offset(page["next_cursor"], -3)
        response = api.get(f"{RUNS}/{run_id}/customers", params={**params, "limit": 5, "cursor": cursor})
        assert response.status_code == 422, response.text
        assert "cursor" in response.json()["message"]


@pytest.mark.parametrize("segment", ["²", "١", "99999999999999999999999"])
def test_browse_reads_a_segment_that_is_no_plain_number_as_a_name(api, segment):
    run_id, _ = score(api, customers_csv(range(60)))
    for params in ({"segment": segment}, {"segment": segment, "sort": "-Age"}):
        response = api.get(f"{RUNS}/{run_id}/customers", params=params)
        assert response.status_code == 404, response.text  # no segment has that name, nor that id
        assert f"has no segment {segment!r}" in response.json()["message"]


def test_browse_exports_the_filtered_list_as_csv_in_its_order(api):
    run_id, labelled = score(api, customers_csv(range(200), seed=5))
    segment = rows_of(labelled)[3]["segment_name"]
    response = api.get(f"{RUNS}/{run_id}/customers", params={"segment": segment, "sort": "-Age", "format": "csv"})
    assert response.status_code == 200
    exported = rows_of(response.text)
    expected = [r for r in rows_of(labelled) if r["segment_name"] == segment]
    assert [r["CustomerID"] for r in exported] == [
        r["CustomerID"] for r in _all_pages(api, run_id, segment=segment, sort="-Age")
    ]
    assert sorted(r["CustomerID"] for r in exported) == sorted(r["CustomerID"] for r in expected)


def test_compare_matches_customers_by_id_moved_new_and_lost(api):
    first, before = score(api, customers_csv(range(0, 150), seed=1))
    second, after = score(api, customers_csv(range(30, 180), seed=2))
    old = {r["CustomerID"]: r["segment_name"] for r in rows_of(before) if r["segment_name"]}
    new = {r["CustomerID"]: r["segment_name"] for r in rows_of(after) if r["segment_name"]}
    moved = {c for c in old.keys() & new.keys() if old[c] != new[c]}

    response = api.get(f"{RUNS}/{first}/compare/{second}")
    assert response.status_code == 200
    body = response.json()
    assert body["moved"] == len(moved) > 0
    assert (body["new"], body["lost"]) == (len(new.keys() - old.keys()), len(old.keys() - new.keys()))
    assert body["matched"] == len(old.keys() & new.keys())
    matrix = body["matrix"]
    for i, row in enumerate(matrix["from"]):
        for j, column in enumerate(matrix["to"]):
            expected = sum(1 for c in old.keys() & new.keys() if old[c] == row and new[c] == column)
            assert matrix["counts"][i][j] == expected, (row, column)
    assert {m["customer_id"] for m in body["moved_customers"]} <= moved
    assert all(m["from"] == old[m["customer_id"]] and m["to"] == new[m["customer_id"]] for m in body["moved_customers"])

    response = api.get(f"{RUNS}/{first}/compare/{second}", params={"format": "csv"})
    assert response.status_code == 200
    assert {r["customer_id"] for r in rows_of(response.text)} == moved
    lost = rows_of(api.get(f"{RUNS}/{first}/compare/{second}", params={"format": "csv", "list": "lost"}).text)
    assert {r["customer_id"] for r in lost} == old.keys() - new.keys()


def test_compare_a_run_without_customer_ids_is_409_with_the_reason(api):
    with_ids, _ = score(api, customers_csv(range(40)))
    without, _ = score(api, customers_csv(range(40), id_column=False))
    response = api.get(f"{RUNS}/{with_ids}/compare/{without}")
    assert response.status_code == 409
    assert f"run {without}" in response.json()["message"] and "no customer id column" in response.json()["message"]


@pytest.mark.parametrize("path", ["", "/file", "/customers", "/compare/{other}", "/file?format=parquet"])
def test_an_unknown_run_is_404(api, path):
    other, _ = score(api, customers_csv(range(10)))
    response = api.get(f"{RUNS}/{'ab' * 16}{path.format(other=other)}")
    assert response.status_code == 404
    assert response.json()["type"] == "unknown_run"
    assert api.get(f"{RUNS}/../etc").status_code == 404


def test_a_run_past_retention_answers_410_with_the_date_its_file_was_removed(api, tmp_path):
    run_id, _ = score(api, customers_csv(range(20)))
    kept, _ = score(api, customers_csv(range(20)))
    _age_run(tmp_path, run_id, days=31)

    response = api.get(f"{RUNS}/{run_id}/customers")
    assert response.status_code == 410
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert f"removed on {today}" in response.json()["message"]
    assert "RUNS_RETENTION_DAYS" in response.json()["message"]
    assert not (_runs_folder(tmp_path) / f"{run_id}.parquet").exists()
    assert api.get(f"{RUNS}/{run_id}").status_code == 410
    assert api.get(f"{RUNS}/{run_id}/compare/{kept}").status_code == 410
    listed = {r["run_id"]: r for r in api.get(RUNS).json()["runs"]}
    assert listed[run_id]["removed_at"].startswith(today) and listed[kept]["removed_at"] is None


def test_runs_beyond_runs_kept_go_oldest_first(runs_client, tmp_path):
    api = runs_client(runs_kept=2)
    ids = [score(api, customers_csv(range(20), seed=n))[0] for n in range(3)]
    assert api.get(f"{RUNS}/{ids[0]}").status_code == 410
    assert "RUNS_KEPT" in api.get(f"{RUNS}/{ids[0]}").json()["message"]
    assert [api.get(f"{RUNS}/{run_id}").status_code for run_id in ids[1:]] == [200, 200]
    assert sorted(p.stem for p in _runs_folder(tmp_path).glob("*.parquet")) == sorted(ids[1:])


def test_results_max_bytes_evicts_the_oldest_run(client_for, runs_client, tmp_path):
    measure = client_builder(client_for, tmp_path / "measure")()
    size = measure.get(f"{RUNS}/{score(measure, customers_csv(range(400)))[0]}").json()["file_bytes"]
    api = runs_client(results_max_bytes=int(size * 1.5))
    old, _ = score(api, customers_csv(range(400)))
    new, _ = score(api, customers_csv(range(400)))

    response = api.get(f"{RUNS}/{old}/file")
    assert response.status_code == 410
    assert "RESULTS_MAX_BYTES" in response.json()["message"]
    assert api.get(f"{RUNS}/{new}/file").status_code == 200


def test_delete_removes_the_file_and_the_row_with_the_admin_key(api, tmp_path):
    run_id, _ = score(api, customers_csv(range(20)))
    path = _runs_folder(tmp_path) / f"{run_id}.parquet"
    assert path.is_file()

    assert api.delete(f"{RUNS}/{run_id}").status_code == 401
    assert path.is_file()
    assert api.delete(f"{RUNS}/{run_id}", headers={"X-API-Key": ADMIN_KEY}).status_code == 204
    assert not path.exists()
    assert api.get(f"{RUNS}/{run_id}").status_code == 404
    assert run_id not in {r["run_id"] for r in api.get(RUNS).json()["runs"]}
    assert api.delete(f"{RUNS}/{run_id}", headers={"X-API-Key": ADMIN_KEY}).status_code == 404


def test_a_run_deleted_by_another_request_meanwhile_is_404_and_audited_once(api, monkeypatch):
    from app.db.tables import AuditEvent, Run
    from app.services.runs import records

    run_id, _ = score(api, customers_csv(range(20)))
    found = records.find_run

    def found_then_deleted_elsewhere(**kwargs):
        # The other request's DELETE commits between this one's look-up and its delete.
        run = found(**kwargs)
        with api.app.state.db_sessions() as other:
            other.execute(sa_delete(Run).where(Run.id == run.id))
            other.commit()
        return run

    monkeypatch.setattr(records, "find_run", found_then_deleted_elsewhere)
    assert api.delete(f"{RUNS}/{run_id}", headers={"X-API-Key": ADMIN_KEY}).status_code == 404
    with api.app.state.db_sessions() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "run.delete")).all() == []


def test_a_semicolon_runs_customer_list_writes_every_number_with_a_decimal_comma(api):
    text = "CustomerID;Annual Income (k$);Spending Score (1-100)\n" + "".join(
        f"C{n};{40 + n},1;{n + 1}\n" for n in range(30)
    )
    run_id, labelled = score(api, text)
    listed = api.get(f"{RUNS}/{run_id}/customers", params={"format": "csv", "sort": "-confidence"})
    assert listed.status_code == 200
    rows = list(csv.reader(io.StringIO(listed.text), delimiter=";"))
    header = rows[0]
    assert header[:3] == ["CustomerID", "Annual Income (k$)", "Spending Score (1-100)"]
    for row in rows[1:]:
        values = dict(zip(header, row, strict=True))
        for column in ("Annual Income (k$)", "confidence", "distance"):
            assert "." not in values[column] and "," in values[column], (column, values[column])
    # The same convention as the labelled file's.
    assert labelled.splitlines()[1].count(";") == listed.text.splitlines()[1].count(";")


def test_a_file_that_fails_to_score_keeps_no_run(api, tmp_path):
    bad = customers_csv(range(20)) + "C99,Male,30,not a number,50,\n"
    response = api.post(
        "/api/v1/predict/csv", content=bad, headers={"content-type": "text/csv"}, params={"on_error": "reject"}
    )
    assert response.status_code == 422
    assert "x-run-id" not in response.headers
    assert api.get(RUNS).json()["runs"] == []
    assert list(_runs_folder(tmp_path).iterdir()) == []


def test_runs_kept_zero_keeps_no_run(runs_client, tmp_path):
    api = runs_client(runs_kept=0)
    response = api.post("/api/v1/predict/csv", content=customers_csv(range(20)), headers={"content-type": "text/csv"})
    assert response.status_code == 200
    assert "x-run-id" not in response.headers
    summary = api.post(
        "/api/v1/predict/csv",
        content=customers_csv(range(20)),
        headers={"content-type": "text/csv", "accept": "application/json"},
    ).json()
    assert summary["run_id"] is None and summary["scored"] == 20
    assert api.get(RUNS).json()["runs"] == []
    assert not _runs_folder(tmp_path).exists()


def test_a_kept_run_queues_one_run_finished_event_with_links_to_its_file(api, tmp_path):
    run_id, _ = score(api, customers_csv(range(40)))
    engine = create_engine(f"sqlite:///{tmp_path / 'runs.sqlite3'}")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT type, payload FROM notification_events")).all()
    engine.dispose()
    finished = [row for row in rows if row.type == "run.finished"]
    assert len(finished) == 1
    payload = json.loads(finished[0].payload) if isinstance(finished[0].payload, str) else finished[0].payload
    assert (payload["run_id"], payload["rows"], payload["scored"]) == (run_id, 40, 40)
    assert sum(segment["count"] for segment in payload["segments"]) == 40
    link = payload["links"]["file"].split("/api/v1/", 1)[1]
    assert api.get(f"/api/v1/{link}").content == api.get(f"{RUNS}/{run_id}/file?format=csv").content


def test_housekeeping_that_fails_after_a_run_is_kept_never_costs_the_run(api, monkeypatch):
    from app.services.runs import records

    def hiccup(**_):
        raise OSError("disk hiccup during the purge")

    monkeypatch.setattr(records, "purge_runs", hiccup)
    run_id, labelled = score(api, customers_csv(range(50)))
    monkeypatch.undo()
    assert run_id  # the answer still names its run
    kept = api.get(f"{RUNS}/{run_id}/file?format=csv")
    assert kept.status_code == 200 and kept.text == labelled


def test_a_segmentation_filter_holding_a_nul_is_a_422_not_a_database_outage(api):
    response = api.get(RUNS, params={"segmentation": "crm\x00"})
    assert response.status_code == 422  # PostgreSQL refuses a NUL in a query: it was a 503 "database unavailable"
    assert "U+0000" in response.json()["message"]
