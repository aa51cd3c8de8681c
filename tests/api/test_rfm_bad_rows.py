"""Bad transaction lines through POST /api/v1/segmentations/rfm/predict/csv: on_error says what becomes of them."""

import csv
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.models.rfm.left_out import PLAIN_AMOUNTS
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_transactions import write_transactions
from tests.semicolon_csv import excel_style

URL = "/api/v1/segmentations/rfm/predict/csv"
CSV = {"Content-Type": "text/csv"}
JSON = {**CSV, "Accept": "application/json"}
# The audit's file: B's only date cannot be read, C's only line has no amount.
BAD = b"InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10\n2,B,2025-13-45,10\n3,C,2025-01-02,\n"


def _future(days: int) -> str:
    """A date `days` after today (UTC), so the file stays in the future whenever the test runs."""
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


@pytest.fixture(scope="module")
def rfm_root(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's models folder with an `rfm` segmentation trained on generated transactions, once."""
    folder = tmp_path_factory.mktemp("rfm-bad-rows")
    root = folder / "models_artifacts"
    shutil.copytree(model_dir, root)
    catalog = SegmentationCatalog(root)
    catalog.create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    transactions, _ = write_transactions(folder / "t.csv", customers=300, seed=3)
    train_segmentation(catalog.get("rfm"), transactions, models_root=root, k=4, activate=True)
    return root


@pytest.fixture
def api(rfm_root: Path, client_for) -> TestClient:
    return client_for(model_dir=rfm_root)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_reject_is_a_422_naming_the_first_bad_line_and_why(api: TestClient) -> None:
    response = api.post(URL, params={"on_error": "reject"}, content=BAD, headers=CSV)
    assert response.status_code == 422
    assert response.json()["message"] == (
        "line 3 is not usable: InvoiceDate is not a readable date; fix it, or score with on_error=flag or on_error=skip"
    )


def test_flag_keeps_each_customer_without_a_usable_line_with_why(api: TestClient) -> None:
    body = BAD + b"4,A,2025-01-03,oops\n"  # A keeps one usable line: scored on it
    response = api.post(URL, params={"on_error": "flag"}, content=body, headers=CSV)
    assert response.status_code == 200, response.text
    rows = {row["customer_id"]: row for row in _rows(response.text)}
    assert list(rows) == ["A", "B", "C"]
    assert rows["A"]["segment_name"] and rows["A"]["error"] == "" and rows["A"]["monetary"] == "10"
    assert rows["B"]["error"] == "no usable transaction: InvoiceDate is not a readable date"
    assert rows["C"]["error"] == "no usable transaction: missing Amount"
    assert rows["B"]["segment_id"] == rows["B"]["recency_days"] == ""
    kept = api.get(f"/api/v1/runs/{response.headers['x-run-id']}/file")  # the run keeps the same rows
    assert kept.status_code == 200 and kept.text == response.text

    summary = api.post(URL, params={"on_error": "flag"}, content=body, headers=JSON).json()
    assert (summary["rows"], summary["scored"], summary["flagged"], summary["skipped"]) == (3, 1, 2, 0)
    assert summary["errors"] == {
        "no usable transaction: InvoiceDate is not a readable date": 1,
        "no usable transaction: missing Amount": 1,
    }
    read = summary["transactions"]
    assert (read["unparseable_dates"], read["rows_without_amount"], read["amounts_not_numbers"]) == (1, 1, 1)
    assert read["customers_without_usable_transactions"] == 2


def test_a_semicolon_file_comes_back_with_its_delimiter_line_ends_bom_and_decimal_commas(api: TestClient) -> None:
    body = b"InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10.5\n2,B,2025-13-45,10\n3,A,2025-01-02,2.25\n"
    comma = api.post(URL, content=body, headers=CSV)
    response = api.post(URL, content=excel_style(body), headers=CSV)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbfcustomer_id;recency_days;frequency;monetary;")
    assert b";12,75;" in response.content  # A's monetary, built from the lines' decimal commas
    assert response.content == excel_style(comma.content)  # the score columns too, each number alike
    kept = api.get(f"/api/v1/runs/{response.headers['x-run-id']}/file")  # the run keeps the style
    assert kept.status_code == 200 and kept.content == response.content


def test_skip_leaves_them_out_and_counts_them(api: TestClient) -> None:
    response = api.post(URL, params={"on_error": "skip"}, content=BAD, headers=CSV)
    assert response.status_code == 200
    assert [row["customer_id"] for row in _rows(response.text)] == ["A"]
    assert "error" not in _rows(response.text)[0]
    summary = api.post(URL, params={"on_error": "skip"}, content=BAD, headers=JSON).json()
    assert (summary["rows"], summary["scored"], summary["flagged"], summary["skipped"]) == (3, 1, 0, 2)
    assert summary["transactions"]["customers_without_usable_transactions"] == 2


def test_a_future_date_is_a_bad_line_not_the_reference_date(api: TestClient) -> None:
    body = f"InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10\n2,B,2025-06-01,10\n3,A,{_future(1800)},10\n"
    summary = api.post(URL, content=body.encode(), headers=JSON).json()
    read = summary["transactions"]
    assert (read["reference_date"], read["future_dates"], summary["flagged"]) == ("2025-06-02", 1, 0)
    rows = {row["customer_id"]: row for row in _rows(api.post(URL, content=body.encode(), headers=CSV).text)}
    assert (rows["A"]["recency_days"], rows["B"]["recency_days"]) == ("152", "1")
    refused = api.post(URL, params={"on_error": "reject"}, content=body.encode(), headers=CSV)
    assert refused.status_code == 422
    assert refused.json()["message"].startswith("line 4 is not usable: InvoiceDate is after tomorrow;")


def test_a_date_readable_only_the_other_way_round_is_a_bad_line(api: TestClient) -> None:
    # Read day first (13/04 says so); 04/13 could only be month first: an unreadable date, never read beside them.
    body = b"InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,04/13/2025,10\n2,B,03/04/2025,10\n3,C,13/04/2025,10\n"
    summary = api.post(URL, params={"on_error": "skip"}, content=body, headers=JSON).json()
    assert (summary["transactions"]["unparseable_dates"], summary["transactions"]["date_formats"]) == (1, ["%d/%m/%Y"])
    refused = api.post(URL, params={"on_error": "reject"}, content=body, headers=CSV)
    assert refused.status_code == 422 and refused.json()["message"].startswith("line 2 is not usable")


def test_a_header_naming_a_column_twice_is_a_422(api: TestClient) -> None:
    body = b"InvoiceNo,CustomerID,CustomerID,InvoiceDate,Amount\n1,A,Z,2025-01-01,10\n"
    response = api.post(URL, content=body, headers=CSV)
    assert response.status_code == 422
    assert "duplicated column name(s): 'CustomerID'" in response.json()["message"]


def test_a_row_with_the_wrong_number_of_fields_is_a_bad_line_never_echoed(api: TestClient) -> None:
    body = b"InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10\n2,B,2025-01-01,10,extra\n3,C,2025-01-02,4\n"
    refused = api.post(URL, params={"on_error": "reject"}, content=body, headers=CSV)
    assert refused.status_code == 422
    message = refused.json()["message"]
    assert message.startswith("line 3 is not usable: wrong number of fields;") and "extra" not in message
    summary = api.post(URL, params={"on_error": "flag"}, content=body, headers=JSON).json()
    assert summary["scored"] == 2 and summary["transactions"]["malformed_rows"] == 1


def test_amounts_that_are_not_finite_numbers_never_reach_monetary(api: TestClient) -> None:
    body = b"InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10\n2,A,2025-01-02,inf\n3,B,2025-01-02,abc\n"
    response = api.post(URL, content=body, headers=CSV)
    assert response.status_code == 200, response.text
    rows = {row["customer_id"]: row for row in _rows(response.text)}
    assert (
        rows["A"]["monetary"] == "10"
        and rows["B"]["error"] == f"no usable transaction: Amount is not a number ({PLAIN_AMOUNTS})"
    )
    summary = api.post(URL, content=body, headers=JSON).json()
    assert summary["transactions"]["amounts_not_numbers"] == 2
