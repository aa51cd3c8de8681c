"""Pages per segmentation: the header's picker, each page with ?segmentation=, and creating one from /models."""

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.models.synthetic_crm import write_crm
from app.services.training.store import JobStore, read_job
from app.web import pending_uploads
from tests.semicolon_csv import excel_style

KEY = "segmentation-pages-key"
HTML = {"accept": "text/html"}
FORM_TOKEN = re.compile(r'<input type="hidden" name="form_token" value="([A-Za-z0-9_-]+)">')
NAV = re.compile(r'<nav aria-label="Main">.*?</nav>', re.S)


@pytest.fixture
def pages(client_for, fresh_dir: Path, tmp_path: Path) -> TestClient:
    """A client with admin keys, its own models folder, jobs folder and pending-uploads folder."""
    return client_for(model_dir=fresh_dir, admin_api_keys=[KEY], jobs_dir=tmp_path / "jobs")


@pytest.fixture
def crm(tmp_path: Path) -> bytes:
    return write_crm(tmp_path / "crm.csv").read_bytes()


def form_token(client: TestClient) -> str:
    response = client.get("/models", headers=HTML)
    assert response.status_code == 200
    return FORM_TOKEN.search(response.text).group(1)


def upload(client: TestClient, data: bytes, *, key: str | None = KEY, name: str = "crm.csv"):
    token = form_token(client)
    headers = HTML | ({"X-API-Key": key} if key else {})
    return client.post(
        "/models/segmentations/new",
        files={"file": (name, data, "text/csv")},
        data={"form_token": token},
        headers=headers,
        follow_redirects=False,
    )


def choose_columns(client: TestClient, data: bytes) -> tuple[str, str]:
    """Upload a file; the column chooser's URL and page."""
    response = upload(client, data)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    page = client.get(location, headers=HTML)
    assert page.status_code == 200, page.text
    return location, page.text


def create(client: TestClient, page: str, **fields: str):
    token = FORM_TOKEN.search(page).group(1)
    upload_token = re.search(r'name="upload" value="([^"]+)"', page).group(1)
    return client.post(
        "/models/segmentations",
        data={"form_token": token, "upload": upload_token, **fields},
        headers=HTML,
        follow_redirects=False,
    )


def wait_for_job(client: TestClient, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError("the training job did not finish")


def test_with_only_the_default_segmentation_there_is_no_picker_and_links_are_plain(pages):
    response = pages.get("/score", headers=HTML)
    assert response.status_code == 200
    assert 'class="segmentation-picker"' not in response.text
    nav = NAV.search(response.text).group(0)
    assert "segmentation=" not in nav and 'href="/models"' in nav


def test_the_column_chooser_shows_the_header_rows_and_suggestions_with_ids_unticked(pages, crm):
    _, page = choose_columns(pages, crm)
    for header in ("CustomerID", "Income", "Visits", "Tenure"):
        assert f'<th scope="col">{header}</th>' in page
    assert re.search(r'name="use_0" value="true"> CustomerID', page)  # id-like: offered, not ticked
    for index in (1, 2, 3):
        assert f'name="use_{index}" value="true" checked' in page
    assert 'name="name_1" value="income"' in page and 'name="label_2" value="Visits"' in page
    # The suggested accepted range is generous: from 0 (incomes are never negative), with no upper bound, and the
    # page says that values outside it are refused while the file's own range only flags them.
    assert 'name="min_1" value="0"' in page and 'name="max_1" value=""' in page
    assert "no limit" in page and "out_of_range" in page and 'aria-describedby="range-help"' in page


def test_a_segmentation_is_created_trained_and_every_page_shows_it(pages, crm, tmp_path):
    _, page = choose_columns(pages, crm)
    created = create(
        pages, page, name="crm", k="3", use_1="true", use_2="true", use_3="true", unit_1="$", transform_1="log1p"
    )
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert location.startswith("/models?segmentation=crm&job=")
    assert (
        list(pending_uploads.root_of(tmp_path / "jobs").iterdir()) == []
    )  # the kept file went to the job, its folder is gone
    job = wait_for_job(pages, location.split("job=")[1])
    assert job["state"] == "succeeded", job
    # A change made through the page is in the audit trail like one made through the API.
    audited = pages.get("/api/v1/audit?action=segmentation.create", headers={"X-API-Key": KEY}).json()["events"]
    # The session's database is shared with other tests: this one's row is the one naming its job.
    (mine,) = [item for item in audited if item["detail"].get("job_id") == job["job_id"]]
    assert mine["target"] == "crm" and mine["who"].startswith("key-")
    # Its first version's training too, as the API records a segmentation's training.
    trained = pages.get("/api/v1/audit?action=version.train", headers={"X-API-Key": KEY}).json()["events"]
    (training,) = [item for item in trained if item["target"] == job["job_id"]]
    assert training["who"] == mine["who"] and training["detail"]["segmentation"] == "crm"
    # The same fields as the API's row, so a filter on them finds both.
    assert {"segmentation", "k", "features", "activate", "engine"} <= training["detail"].keys()
    described = pages.get("/api/v1/segmentations/crm").json()
    assert described["active_version"] == job["version"]
    income = described["served_features"][0]
    assert (income["name"], income["column"], income["unit"], income["transform"]) == ("income", "Income", "$", "log1p")
    assert [f["name"] for f in described["served_features"]] == ["income", "visits", "tenure"]
    assert (income["min"], income["max"]) == (0.0, None)
    # A customer far beyond the file's range is segmented, flagged out_of_range, not refused.
    beyond = pages.post(
        "/api/v1/segmentations/crm/predict", json={"features": {"income": 10_000_000, "visits": 500, "tenure": 12}}
    )
    assert beyond.status_code == 200, beyond.text
    assert {item["feature"] for item in beyond.json()["out_of_range"]} >= {"income", "visits"}

    models = pages.get("/models?segmentation=crm", headers=HTML)
    assert models.status_code == 200
    assert f'data-version="{job["version"]}" class="is-active"' in models.text
    assert 'data-api-base="/api/v1/segmentations/crm"' in models.text
    assert '<option value="crm" selected>crm</option>' in models.text
    nav = NAV.search(models.text).group(0)
    assert nav.count("?segmentation=crm") == 7

    score = pages.get("/score?segmentation=crm", headers=HTML)
    assert score.status_code == 200
    assert 'action="/score?segmentation=crm"' in score.text and "<code>Visits</code>" in score.text
    about = pages.get("/about?segmentation=crm", headers=HTML)
    assert about.status_code == 200
    assert "/api/v1/segmentations/crm/predict" in about.text and "Mean visits" in about.text
    monitoring = pages.get("/monitoring?segmentation=crm", headers=HTML)
    assert monitoring.status_code == 200 and job["version"] in monitoring.text

    home = pages.get("/?segmentation=crm", headers=HTML)
    assert home.status_code == 200
    assert 'name="income"' in home.text and 'name="tenure"' in home.text and 'name="annual_income"' not in home.text
    sent = pages.get(
        "/?segmentation=crm&income=140000&visits=3&tenure=12&income_was=&visits_was=&tenure_was=",
        headers={**HTML, "Sec-Fetch-Site": "same-origin"},
    )
    assert sent.status_code == 200, sent.text
    assert "High Income" in sent.text

    token = FORM_TOKEN.search(score.text).group(1)
    scored = pages.post(
        "/score?segmentation=crm", files={"file": ("crm.csv", crm, "text/csv")}, data={"form_token": token}
    )
    assert scored.status_code == 200, scored.text
    assert 'id="score-download"' in scored.text and 'data-feature="tenure"' in scored.text
    # The page's rows are logged under the segmentation, and its monitoring page reads them.
    from app.services.monitoring.log_reader import LogFilter, count_by

    rows_in_file = crm.count(b"\n") - 1
    deadline = time.monotonic() + 20
    while True:
        with pages.app.state.db_sessions() as session:
            logged = count_by(session, "segmentation", where=LogFilter(model_versions=(job["version"],))).items()
        if dict(logged).get("crm", 0) > rows_in_file or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    logged = dict(logged)
    assert set(logged) == {"crm"} and logged["crm"] > rows_in_file  # the file, and the home page's no-JS form
    monitoring = pages.get("/monitoring?segmentation=crm", headers=HTML)
    assert f'<dd data-fact="window-size">{logged["crm"]:,}</dd>' in monitoring.text
    # The time window picker keeps the segmentation: its presets' links and its custom span's form.
    assert '<a href="?segmentation=crm&amp;period=7d" data-period="7d">' in monitoring.text
    assert '<input type="hidden" name="segmentation" value="crm">' in monitoring.text

    # The default segmentation's pages are as before, with the picker now offering both.
    default = pages.get("/models", headers=HTML)
    assert '<option value="default" selected>default</option>' in default.text
    assert "segmentation=" not in NAV.search(default.text).group(0)


def test_a_segmentation_created_on_the_page_records_its_training_as_from_the_page(pages, crm, ended_trainers):
    _, page = choose_columns(pages, crm)
    created = create(pages, page, name="crm", k="3", use_1="true", use_2="true", use_3="true")
    assert created.status_code == 303, created.text
    job_id = created.headers["location"].split("job=")[1]
    assert read_job(pages.app.state.settings.job_root / job_id)["params"]["origin"] == "page"


def test_an_unknown_segmentation_is_a_404_page(pages):
    response = pages.get("/score?segmentation=nope", headers=HTML)
    assert response.status_code == 404 and "nope" in response.text


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("wrong-key", 403)])
def test_an_upload_needs_the_admin_key_and_keeps_nothing_without_it(pages, crm, key, status, tmp_path):
    response = upload(pages, crm, key=key)
    assert response.status_code == status
    assert (
        not pending_uploads.root_of(tmp_path / "jobs").exists()
        or list(pending_uploads.root_of(tmp_path / "jobs").iterdir()) == []
    )


def test_an_upload_without_the_pages_cookie_is_refused(pages, crm):
    token = form_token(pages)
    pages.cookies.clear()
    response = pages.post(
        "/models/segmentations/new",
        files={"file": ("crm.csv", crm, "text/csv")},
        data={"form_token": token},
        headers=HTML | {"X-API-Key": KEY},
    )
    assert response.status_code == 403 and "expired" in response.text


def test_the_column_chooser_says_which_rows_do_not_fit_the_header(pages, crm):
    lines = crm.decode().splitlines()
    lines[3] += ",extra"
    _, page = choose_columns(pages, ("\n".join(lines) + "\n").encode())
    # 600 rows in the file, one of them left out: the count read includes the row left out.
    assert (
        "600 rows read; 1 left out, as training leaves them out (wrong number of fields: the first on line 4)" in page
    )


def test_a_file_whose_rows_do_not_fit_its_header_is_a_422_page_naming_the_line(pages, crm):
    header, *rows = crm.decode().splitlines()
    response = upload(pages, "\n".join([header, *(row + ",1" for row in rows)]).encode(), name="shifted.csv")
    assert response.status_code == 422
    assert "line 2 has 5 fields where the header has 4" in response.text


def test_a_file_that_is_not_a_table_is_a_422_page_naming_it(pages):
    response = upload(pages, b"Income,Visits\n", name="empty.csv")
    assert response.status_code == 422
    assert "no data rows" in response.text and "empty.csv" in response.text


def test_too_few_or_too_many_columns_and_taken_names_come_back_on_the_form(pages, tmp_path):
    wide = (
        ",".join(f"c{i}" for i in range(10))
        + "\n"
        + "\n".join(",".join(str((row * 7 + i * 3) % 11 + i) for i in range(10)) for row in range(30))
    )
    _, page = choose_columns(pages, wide.encode())
    one = create(pages, page, name="wide", use_1="true", name_1="edited_name")
    assert one.status_code == 422
    assert "choose 2 to 8 numeric columns" in one.text and "1 chosen" in one.text
    assert 'name="name_1" value="edited_name"' in one.text  # what was typed stays
    nine = create(pages, one.text, name="wide", **{f"use_{i}": "true" for i in range(9)})
    assert nine.status_code == 422 and "9 chosen" in nine.text
    taken = create(pages, page, name="default", use_1="true", use_2="true")
    assert taken.status_code == 409 and "default" in taken.text
    bad_bound = create(pages, page, name="wide", use_1="true", use_2="true", min_2="low")
    assert bad_bound.status_code == 422 and "column &#39;c2&#39;: the minimum must be a number" in bad_bound.text
    assert pages.get("/api/v1/segmentations").json()["count"] == 1  # nothing was half-created


def test_the_id_column_is_offered_under_a_name_the_api_takes(pages, crm):
    _, page = choose_columns(pages, crm)
    assert 'name="name_0" value="customer_id_2"' in page  # customer_id is a column every scored file gets
    assert re.search(r'name="use_0" value="true"> CustomerID', page)  # still offered unticked


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"min_2": "10", "max_2": "5"}, "&#39;Visits&#39;: the minimum must be below the maximum"),
        ({"name_1": "segment_id"}, "&#39;Income&#39;: the feature name &#39;segment_id&#39; is taken by a column"),
        ({"transform_1": "log1p", "min_1": "-5"}, "&#39;Income&#39;: with log(1 + x) the minimum cannot be below 0"),
        ({"use_1": None, "min_3": "3", "max_3": "1"}, "&#39;Tenure&#39;: the minimum must be below the maximum"),
    ],
)
def test_a_bad_feature_is_said_on_the_form_in_the_forms_words(pages, crm, fields, said):
    _, page = choose_columns(pages, crm)
    chosen = {"use_1": "true", "use_2": "true", "use_3": "true"} | fields
    response = create(pages, page, name="crm", k="3", **{key: value for key, value in chosen.items() if value})
    assert response.status_code == 422
    assert f"column {said}" in response.text and 'id="create-error"' in response.text
    assert "features[" not in response.text  # the API's field path is not the form's
    assert pages.get("/api/v1/segmentations").json()["count"] == 1


def test_another_browser_cannot_use_a_kept_upload(pages, client_for, crm, fresh_dir, tmp_path):
    location, page = choose_columns(pages, crm)
    other = client_for(model_dir=fresh_dir, admin_api_keys=[KEY], jobs_dir=tmp_path / "jobs")
    form_token(other)  # its own form cookie
    assert other.get(location, headers=HTML).status_code == 403
    stolen = create(other, page, name="stolen", use_1="true", use_2="true")
    assert stolen.status_code == 403 and pages.get("/api/v1/segmentations").json()["count"] == 1


def _small_file(rows: int, *, sparse: bool = False) -> bytes:
    """A file of `rows` customers with Spend and Visits (Visits empty but on two rows when `sparse`)."""
    lines = ["Spend,Visits"]
    for row in range(rows):
        visits = "" if sparse and row > 1 else str(row % 7 + 1)
        lines.append(f"{100 + row * 37 % 500},{visits}")
    return ("\n".join(lines) + "\n").encode()


def jobs(client: TestClient) -> set[str]:
    root = client.app.state.settings.job_root
    return {folder.name for folder in root.iterdir()} if root.is_dir() else set()


def test_too_few_rows_for_k_is_said_on_the_form_and_nothing_is_created(pages):
    _, page = choose_columns(pages, _small_file(8))
    before = jobs(pages)
    auto = create(pages, page, name="small", k="auto", use_0="true", use_1="true")
    assert auto.status_code == 422
    assert "only 8 usable row(s) of 8" in auto.text and "at least 11" in auto.text
    assert "choose at most 7 segments" in auto.text and 'id="create-error"' in auto.text
    assert 'name="name" value="small"' in auto.text  # the form comes back as it was sent
    assert pages.get("/api/v1/segmentations").json()["count"] == 1
    assert jobs(pages) == before  # no job was started
    # The same file with a k it can hold is created and trained.
    fitting = create(pages, auto.text, name="small", k="3", use_0="true", use_1="true")
    assert fitting.status_code == 303, fitting.text
    assert wait_for_job(pages, fitting.headers["location"].split("job=")[1])["state"] == "succeeded"


def test_a_chosen_column_with_almost_no_numbers_is_said_on_the_form(pages):
    _, page = choose_columns(pages, _small_file(30, sparse=True))
    response = create(pages, page, name="sparse", k="3", use_0="true", use_1="true")
    assert response.status_code == 422
    assert "only 2 usable row(s) of 30" in response.text and "28 missing visits" in response.text
    assert pages.get("/api/v1/segmentations").json()["count"] == 1


def test_a_running_training_job_is_said_on_the_form_and_nothing_is_created(pages, crm, tmp_path):
    _, page = choose_columns(pages, crm)
    settings = pages.app.state.settings
    JobStore(settings.job_root).create({"segmentation": "default", "k": 5})  # queued: counts as running
    response = create(pages, page, name="crm", k="3", use_1="true", use_2="true")
    assert response.status_code == 409
    assert "training job(s) already running" in response.text and 'id="create-error"' in response.text
    assert 'id="segmentation-create-form"' in response.text
    assert pages.get("/api/v1/segmentations").json()["count"] == 1
    assert len(list(pending_uploads.root_of(tmp_path / "jobs").iterdir())) == 1  # the kept file stays, to try again


def _transactions(tmp_path: Path, customers: int) -> bytes:
    from app.models.synthetic_transactions import write_transactions

    return write_transactions(tmp_path / "transactions.csv", customers=customers, seed=3)[0].read_bytes()


def test_a_transactions_file_is_offered_rfm_and_creates_an_rfm_segmentation(pages, tmp_path):
    # RFM was reachable only through the API: a transactions export offered its columns as features.
    _, page = choose_columns(pages, _transactions(tmp_path, 120))
    offer = re.search(r'<form id="rfm-create-form".*?</form>', page, re.S)
    assert offer is not None
    assert "the customer id (<code>" in offer.group(0) and "the date (<code>" in offer.group(0)
    created = create(pages, offer.group(0), kind="rfm", name="buyers", k="4")
    assert created.status_code == 303, created.text
    job = wait_for_job(pages, created.headers["location"].split("job=")[1])
    assert job["state"] == "succeeded", job
    described = pages.get("/api/v1/segmentations/buyers").json()
    assert described["kind"] == "rfm" and described["active_version"] == job["version"]
    assert [f["name"] for f in described["served_features"]] == ["recency_days", "frequency", "monetary"]


def test_a_transactions_files_id_columns_start_unticked_with_the_hint(pages, tmp_path):
    _, page = choose_columns(pages, _transactions(tmp_path, 120))
    chooser = re.search(r'<form id="segmentation-create-form".*?</form>', page, re.S).group(0)
    for column in ("InvoiceNo", "CustomerID"):
        shown = rf'name="use_(\d+)" value="true"( checked)?> {column}</label>( <span[^>]*>\(looks like an id\))?'
        ticked = re.search(shown, chooser)
        assert ticked is not None, column
        assert ticked.group(2) is None and ticked.group(3) is not None, (column, ticked.group(0))
    for column in ("Quantity", "UnitPrice"):
        assert re.search(rf'name="use_\d+" value="true" checked> {column}</label></th>', chooser), column


def test_a_customer_file_is_not_offered_rfm(pages, crm):
    _, page = choose_columns(pages, crm)
    assert 'id="rfm-create-form"' not in page and 'id="segmentation-create-form"' in page


def test_too_few_customers_for_rfm_is_said_on_the_form_and_nothing_is_created(pages, tmp_path):
    _, page = choose_columns(pages, _transactions(tmp_path, 6))
    before = jobs(pages)
    refused = create(pages, page, kind="rfm", name="few", k="auto")
    assert refused.status_code == 422
    assert "only 6 usable customer(s) in" in refused.text and "transaction lines" in refused.text
    assert re.search(r'id="rfm-create-form".*?name="name" value="few"', refused.text, re.S)
    assert pages.get("/api/v1/segmentations").json()["count"] == 1
    assert jobs(pages) == before


LONG_NAME = "Preferred store " + "y" * 184  # 200 characters


def _chooser(page: str) -> str:
    return re.search(r'<form id="segmentation-create-form".*?</form>', page, re.S).group(0)


def test_long_and_nameless_text_columns_are_named_in_a_sentence_that_wraps(pages, crm):
    lines = crm.decode().splitlines()
    data = "\n".join([f"{lines[0]},{LONG_NAME},", *(f"{line},store {n},x" for n, line in enumerate(lines[1:]))])
    _, page = choose_columns(pages, data.encode())
    said = re.search(r'<p class="muted column-names" id="not-numeric">Not numeric, so not offered: (.*?)</p>', page)
    assert said is not None
    position = len(lines[0].split(",")) + 2
    assert re.findall(r"<code>([^<]*)</code>", said.group(1))[-2:] == [LONG_NAME, f"(column {position}, no name)"]
    preview = re.search(r'<table class="versions" id="preview">.*?</thead>', page, re.S).group(0)
    assert '<th scope="col"></th>' not in preview


def _wide_crm(columns: int = 1_000, rows: int = 30) -> bytes:
    """A CRM export with `columns` columns: an id, four text columns, then numbers, every tenth all zeros."""
    header = ["CustomerID", "Name", "Email", "City", "Plan"] + [f"Field {n}" for n in range(columns - 5)]
    lines = [",".join(header)]
    for row in range(rows):
        numbers = ["0" if n % 10 == 0 else str((row * 7 + n) % 97) for n in range(columns - 5)]
        lines.append(",".join([str(1000 + row), f"N{row}", f"c{row}@example.com", "Oslo", "basic", *numbers]))
    return ("\n".join(lines) + "\n").encode()


def test_a_thousand_column_file_previews_twenty_and_says_what_the_form_leaves_out(pages):
    _, page = choose_columns(pages, _wide_crm())
    preview = re.search(r'<table class="versions" id="preview">.*?</table>', page, re.S).group(0)
    assert len(re.findall(r'<th scope="col">', preview)) == 20
    assert all(len(re.findall(r"<td>", row)) == 20 for row in re.findall(r"<tr>.*?</tr>", preview.split("<tbody>")[1]))
    assert '<p class="muted" id="preview-note">Showing 20 of 1,000 columns, the first in the file.</p>' in page
    capped = re.search(r'<p id="columns-capped"><strong>(.*?)</strong></p>', page)
    assert capped is not None and capped.group(1).startswith("Showing 40 of 996 numeric columns")
    assert "upload a file with just the columns you need" in capped.group(1)
    assert len(re.findall(r'<tr data-column="', _chooser(page))) == 40
    assert len(page) < 100_000  # 228 KB when every column was drawn


def test_a_column_that_never_changes_is_never_ticked_and_says_so(pages):
    _, page = choose_columns(pages, _wide_crm(columns=12))
    chooser = _chooser(page)
    rows = dict(re.findall(r'<tr data-column="([^"]+)">(.*?)</tr>', chooser, re.S))
    assert "checked" not in rows["Field 0"] and "(never changes)" in rows["Field 0"]
    assert all(" checked" in rows[f"Field {n}"] and "never changes" not in rows[f"Field {n}"] for n in range(1, 7))


@pytest.mark.parametrize(
    ("header", "row", "said"),
    [
        (
            "CustomerID,Date,Amount",
            "C{n:04d},2024-{month:02d}-{day:02d},{n}.50",
            "this file has only 1 numeric column; a columns segmentation needs 2 to 8. The RFM segmentation above",
        ),
        ("Name,City", "N{n},Oslo", "this file has no numeric column; a columns segmentation needs 2 to 8.</p>"),
    ],
)
def test_a_file_with_fewer_than_two_numbers_offers_no_columns_form_and_says_why(pages, header, row, said):
    lines = [header] + [row.format(n=n % 40, month=1 + n % 12, day=1 + n % 28) for n in range(200)]
    _, page = choose_columns(pages, ("\n".join(lines) + "\n").encode())
    assert ('id="rfm-create-form"' in page) == header.startswith("CustomerID")
    assert 'id="segmentation-create-form"' not in page and 'name="use_0"' not in page
    assert f"<p>Not offered: {said}" in page
    assert "choose 2 to 8 numeric columns" not in page


def test_an_empty_column_is_called_empty_not_not_numeric(pages, crm):
    lines = crm.decode().splitlines()
    data = "\n".join([f"{lines[0]},Notes", *(f"{line}," for line in lines[1:])])
    _, page = choose_columns(pages, data.encode())
    empty = re.search(r'<p class="muted column-names" id="empty-columns">(.*?)</p>', page)
    assert empty is not None and "<code>Notes</code>" in empty.group(1)
    said = re.search(r'id="not-numeric">(.*?)</p>', page)
    assert said is None or "Notes" not in said.group(1)


def test_a_bound_typed_with_a_decimal_comma_is_read_as_the_file_writes_numbers(pages, crm):
    # The page says "decimal commas" and shows 36,12; a phone's decimal keypad there offers only a comma.
    _, page = choose_columns(pages, excel_style(crm))
    assert "decimal commas" in page
    created = create(pages, page, name="comma", k="3", use_1="true", use_2="true", min_2="0,5", max_2="99,5")
    assert created.status_code == 303, created.text  # before: "the minimum must be a number ..., not '0,5'"
    visits = pages.get("/api/v1/segmentations/comma").json()["features"][1]
    assert (visits["min"], visits["max"]) == (0.5, 99.5)
    # In a file with decimal points a comma stays refused: "1,000" is never read as 1.0.
    _, page = choose_columns(pages, crm)
    refused = create(pages, page, name="points", k="3", use_1="true", use_2="true", max_2="1,000")
    assert refused.status_code == 422 and "the maximum must be a number" in refused.text
