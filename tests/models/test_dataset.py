"""Loading and cleaning: both headers accepted, every bad row counted by reason, unusable files refused."""

from pathlib import Path

import pandas as pd
import pytest

from app.core.errors import InvalidDataset
from app.models.dataset import clean_customers, load_customers, write_processed

FEATURES = ["annual_income", "spending_score"]
PUBLIC = "CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n"
SNAKE = "customer_id,gender,age,annual_income,spending_score\n"


def _csv(tmp_path: Path, text: str | bytes, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _good_rows(n: int, start: int = 1) -> str:
    return "".join(f"{i},Female,30,{20 + i},{(i % 90) + 5}\n" for i in range(start, start + n))


@pytest.mark.parametrize("header", [PUBLIC, SNAKE, "\ufeff" + PUBLIC])
def test_load_accepts_public_and_snake_case_headers(tmp_path, header):
    frame = load_customers(_csv(tmp_path, header + _good_rows(3)))
    assert list(frame.columns) == ["customer_id", "gender", "age", "annual_income", "spending_score"]
    cleaned = clean_customers(frame, features=FEATURES, min_rows=3)
    assert cleaned.frame["annual_income"].tolist() == [21.0, 22.0, 23.0]
    assert cleaned.dropped == {}


def test_clean_drops_each_bad_kind_with_its_reason(tmp_path):
    bad = (
        "100,Male,30,,50\n"  # missing income
        "101,Male,30,abc,50\n"  # non-numeric income
        "102,Male,30,NaN,50\n"  # NaN income
        "103,Male,30,inf,50\n"  # infinite income
        "104,Male,30,-5,50\n"  # negative income
        "105,Male,30,50,0\n"  # score below 1
        "106,Male,30,50,101\n"  # score above 100
        "1,Male,30,50,50\n"  # duplicate id
    )
    path = _csv(tmp_path, PUBLIC + _good_rows(10) + bad)
    cleaned = clean_customers(load_customers(path), features=FEATURES, min_rows=5)
    assert len(cleaned.frame) == 10
    assert cleaned.n_input_rows == 18
    assert cleaned.dropped == {
        "missing annual_income": 1,
        "non-numeric annual_income": 1,
        "NaN or infinite annual_income": 2,
        "annual_income out of range (between 0 and 10,000)": 1,
        "spending_score out of range (between 1 and 100)": 2,
        "duplicate customer_id": 1,
    }
    assert cleaned.n_dropped == 8
    assert cleaned.frame["customer_id"].is_unique


def test_clean_keeps_the_good_row_when_an_earlier_duplicate_id_is_bad(tmp_path):
    path = _csv(tmp_path, SNAKE + "7,Male,30,x,50\n7,Male,30,60,50\n" + _good_rows(3))
    cleaned = clean_customers(load_customers(path), features=FEATURES, min_rows=3)
    assert "7" in cleaned.frame["customer_id"].tolist()
    assert cleaned.dropped == {"non-numeric annual_income": 1}


def test_clean_stops_when_too_few_rows_remain(tmp_path):
    path = _csv(tmp_path, PUBLIC + _good_rows(3) + "50,Male,30,abc,50\n")
    with pytest.raises(InvalidDataset, match=r"only 3 usable row\(s\) of 4, at least 6 are needed.*1 non-numeric"):
        clean_customers(load_customers(path), features=FEATURES, min_rows=6)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file"),
        (b"\xff\xfe\xfa" * 50, "not UTF-8"),
        (b'a,b\n1,2\n"unterminated,3\n', "not a valid CSV"),
    ],
)
def test_load_refuses_unusable_files(tmp_path, content, message):
    with pytest.raises(InvalidDataset, match=message):
        load_customers(_csv(tmp_path, content))


def test_load_refuses_a_missing_file(tmp_path):
    with pytest.raises(InvalidDataset, match="not found"):
        load_customers(tmp_path / "nope.csv")


def test_clean_names_missing_columns(tmp_path):
    frame = load_customers(_csv(tmp_path, '{"customers": [1, 2, 3]}\n'))
    with pytest.raises(InvalidDataset, match=r"missing required column\(s\): 'Annual Income \(k\$\)'"):
        clean_customers(frame, features=FEATURES, min_rows=1)


def test_clean_refuses_header_only(tmp_path):
    with pytest.raises(InvalidDataset, match="no data rows"):
        clean_customers(load_customers(_csv(tmp_path, PUBLIC)), features=FEATURES, min_rows=1)


def test_write_processed_uses_snake_case(tmp_path):
    cleaned = clean_customers(load_customers(_csv(tmp_path, PUBLIC + _good_rows(4))), features=FEATURES, min_rows=1)
    out = write_processed(cleaned.frame, tmp_path / "processed" / "out.csv")
    written = pd.read_csv(out)
    assert list(written.columns) == ["customer_id", "gender", "age", "annual_income", "spending_score"]
    assert len(written) == 4
    assert not list((tmp_path / "processed").glob(".*.tmp"))
