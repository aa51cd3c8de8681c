"""GET /api/v1/runs/{id}/report and /drift: a run's segment report (HTML and PDF) and its own drift verdict."""

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.pdf_pages import coloured_pixels, read_pdf
from tests.runs_files import client_builder, customers_csv, rows_of, score
from tests.web.conftest import segmentations_template  # noqa: F401  (a session fixture: crm and rfm trained once)

RUNS = "/api/v1/runs"
REGIONS = ["North", "South", "East", "West"]


@pytest.fixture
def runs_client(client_for, tmp_path: Path):
    return client_builder(client_for, tmp_path)


@pytest.fixture
def api(runs_client):
    return runs_client()


def _training_file(default_data: Path, *, seed: int = 0, income_times: float = 1.0) -> str:
    """The training customers shuffled, with a Region column drawn at random, and incomes multiplied if asked."""
    frame = pd.read_csv(default_data).sample(frac=1.0, random_state=seed)
    rng = np.random.default_rng(seed)
    frame["Region"] = rng.choice(REGIONS, size=len(frame), p=[0.4, 0.3, 0.2, 0.1])
    frame["Annual Income (k$)"] = frame["Annual Income (k$)"] * income_times
    return frame.to_csv(index=False)


def _section(html: str, segment_id: int) -> str:
    found = re.search(rf'<section class="segment" data-segment-id="{segment_id}".*?</section>', html, re.S)
    assert found is not None, segment_id
    return found.group(0)


def test_the_html_report_of_a_run_shows_regions_per_segment(api, default_data):
    run_id, labelled = score(api, _training_file(default_data))
    response = api.get(f"{RUNS}/{run_id}/report", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    run = api.get(f"{RUNS}/{run_id}").json()
    assert run["model_version"] in html
    rows = pd.read_csv(io.StringIO(labelled))
    for segment in run["summary"]["segments"]:
        body = _section(html, segment["segment_id"])
        members = rows[rows["segment_id"] == segment["segment_id"]]
        region = re.search(r'<p class="composition" data-column="Region">(.*?)</p>', body, re.S)
        assert region is not None, segment["segment_name"]
        for value, share in members["Region"].value_counts(normalize=True).items():
            assert f"{value} {share:.0%}" in region.group(1)
        assert "Gender:" in body
        assert "CustomerID" not in body  # the customer id is no category
    # The run's own drift: the same verdict as its drift route.
    drift = api.get(f"{RUNS}/{run_id}/drift").json()
    assert f'data-drift-status="{drift["status"]}"' in html
    assert "No earlier kept run" in html  # the first run has nothing to migrate from


def test_the_pdf_report_of_a_run_has_its_text_and_charts(api, default_data, tmp_path):
    run_id, _ = score(api, _training_file(default_data))
    response = api.get(f"{RUNS}/{run_id}/report", params={"format": "pdf", "download": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.headers["content-disposition"].startswith("attachment;")
    pages = read_pdf(response.content, tmp_path / "pdf")
    text = " ".join(pages.text.split())
    for segment in api.get(f"{RUNS}/{run_id}").json()["summary"]["segments"]:
        assert segment["segment_name"] in text
    assert "Region:" in text
    assert pages.images >= 2
    assert sum(coloured_pixels(page) for page in pages.pixels) > 0


def test_the_report_shows_the_migration_against_the_previous_run(api):
    first, before = score(api, customers_csv(range(0, 150), seed=1))
    score(api, customers_csv(range(0, 50), id_column=False))  # no ids: never the run compared with
    second, after = score(api, customers_csv(range(30, 180), seed=2))
    old = {r["CustomerID"]: r["segment_name"] for r in rows_of(before) if r["segment_name"]}
    new = {r["CustomerID"]: r["segment_name"] for r in rows_of(after) if r["segment_name"]}
    matched = old.keys() & new.keys()
    moved = sum(old[c] != new[c] for c in matched)

    html = api.get(f"{RUNS}/{second}/report", params={"format": "html"}).text
    assert f"Against run {first}" in html
    assert f"{moved:,} of {len(matched):,}" in html


@pytest.mark.parametrize("path", ["/report", "/drift"])
def test_an_unknown_run_is_404_and_a_removed_one_410(api, tmp_path, path):
    response = api.get(f"{RUNS}/{'ab' * 16}{path}")
    assert response.status_code == 404
    assert response.json()["type"] == "unknown_run"

    run_id, _ = score(api, customers_csv(range(20)))
    (tmp_path / "results" / "runs" / f"{run_id}.parquet").unlink()
    response = api.get(f"{RUNS}/{run_id}{path}")
    assert response.status_code == 410
    assert response.json()["type"] == "run_removed"


@pytest.mark.parametrize("path", ["/report", "/drift"])
def test_a_run_whose_version_was_deleted_is_410_saying_so(api, path):
    run_id, _ = score(api, customers_csv(range(20)))
    version = api.get(f"{RUNS}/{run_id}").json()["model_version"]
    registry = api.app.state.segmentations.registry("default")
    original = registry.get

    def forgetting(asked=None, *args, **kwargs):
        from app.core.errors import UnknownModelVersion

        if asked == version:
            raise UnknownModelVersion(f"no model version {version!r}")
        return original(asked, *args, **kwargs)

    registry.get = forgetting
    try:
        response = api.get(f"{RUNS}/{run_id}{path}")
    finally:
        del registry.get
    assert response.status_code == 410
    body = response.json()
    assert body["type"] == "run_model_removed"
    assert version in body["message"] and "deleted" in body["message"]


def test_a_file_like_the_training_data_is_stable_and_a_shifted_one_drifts(api, default_data):
    like, _ = score(api, _training_file(default_data, seed=1))
    shifted, _ = score(api, _training_file(default_data, seed=1, income_times=3))

    report = api.get(f"{RUNS}/{like}/drift").json()
    assert report["status"] == "stable", report["messages"]
    assert report["window"]["kind"] == "run"
    assert report["window"]["size"] == len(pd.read_csv(default_data))

    report = api.get(f"{RUNS}/{shifted}/drift").json()
    assert report["status"] == "drift"
    income = next(f for f in report["features"] if f["feature"] == "annual_income")
    assert income["status"] == "drift"


def test_each_customer_counts_once_in_a_runs_drift(api, default_data):
    text = _training_file(default_data, seed=2)
    header, *lines = text.splitlines()
    twice = "\n".join([header, *lines, *lines[:50]]) + "\n"
    run_id, _ = score(api, twice)
    report = api.get(f"{RUNS}/{run_id}/drift").json()
    assert report["window"]["rows_read"] == len(lines) + 50
    assert report["window"]["size"] == len(lines)


def test_a_small_run_has_no_verdict_and_says_why(api):
    run_id, _ = score(api, customers_csv(range(30)))
    report = api.get(f"{RUNS}/{run_id}/drift").json()
    assert report["status"] == "insufficient data"
    assert report["messages"] == [
        "Only 30 customers scored in this run: drift checks need at least 100, so there is no verdict for this file."
    ]


def test_a_run_of_a_three_feature_segmentation_has_its_report_and_drift(runs_client, segmentations_template, tmp_path):  # noqa: F811
    root = tmp_path / "models_artifacts"
    shutil.copytree(segmentations_template[0], root)
    api = runs_client(model_dir=root)
    run_id, _ = score(api, segmentations_template[1].read_text(), url="/api/v1/segmentations/crm/predict/csv")

    response = api.get(f"{RUNS}/{run_id}/report", params={"format": "html"})
    assert response.status_code == 200
    sections = re.findall(r'<section class="segment".*?</section>', response.text, re.S)
    assert len(sections) == 3
    for section in sections:
        for feature in ("Income", "Visits", "Tenure"):
            assert f'<th scope="row">{feature}' in section
    report = api.get(f"{RUNS}/{run_id}/drift").json()
    assert {f["feature"] for f in report["features"]} == {"income", "visits", "tenure"}
    assert report["status"] == "stable", report["messages"]


# 11 transaction lines of 7 customers: A, B and C have usable lines, D to G one bad line each.
ELEVEN_LINES = (
    "InvoiceNo,CustomerID,InvoiceDate,Amount\n"
    "1,A,2011-11-01,120.5\n2,A,2011-11-20,80\n3,A,2011-12-01,60\n4,B,2011-06-01,15\n5,B,2011-06-03,20\n"
    "6,C,2011-12-05,300\n7,C,2011-12-06,250\n"
    "8,D,2011-13-45,10\n9,E,2011-12-01,\n10,F,2011-12-01,abc\n11,G,not a date,5\n"
)


def _rfm_api(runs_client, template: Path, tmp_path: Path):
    """A client over a private copy of the template's models, its `rfm` segmentation trained."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(template, root)
    return runs_client(model_dir=root)


def _summary(html: str) -> dict[str, str]:
    """The report's summary table, name to value."""
    return dict(re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', html))


@pytest.mark.parametrize("on_error", ["flag", "skip"])
def test_an_rfm_runs_report_counts_customers_from_their_transaction_lines(
    runs_client,
    segmentations_template,  # noqa: F811
    tmp_path,
    on_error,
):
    api = _rfm_api(runs_client, segmentations_template[0], tmp_path)
    run_id, _ = score(api, ELEVEN_LINES, url="/api/v1/segmentations/rfm/predict/csv", on_error=on_error)
    html = api.get(f"{RUNS}/{run_id}/report", params={"format": "html"})
    assert html.status_code == 200, html.text
    summary = _summary(html.text)
    # As the run's page says it; under skip the four are no rows of the file, yet were found in its lines.
    assert summary["Customers"] == "7 (from 11 transaction lines)"
    assert summary["Customers scored"] == "3"
    assert summary["Left out: no usable transaction"] == "4"
    assert "Rows" not in summary
    pdf = api.get(f"{RUNS}/{run_id}/report", params={"format": "pdf"})
    assert pdf.status_code == 200
    text = " ".join(read_pdf(pdf.content, tmp_path / "pdf").text.split())
    assert "Customers 7 (from 11 transaction lines)" in text and "Left out: no usable transaction 4" in text


def test_an_empty_segment_of_a_runs_report_says_so_rather_than_an_empty_table(
    runs_client,
    segmentations_template,  # noqa: F811
    tmp_path,
):
    api = _rfm_api(runs_client, segmentations_template[0], tmp_path)
    run_id, _ = score(api, ELEVEN_LINES, url="/api/v1/segmentations/rfm/predict/csv")
    html = api.get(f"{RUNS}/{run_id}/report", params={"format": "html"})
    assert html.status_code == 200, html.text
    # Three customers leave at least one of the four segments empty.
    sections = re.findall(r'<section class="segment".*?</section>', html.text, re.S)
    empty = [section for section in sections if " · 0 customers " in section]
    assert empty and all("No customers of this run are in this segment." in section for section in empty)
    assert all('<table class="profile">' not in section for section in empty)
    pdf = api.get(f"{RUNS}/{run_id}/report", params={"format": "pdf"})
    text = " ".join(read_pdf(pdf.content, tmp_path / "pdf").text.split())
    assert text.count("No customers of this run are in this segment.") == len(empty)
    assert text.count("Feature Mean") == len(sections) - len(empty)
