"""/score for an `rfm` segmentation: it asks for transactions, says how they were read, and explains a bad file."""

import re
from types import SimpleNamespace

import pytest

from app.web.pages.score import readable_date_format, transactions_file
from tests.semicolon_csv import excel_style

HTML = {"accept": "text/html"}
FORM_TOKEN = re.compile(r'<input type="hidden" name="form_token" value="([A-Za-z0-9_-]+)">')
DOWNLOAD = re.compile(r'id="score-download" class="button" href="(/score/download/[0-9a-f]{32})"')
HELP = re.compile(r'<p id="score-file-help"[^>]*>(.*?)</p>', re.S)


def _score(client, data: bytes, name: str = "online_retail.csv"):
    form = client.get("/score?segmentation=rfm", headers=HTML)
    assert form.status_code == 200
    token = FORM_TOKEN.search(form.text).group(1)
    return client.post(
        "/score?segmentation=rfm", files={"file": (name, data, "text/csv")}, data={"form_token": token}, headers=HTML
    )


def test_the_form_asks_for_a_transactions_file(segmented):
    response = segmented.get("/score?segmentation=rfm", headers=HTML)
    assert response.status_code == 200
    text = HELP.search(response.text).group(1)
    assert "Upload your transactions export" in response.text
    # The heading and the title say so too, not "Score a customer file" over a request for transactions.
    assert "<h1>Score a transactions file</h1>" in response.text
    assert "<title>Score a transactions file" in response.text
    assert "transactions" in text and "<code>CustomerID</code>" in text and "<code>InvoiceDate</code>" in text
    assert "quantity and a unit price" in text and "order id" in text
    assert "recency_days" not in text and "Columns of segmentation" not in text
    assert 'name="id_column"' not in response.text  # the customer id is one of the transactions' columns


def test_the_columns_and_date_format_a_segmentation_names_are_said():
    model = SimpleNamespace(
        info={"kind": "rfm", "rfm_options": {"columns": {"customer_id": "Client"}, "date_format": "%d/%m/%Y"}}
    )
    assert transactions_file(model) == {
        "named": [{"role": "customer id", "column": "Client"}],
        "date_format": "DD/MM/YYYY",
        "average": False,
    }
    assert transactions_file(SimpleNamespace(info={"kind": "columns"})) is None


@pytest.mark.parametrize(
    ("code", "readable"),
    [
        ("%d/%m/%Y %H:%M", "DD/MM/YYYY hh:mm"),
        ("%Y-%m-%dT%H:%M:%S", "YYYY-MM-DDThh:mm:ss"),
        ("%m/%d/%y %I:%M %p", "MM/DD/YY hh:mm AM/PM"),
        ("%d %b %Y", "DD Mon YYYY"),
        ("100%% %Q", "100% %Q"),
    ],
)
def test_a_date_format_is_shown_as_people_write_it(code, readable):
    assert readable_date_format(code) == readable


def test_a_scored_transactions_file_says_how_its_lines_were_read(segmented, segmentations_template):
    data = segmentations_template[2].read_bytes()
    read = segmented.post(
        "/api/v1/segmentations/rfm/predict/csv",
        files={"file": ("online_retail.csv", data, "text/csv")},
        headers={"Accept": "application/json"},
    ).json()["transactions"]
    assert read["rows_without_customer_id"] and read["cancellation_rows"]  # the file has both to show

    response = _score(segmented, data)
    assert response.status_code == 200, response.text
    said = re.search(r'<p id="score-transactions"><strong>Transactions:</strong> (.*?)\.</p>', response.text)
    assert said is not None
    sentence = said.group(1)
    assert sentence.startswith(f"{read['rows_read']:,} transaction lines read, ")
    assert f"{read['rows_without_customer_id']:,} without a customer id" in sentence
    assert f"{read['cancellation_rows']:,} cancellations" in sentence
    assert f"dates read as {' or '.join(map(readable_date_format, read['date_formats']))}" in sentence
    assert "%" not in sentence
    assert f"recency counted to {read['reference_date']}" in sentence and f"{read['customers']:,} customers" in sentence
    # The summary's rows are the customers built from the lines.
    assert f'<dt>Customers</dt><dd data-fact="rows">{read["customers"]:,}</dd>' in response.text
    # So are the kept run's: "Rows read 61" for a file of 606 lines read as if the file had 61 rows.
    run_id = re.search(r'href="/runs/([0-9a-f]{32})"', response.text).group(1)
    run_page = segmented.get(f"/runs/{run_id}", headers=HTML).text
    facts = re.search(r'<dt>Customers</dt><dd data-fact="rows">(.*?)</dd>', run_page, re.S).group(1)
    assert facts.startswith(f"{read['customers']:,} ") and f"(from {read['rows_read']:,} transaction lines)" in facts


@pytest.mark.parametrize(
    ("text", "said", "not_said"),
    [
        (
            "InvoiceNo,Quantity,UnitPrice,CustomerID\n1,2,3.5,17\n",
            "has no date column (one named like InvoiceDate, Date or OrderDate); its header:",
            None,
        ),
        (
            "InvoiceNo,InvoiceDate,Quantity,UnitPrice,CustomerID\n1,someday,2,3.5,17\n2,later,1,1,18\n",
            "write the dates in one format, such as 2011-12-09 14:05",
            "give its format as date_format",
        ),
        ("InvoiceNo,InvoiceDate,Amount\n1,2011-01-02 10:00,4\n", "has no customer id column (one named like", None),
    ],
)
def test_a_bad_transactions_file_is_said_on_the_form(segmented, text, said, not_said):
    response = _score(segmented, text.encode())
    assert response.status_code == 422
    assert 'id="score-error"' in response.text and 'id="score-form"' in response.text
    assert "The file could not be scored." in response.text
    assert said in response.text
    assert not_said is None or not_said not in response.text


BAD_LINES = (
    b"InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10\n2,B,2025-13-45,10\n3,C,2025-01-02,\n"
    b"4,A,2025-01-03,inf\n5,D,2025-01-02,10,extra\n"
)


def test_customers_without_a_usable_line_are_kept_with_the_reason_and_the_lines_counted(segmented):
    response = _score(segmented, BAD_LINES)
    assert response.status_code == 200, response.text
    sentence = re.search(r'<p id="score-transactions"><strong>Transactions:</strong> (.*?)\.</p>', response.text)
    assert sentence is not None
    for said in (
        "5 transaction lines read",
        "1 with a date that could not be read",
        "1 without an amount",
        "1 with an amount that is not a number",
        "1 with the wrong number of fields",
        "1 customer (2 more without a usable transaction)",
    ):
        assert said in sentence.group(1)
    assert '<dd data-fact="bad_rows">2 (2 kept with the reason)</dd>' in response.text


def test_a_semicolon_transactions_file_downloads_as_it_was_written(segmented):
    api = segmented.post(
        "/api/v1/segmentations/rfm/predict/csv", content=BAD_LINES, headers={"content-type": "text/csv"}
    )
    page = _score(segmented, excel_style(BAD_LINES))
    assert page.status_code == 200, page.text
    download = segmented.get(DOWNLOAD.search(page.text).group(1))
    assert download.status_code == 200
    assert download.content.startswith(b"\xef\xbb\xbfcustomer_id;recency_days;") and b"\r\n" in download.content
    assert download.content == excel_style(api.content)


def test_reject_names_the_line_on_the_form(segmented):
    form = segmented.get("/score?segmentation=rfm", headers=HTML)
    token = FORM_TOKEN.search(form.text).group(1)
    response = segmented.post(
        "/score?segmentation=rfm",
        files={"file": ("t.csv", BAD_LINES, "text/csv")},
        data={"form_token": token, "on_error": "reject"},
        headers=HTML,
    )
    assert response.status_code == 422
    assert "Line 3 is not usable: InvoiceDate is not a readable date; fix it, or under Options choose" in response.text


def test_an_rfm_versions_report_counts_customers_from_their_transaction_lines(segmented):
    # "Rows in the training file 61" for a file of 606 lines: an RFM version's rows are customers built from them.
    report = segmented.get("/api/v1/segmentations/rfm/models/active/report?format=html")
    assert report.status_code == 200, report.text
    text = " ".join(re.sub(r"<[^>]+>", " ", report.text).split())
    info = segmented.app.state.segmentations.registry("rfm").get().info
    # Said with the customers, as a run's report and page say them, not as a count of their own.
    said = f"Customers {info['n_samples']:,} (from {info['rfm_summary']['rows_read']:,} transaction lines)"
    assert said in text
    assert "transaction lines in the training file" not in text.lower()
    assert "rows in the training file" not in text.lower()


def test_an_rfm_segmentations_train_form_asks_for_transactions(segmentations_template, client_for, tmp_path):
    import shutil

    root = tmp_path / "models_artifacts"
    shutil.copytree(segmentations_template[0], root)
    client = client_for(model_dir=root, jobs_dir=tmp_path / "jobs", admin_api_keys=["rfm-train-form-key-0123"])
    form = re.compile(r'<section class="card" aria-labelledby="train-title">(.*?)</section>', re.S)
    rfm = form.search(client.get("/models?segmentation=rfm", headers=HTML).text).group(1)
    # Before, "Upload a customer CSV with this segmentation's columns": a customer file is refused at once.
    assert "Upload a transactions export (a customer id, a date and an amount on each line)" in rfm
    assert "<label>Transactions CSV <input" in rfm and "Customer CSV" not in rfm
    crm = form.search(client.get("/models?segmentation=crm", headers=HTML).text).group(1)
    assert "Upload a customer CSV with this segmentation's columns." in crm and "<label>Customer CSV <input" in crm
