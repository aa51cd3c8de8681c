"""Header names as customer files and transactions files read them: one list of customer id headers for both."""

from pathlib import Path

import pytest

from app.models.dataset import clean_customers, load_customers
from app.models.features import (
    CUSTOMER_ID_HEADERS,
    NAME_LIKE_HEADERS,
    Feature,
    columns_read_alike,
    customer_id_header,
    normalise_columns,
)
from app.models.rfm.columns import detect_columns

# How CRM exports and spreadsheets spell the id header.
ID_HEADERS = ["Customer ID", "Customer Id", "customer id", "Client ID", "CustomerID", "customer_id", "\ufeffUser-Id"]


@pytest.mark.parametrize("header", ID_HEADERS)
def test_a_customer_file_and_a_transactions_file_find_the_same_id_header(header: str, tmp_path: Path):
    path = tmp_path / "customers.csv"
    path.write_text(f"{header},Annual Income (k$),Spending Score (1-100)\nC-7,15,39\n", encoding="utf-8")
    frame = load_customers(path).frame
    assert list(frame.columns) == ["customer_id", "annual_income", "spending_score"]
    assert frame["customer_id"].tolist() == ["C-7"]
    assert detect_columns([header, "Date", "Amount"]).customer_id == header


def test_every_known_id_header_is_read_as_the_customer_id():
    ids = [known for known in CUSTOMER_ID_HEADERS if known not in NAME_LIKE_HEADERS]
    assert [customer_id_header(["Age", known.upper()]) for known in ids] == [known.upper() for known in ids]


@pytest.mark.parametrize("header", ["Customer", "client", "CLIENT"])
def test_a_bare_customer_or_client_column_is_an_id_in_a_transactions_file_only(header: str, tmp_path: Path):
    # In a CRM export it often holds the person's name; read as the id, training would drop every repeated name.
    path = tmp_path / "customers.csv"
    path.write_text(f"{header},Annual Income (k$),Spending Score (1-100)\nAda,15,39\nAda,16,40\n", encoding="utf-8")
    frame = load_customers(path).frame
    assert "customer_id" not in frame.columns and len(frame) == 2
    assert detect_columns([header, "Date", "Amount"]).customer_id == header


def test_one_header_is_the_customer_id_the_most_telling_one():
    # "Customer" holding a name and "Customer ID" holding the id: the id is picked, as RFM picks it.
    assert normalise_columns(["Customer", "Customer ID", "Age"]) == ["customer", "customer_id", "age"]
    assert detect_columns(["Customer", "Customer ID", "Date", "Amount"]).customer_id == "Customer ID"


@pytest.mark.parametrize("header", ["id", "ID", "Id", "Customer Name", "Account"])
def test_a_header_that_names_no_customer_id_is_left_as_it_is(header: str):
    assert customer_id_header([header, "Age"]) is None
    assert normalise_columns([header, "Age"]) == [header.lower(), "age"]


# How CRMs and spreadsheets in other languages head the customer's number.
LOCALISED_ID_HEADERS = [
    "Kunden-Nr", "Kundennummer", "Kunden-ID", "Kundennr.", "KdNr",
    "N° client", "Nº client", "Numéro client", "Numéro de client", "ID client", "Code client",
    "ID cliente", "Número de cliente", "Nº de cliente",
    "Klantnummer", "Klant-ID", "Klantnr.",
    "Codice cliente", "Numero cliente",
    "Código do cliente", "Código cliente", "ID do cliente",
]  # fmt: skip


@pytest.mark.parametrize("header", LOCALISED_ID_HEADERS)
def test_a_localised_id_header_is_the_customer_id_of_both_files(header: str):
    assert customer_id_header(["Name", header, "Age"]) == header
    assert normalise_columns(["Name", header, "Age"]) == ["name", "customer_id", "age"]
    assert detect_columns([header, "Date", "Amount"]).customer_id == header


def test_a_german_semicolon_export_with_decimal_commas_trains_on_its_kunden_nr(tmp_path: Path):
    path = tmp_path / "kunden.csv"
    rows = "Kunden-Nr;Name;Annual Income (k$);Spending Score (1-100)\r\nK-1;Anna;15,5;39\r\nK-2;Ben;120,25;90\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + rows.encode())
    frame = load_customers(path).frame
    assert list(frame.columns) == ["customer_id", "name", "annual_income", "spending_score"]
    cleaned = clean_customers(load_customers(path), features=["annual_income", "spending_score"], min_rows=1)
    assert cleaned.frame["customer_id"].tolist() == ["K-1", "K-2"]
    assert cleaned.frame["annual_income"].tolist() == [15.5, 120.25]


def test_columns_read_alike_names_every_header_of_one_name_and_what_to_do():
    assert columns_read_alike(["Age", "age", "AGE", "Income"]) == (
        "the columns 'Age', 'age' and 'AGE' are all read as age: keep the one that holds age, and remove or rename "
        "the others (such as 'AGE' to 'AGE 2')"
    )
    assert columns_read_alike(["a", "b", "a"]) == "the column 'a' appears 2 times: remove or rename the copies"
    # Only the names asked about: scoring leaves two columns it never reads alone.
    assert columns_read_alike(["Notes", "notes", "Customer ID"], read={"customer_id", "age"}) is None
    assert columns_read_alike(["Customer ID", "Client ID", "Age"]) is None  # one id, the other an ordinary column


@pytest.mark.parametrize(
    ("unit", "after"), [("1 to 100", ""), ("0-10", ""), ("1,5 – 9,5", ""), ("$", "$"), ("visits", "visits")]
)
def test_a_unit_that_is_a_scales_range_is_not_written_after_each_value(unit: str, after: str):
    # Sentences write `short_unit` after each number: "Loyalty 51 is within ..." rather than "51 1 to 100".
    feature = Feature.from_dict({"name": "loyalty", "column": "Loyalty", "unit": unit})
    assert (feature.unit, feature.short_unit) == (unit, after)  # the unit itself is kept, for the feature's name
