"""Loading and cleaning: both headers accepted, every bad row counted by reason, unusable files refused."""

import errno
from pathlib import Path

import pandas as pd
import pytest

from app.core.errors import InvalidDataset
from app.models.dataset import clean_customers, load_customers, write_processed

FEATURES = ["annual_income", "spending_score"]
ARGS = {"features": FEATURES, "min_rows": 1}
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
    frame = load_customers(_csv(tmp_path, header + _good_rows(3))).frame
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


def test_too_few_rows_with_none_dropped_says_only_the_count(tmp_path):
    # "(dropped: none dropped)" read oddly: with nothing dropped there is nothing to say about it.
    path = _csv(tmp_path, PUBLIC + _good_rows(3))
    with pytest.raises(InvalidDataset) as refused:
        clean_customers(load_customers(path), features=FEATURES, min_rows=6)
    assert refused.value.message == "only 3 usable row(s) of 3, at least 6 are needed"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file"),
        (b"\xff\xfe\xfa" * 50, "not UTF-8"),
        (b'a,b\n1,"x\n2,3\n', "line 2: a quote in column 'b' opens a value that runs over 2 lines without closing"),
        (b'a,b\n1,2\n"x,3\n4,5\n', "line 3: a quote opens a value that runs over 2 lines without closing"),
        (b'a,b\n1,2\n3,4\n"x,5\n', "line 4: a quote opens a value that runs over 1 line without closing"),
    ],
)
def test_load_refuses_unusable_files(tmp_path, content, message):
    with pytest.raises(InvalidDataset, match=message):
        load_customers(_csv(tmp_path, content))


def test_clean_drops_rows_with_the_wrong_number_of_fields_and_shifts_no_column(tmp_path):
    bad = "11,Male,30,50,50,extra\n12,Male,30\n"
    cleaned = clean_customers(load_customers(_csv(tmp_path, PUBLIC + _good_rows(5) + bad + _good_rows(5, 13))), **ARGS)
    assert cleaned.dropped == {"wrong number of fields": 2}
    assert cleaned.n_input_rows == 12 and cleaned.n_dropped == 2
    assert cleaned.frame["customer_id"].tolist() == ["1", "2", "3", "4", "5", *map(str, range(13, 18))]
    assert cleaned.frame["annual_income"].tolist() == [21.0, 22.0, 23.0, 24.0, 25.0, 33.0, 34.0, 35.0, 36.0, 37.0]


def test_clean_refuses_a_file_whose_rows_have_a_value_more_than_its_header(tmp_path):
    # pandas would read the first value as a row index and move every other one a column left.
    rows = "".join(f"{20 + i},{i % 90 + 5},{i}\n" for i in range(30))
    path = _csv(tmp_path, "annual_income,spending_score\n" + rows)
    with pytest.raises(InvalidDataset, match=r"30 of the 30 rows.*line 2 has 3 fields where the header has 2"):
        clean_customers(load_customers(path), **ARGS)


def test_clean_refuses_a_file_most_of_whose_rows_have_the_wrong_number_of_fields(tmp_path):
    # Enough well-formed rows to train on, but they are the few: the header does not describe this file.
    path = _csv(tmp_path, SNAKE + _good_rows(4) + "".join(f"{i},Male,30,50\n" for i in range(5, 10)))
    with pytest.raises(InvalidDataset, match=r"5 of the 9 rows.*line 6 has 4 fields where the header has 5"):
        clean_customers(load_customers(path), **ARGS)


def test_the_line_of_a_malformed_row_counts_the_line_breaks_in_quoted_values(tmp_path):
    quoted = '1,"Fe\nmale",30,20,50\n2,"Ma\r\nle",30,21,50\n'
    path = _csv(tmp_path, SNAKE + quoted + "".join(f"{i},Male,30\n" for i in range(3, 9)))
    # Lines 2-3 and 4-5 hold the two quoted rows, so the first short row starts on line 6.
    with pytest.raises(InvalidDataset, match=r"6 of the 8 rows.*line 6 has 3 fields"):
        clean_customers(load_customers(path), **ARGS)


def test_load_refuses_a_missing_file(tmp_path):
    with pytest.raises(InvalidDataset, match="not found"):
        load_customers(tmp_path / "nope.csv")


def test_clean_names_missing_columns(tmp_path):
    frame = load_customers(_csv(tmp_path, '{"customers": [1, 2, 3]}\n'))
    with pytest.raises(InvalidDataset, match=r"missing required column\(s\): 'Annual Income \(k\$\)'"):
        clean_customers(frame, features=FEATURES, min_rows=1)


@pytest.mark.parametrize("header", [PUBLIC, PUBLIC.rstrip("\n")])
def test_clean_refuses_header_only(tmp_path, header):
    with pytest.raises(InvalidDataset, match="no data rows"):
        clean_customers(load_customers(_csv(tmp_path, header)), features=FEATURES, min_rows=1)


def test_write_processed_uses_snake_case(tmp_path):
    cleaned = clean_customers(load_customers(_csv(tmp_path, PUBLIC + _good_rows(4))), features=FEATURES, min_rows=1)
    out = write_processed(cleaned.frame, tmp_path / "processed" / "out.csv")
    written = pd.read_csv(out)
    assert list(written.columns) == ["customer_id", "gender", "age", "annual_income", "spending_score"]
    assert len(written) == 4
    assert not list((tmp_path / "processed").glob(".*.tmp"))


def test_write_processed_that_fails_half_way_leaves_nothing_behind(tmp_path, monkeypatch):
    cleaned = clean_customers(load_customers(_csv(tmp_path, PUBLIC + _good_rows(40))), features=FEATURES, min_rows=1)
    out = tmp_path / "processed" / "out.csv"
    original = pd.DataFrame.to_csv

    def disk_fills(frame, sink, **kwargs):
        original(frame.head(5), sink, **kwargs)  # some rows reach the disk before it is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_fills)
    with pytest.raises(OSError, match="No space left"):
        write_processed(cleaned.frame, out)

    assert list((tmp_path / "processed").iterdir()) == []
