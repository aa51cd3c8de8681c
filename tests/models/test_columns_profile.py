"""The column profile behind creating a segmentation: header, first rows, numbers per column, suggested features."""

import pytest

from app.core.errors import InvalidDataset
from app.models.columns_profile import profile_file, suggest_feature, suggest_features
from app.models.features import FEATURE_NAME
from app.models.segmentations.spec import RESERVED_NAMES, SegmentationSpec


@pytest.mark.parametrize(
    ("header", "name", "label", "unit"),
    [
        ("Annual Income (k$)", "annual_income", "Annual Income", "k$"),
        ("Income", "income", "Income", ""),
        ("visits_per_month", "visits", "Visits", "per month"),
        ("Visits / month", "visits", "Visits", "per month"),
        ("Spending Score (1-100)", "spending_score", "Spending Score", "1 to 100"),
        ("Weight [kg]", "weight", "Weight", "kg"),
        ("income_usd", "income", "Income", "$"),
        ("tenure_years", "tenure", "Tenure", "years"),
        ("order_count", "order", "Order", ""),
        ("num_orders", "orders", "Orders", ""),
        ("number of visits", "visits", "Visits", ""),
        ("CustomerID", "customer_id", "Customer ID", ""),
        ("AnnualIncome", "annual_income", "Annual Income", ""),
        ("2024 spend", "f_2024_spend", "2024 spend", ""),
        ("\ufeff  count ", "count", "Count", ""),
    ],
)
def test_suggest_feature_reads_names_labels_and_units(header, name, label, unit):
    assert suggest_feature(header) == {"name": name, "label": label, "unit": unit}
    assert FEATURE_NAME.match(name)


def test_suggested_names_are_valid_feature_names_for_any_header():
    for header in ["", "???", "é", "x" * 300, "1", "Spend (€) (net)"]:
        assert FEATURE_NAME.match(suggest_feature(header)["name"]), header


def test_suggested_names_are_unique_within_a_file():
    names = [item["name"] for item in suggest_features(["Income", "income", "Income ($)", "income_2", "x" * 60])]
    assert names == ["income", "income_2", "income_3", "income_2_2", "x" * 40]
    long = [item["name"] for item in suggest_features(["y" * 60, "y" * 70])]
    assert long == ["y" * 40, "y" * 38 + "_2"] and all(FEATURE_NAME.match(name) for name in long)


def test_suggested_names_are_never_a_column_every_scored_file_gets():
    names = [item["name"] for item in suggest_features(["CustomerID", "customer_id_2", "Segment ID", "Confidence"])]
    assert names == ["customer_id_2", "customer_id_2_2", "segment_id_2", "confidence_2"]
    assert not set(names) & RESERVED_NAMES
    spec = {"name": "ids", "features": [{"name": name, "column": name} for name in names]}
    assert SegmentationSpec.from_dict(spec).feature_names == names  # the API takes every one of them


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("24000\n181900\n", {"min": 0.0, "max": None}),
        ("1\n9.2\n", {"min": 0.0, "max": None}),
        ("0\n0\n", {"min": 0.0, "max": None}),
        ("-3.2\n7.9\n", {"min": None, "max": None}),
    ],
)
def test_the_suggested_range_never_refuses_values_beyond_the_files_own(values, expected):
    # The data's own range as a validation range would refuse a later customer with 9.5 visits (1 to 9.2 here).
    profile = profile_file(f"v\n{values}".encode())
    assert profile["columns"][0]["range"] == expected


MESSY = (
    "\ufeffCustomerID;Gender;Income;Visits per month;Note\r\n"
    '1;Female;"45000,5";3;"two\r\nlines"\r\n'
    "2;Male;52000;4;x\r\n"
    "3;Female;;2,5;y\r\n"
    "4;Male;61000;n/a;z\r\n"
)


def test_profile_reads_a_messy_semicolon_file():
    profile = profile_file(MESSY.encode())
    assert (profile["delimiter"], profile["decimal_comma"], profile["bom"], profile["line_end"]) == (
        ";",
        True,
        True,
        "\r\n",
    )
    assert profile["header"] == ["CustomerID", "Gender", "Income", "Visits per month", "Note"]
    # Rows as written: the decimal comma and the quoted line break stay as the file has them.
    assert profile["rows"][0] == ["1", "Female", "45000,5", "3", "two\r\nlines"]
    assert profile["rows_read"] == 4 and not profile["sampled"]
    columns = {column["column"]: column for column in profile["columns"]}
    income = columns["Income"]
    assert income["numeric"] and income["missing"] == 1
    assert (income["min"], income["max"]) == (45000.5, 61000.0)
    assert income["mean"] == pytest.approx((45000.5 + 52000 + 61000) / 3, rel=1e-5)
    assert income["range"] == {"min": 0.0, "max": None}
    visits = columns["Visits per month"]
    assert (visits["name"], visits["label"], visits["unit"]) == ("visits", "Visits", "per month")
    assert visits["numeric"] and visits["min"] == 2.5 and visits["missing"] == 1
    assert columns["CustomerID"]["id_like"] and not income["id_like"]
    assert not columns["Gender"]["numeric"] and columns["Gender"]["min"] is None
    assert not columns["Note"]["numeric"]


def test_profile_tells_ids_from_measures(tmp_path):
    rows = "".join(f"{i},{100 - i},{(i * 7) % 11},{1000 + i * 3}\n" for i in range(1, 21))
    path = tmp_path / "c.csv"
    path.write_text("row,countdown,visits,member_id\n" + rows)
    columns = {column["column"]: column for column in profile_file(path)["columns"]}
    assert columns["row"]["id_like"] and columns["countdown"]["id_like"] and columns["member_id"]["id_like"]
    assert not columns["visits"]["id_like"]


def test_profile_tells_a_transactions_files_repeated_and_gappy_ids_from_measures():
    # Invoice numbers repeat on an invoice's lines, customer ids on a customer's, and some lines have no customer.
    data = (
        b"InvoiceNo,Quantity,UnitPrice,Customer ID,Visits\n"
        b"536365,6,1.85,17850,3\n536365,8,4.09,17850,3\n536366,3,1.81,,5\n536367,2,2.55,13047,4\n"
    )
    columns = {column["column"]: column for column in profile_file(data)["columns"]}
    assert columns["InvoiceNo"]["id_like"] and columns["Customer ID"]["id_like"]
    assert not any(columns[name]["id_like"] for name in ("Quantity", "UnitPrice", "Visits"))


def test_profile_counts_a_column_with_a_few_words_as_not_numeric():
    text = "a,b\n" + "".join(f"{i},{'x' if i % 10 == 0 else i}\n" for i in range(40))
    columns = profile_file(text.encode())["columns"]
    assert columns[0]["numeric"] and not columns[1]["numeric"]
    assert columns[1]["numeric_share"] == pytest.approx(36 / 40)


def test_profile_reads_a_bounded_head_of_a_large_file(tmp_path):
    path = tmp_path / "big.csv"
    line = '{i},"a\nb",{v}\n'
    path.write_text("id,note,value\n" + "".join(line.format(i=i, v=i % 50) for i in range(200_000)))
    profile = profile_file(path, max_bytes=64 * 1024, max_preview_rows=3)
    assert profile["sampled"]
    assert 0 < profile["rows_read"] < 200_000
    assert len(profile["rows"]) == 3 and profile["rows"][0] == ["0", "a\nb", "0"]
    assert profile["columns"][2]["max"] == 49.0


def test_profile_skips_rows_with_the_wrong_number_of_fields_and_says_so():
    profile = profile_file(b'income,visits\n100,5\n200,6,999\n300,7\n"x\ny",8\n400\n500,9\n')
    assert profile["rows_read"] == 4
    assert (profile["skipped_rows"], profile["first_skipped_line"]) == ({"wrong number of fields": 2}, 3)
    assert profile["rows"] == [["100", "5"], ["300", "7"], ["x\ny", "8"], ["500", "9"]]
    income, visits = profile["columns"]
    assert (visits["min"], visits["max"]) == (5.0, 9.0) and income["numeric_share"] == 0.75


def test_profile_of_a_well_formed_file_skips_nothing():
    profile = profile_file(b"income,visits\n100,5\n")
    assert (profile["skipped_rows"], profile["first_skipped_line"]) == ({}, None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV text file"),
        (b"a,b\n", "header but no data rows"),
        (b"a,b,a\n1,2,3\n", "duplicated column names: a"),
        (b"income,visits\n100,5,999\n100,6,999\n", r"2 of the 2 rows .*line 2 has 3 fields where the header has 2"),
        (b"a,b\n1," + b"9" * 100 + b"\n", "first row is longer than 64 bytes"),
        (b"a" * 100 + b",b\n1,2\n", "first line is longer than 64 bytes"),
    ],
)
def test_profile_refuses_malformed_files(content, message):
    with pytest.raises(InvalidDataset, match=message):
        profile_file(content, max_bytes=64)


def test_profile_refuses_a_missing_file(tmp_path):
    with pytest.raises(InvalidDataset, match="not found"):
        profile_file(tmp_path / "nope.csv")
