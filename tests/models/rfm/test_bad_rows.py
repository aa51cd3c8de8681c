"""Bad transaction lines: counted per reason, refused with their line number, and the customers left without any
usable line listed with why."""

from datetime import UTC, datetime, timedelta

import pytest

from app.core.errors import InvalidDataset
from app.models.rfm.build import build_rfm
from app.models.rfm.left_out import PLAIN_AMOUNTS

HEADER = "InvoiceNo,CustomerID,InvoiceDate,Amount"


def _days_ahead(days: int) -> str:
    """A date `days` after today (UTC): relative to the real clock, so the test stays true whenever it runs."""
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def _ids(result) -> list[str]:
    return [row["customer_id"] for row in result.table.to_pylist()]


def test_a_future_date_is_counted_and_never_moves_the_reference_date(write_csv):
    path = write_csv([HEADER, "1,A,2025-01-01,10", "2,B,2025-06-01,10", f"3,A,{_days_ahead(5 * 365)},10"])
    result = build_rfm(path)
    assert result.summary["future_dates"] == 1
    assert result.summary["reference_date"] == "2025-06-02"
    recency = {row["customer_id"]: row["recency_days"] for row in result.table.to_pylist()}
    assert recency == {"A": 152, "B": 1}


def test_dates_up_to_tomorrow_are_kept(write_csv):
    path = write_csv([HEADER, f"1,A,{_days_ahead(0)},10", f"2,B,{_days_ahead(1)} 00:00:00,10"])
    result = build_rfm(path)
    assert result.summary["future_dates"] == 0 and _ids(result) == ["A", "B"]


def test_non_finite_and_non_numeric_amounts_are_bad_rows_never_numbers(write_csv):
    lines = [HEADER, "1,A,2025-01-01,10", "2,A,2025-01-02,inf", "3,B,2025-01-02,-inf", "4,C,2025-01-02,abc"]
    lines += ["5,D,2025-01-02,NaN", "6,E,2025-01-02, 7.5 "]
    result = build_rfm(write_csv(lines))
    assert result.summary["amounts_not_numbers"] == 3
    assert result.summary["rows_without_amount"] == 1  # NaN marks a missing value, as NA and NULL do
    monetary = {row["customer_id"]: row["monetary"] for row in result.table.to_pylist()}
    assert monetary == {"A": 10.0, "E": 7.5}


def test_a_non_numeric_quantity_or_price_is_a_bad_row(write_csv):
    lines = ["CustomerID,Date,Quantity,UnitPrice", "1,2025-01-01,2,5", "1,2025-01-02,two,5", "2,2025-01-02,1,"]
    path = write_csv(lines)
    result = build_rfm(path)
    assert (result.summary["amounts_not_numbers"], result.summary["rows_without_amount"]) == (1, 1)
    assert _ids(result) == ["1"] and result.table.to_pylist()[0]["monetary"] == 10.0


def test_an_amount_beyond_the_bound_is_a_bad_line_and_never_a_monetary(write_csv):
    lines = ["CustomerID,Date,Quantity,UnitPrice", "1,2025-01-01,2,5", "1,2025-01-02,6,1e308", "1,2025-01-03,1,1e308"]
    lines += ["2,2025-01-02,1,1e300", "3,2025-01-02,-1,1e16", "4,2025-01-02,1,1e15"]
    result = build_rfm(write_csv(lines))
    assert result.summary["amounts_too_large"] == 4 and result.summary["amounts_not_numbers"] == 0
    monetary = {row["customer_id"]: row["monetary"] for row in result.table.to_pylist()}
    assert monetary == {"1": 10.0, "4": 1e15}  # customer 1 keeps its real purchase
    assert result.unusable.to_pylist() == [
        {"customer_id": "2", "reason": "no usable transaction: Quantity x UnitPrice is beyond ±1e15"},
        {"customer_id": "3", "reason": "no usable transaction: Quantity x UnitPrice is beyond ±1e15"},
    ]


def test_a_day_the_month_does_not_have_is_an_unreadable_date_not_another_day(write_csv):
    lines = [HEADER, "1,A,2026-02-31,10", "2,A,2026-02-10,5", "3,B,2025-02-29,7", "4,C,2024-02-29,3"]
    result = build_rfm(write_csv(lines))
    assert result.summary["unparseable_dates"] == 2
    rows = {row["customer_id"]: row for row in result.table.to_pylist()}
    assert str(rows["A"]["first_purchase"]) == str(rows["A"]["last_purchase"]) == "2026-02-10 00:00:00"
    assert rows["A"]["monetary"] == 5.0 and str(rows["C"]["last_purchase"]) == "2024-02-29 00:00:00"
    assert result.unusable.to_pylist() == [
        {"customer_id": "B", "reason": "no usable transaction: InvoiceDate is not a readable date"}
    ]


def test_rows_with_the_wrong_number_of_fields_are_counted_not_fatal(write_csv):
    path = write_csv([HEADER, "1,A,2025-01-01,10", "2,B,2025-01-01,10,extra", "3,C,2025-01-02", "4,D,2025-01-03,5"])
    result = build_rfm(path)
    assert result.summary["malformed_rows"] == 2 and result.summary["rows_read"] == 4  # every line under the header
    assert _ids(result) == ["A", "D"]


def test_customers_without_a_usable_line_are_listed_with_why(write_csv):
    lines = [HEADER, "1,A,2025-01-01,10", "2,B,2025-13-45,10", "3,C,2025-01-02,", "4,D,2025-01-02,5"]
    lines += ["5,D,2025-01-03,oops", "6,E,2025-99-01,", "7,E,2025-01-03,abc", f"8,F,{_days_ahead(30)},5"]
    result = build_rfm(write_csv(lines))
    assert _ids(result) == ["A", "D"]  # D is built from its one usable line
    assert result.table.to_pylist()[1]["monetary"] == 5.0
    assert result.unusable.to_pylist() == [
        {"customer_id": "B", "reason": "no usable transaction: InvoiceDate is not a readable date"},
        {"customer_id": "C", "reason": "no usable transaction: missing Amount"},
        {"customer_id": "E", "reason": "no usable transaction: InvoiceDate is not a readable date, Amount is not a "
         f"number ({PLAIN_AMOUNTS})"},
        {"customer_id": "F", "reason": "no usable transaction: InvoiceDate is after tomorrow"},
    ]  # fmt: skip
    assert result.summary["customers_without_usable_transactions"] == 4


def test_the_same_customers_are_listed_however_the_file_is_cut(write_csv, monkeypatch):
    lines = [HEADER]
    lines += [f"{i},{i % 7},2025-01-0{1 + i % 9},{'x' if i % 5 == 0 else i}" for i in range(200)]
    lines += [f"9{i},U{i % 3},2025-01-01,bad" for i in range(20)]
    path = write_csv(lines)
    whole = build_rfm(path)
    monkeypatch.setattr("app.models.rfm.aggregate.COMPACT_ROWS", 1)  # merge partials after every block too
    tiny = build_rfm(path, chunk_bytes=128, workers=3)
    assert tiny.table.equals(whole.table) and tiny.unusable.equals(whole.unusable)
    assert tiny.summary == whole.summary
    assert whole.unusable.column("customer_id").to_pylist() == ["U0", "U1", "U2"]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("2,B,2025-13-45,10", "InvoiceDate is not a readable date"),
        ("2,B,2025-02-29,10", "InvoiceDate is not a readable date"),
        ("2,B,2025-01-02,", "missing Amount"),
        ("2,B,2025-01-02,inf", f"Amount is not a number ({PLAIN_AMOUNTS})"),
        ("2,B,2025-01-02,abc", f"Amount is not a number ({PLAIN_AMOUNTS})"),
        # Money as an accounting export writes it: the reason says what is not read.
        ('2,B,2025-01-02,"€283,16"', f"Amount is not a number ({PLAIN_AMOUNTS})"),
        ('2,B,2025-01-02,"$1,234.50"', f"Amount is not a number ({PLAIN_AMOUNTS})"),
        ("2,B,2025-01-02,283.16 EUR", f"Amount is not a number ({PLAIN_AMOUNTS})"),
        ("2,B,2025-01-02,-2e15", "Amount is beyond ±1e15"),
        (f"2,B,{_days_ahead(400)},10", "InvoiceDate is after tomorrow"),
        ("2,B,2025-01-02,10,extra", "wrong number of fields"),
    ],
)
def test_reject_names_the_first_bad_line_and_why(write_csv, bad, reason):
    path = write_csv([HEADER, "1,A,2025-01-01,10", "9,,2025-01-01,", bad, "3,C,2025-01-02,"])  # a guest is no bad line
    with pytest.raises(InvalidDataset) as caught:
        build_rfm(path, reject=True)
    assert caught.value.message == (
        f"line 4 is not usable: {reason}; fix it, or score with on_error=flag or on_error=skip"
    )
    assert "extra" not in caught.value.message  # the row's content is never echoed


def test_a_file_without_bad_lines_passes_reject(write_csv):
    path = write_csv([HEADER, "1,A,2025-01-01,10", "2,,2025-01-01,10", "C3,A,2025-01-02,-4"])
    assert build_rfm(path, reject=True).table.equals(build_rfm(path).table)


def test_reject_counts_lines_through_chunks_and_quoted_line_breaks(write_csv):
    lines = ["InvoiceNo,Description,CustomerID,InvoiceDate,Amount"]
    lines += [f'{i},"two\nlines",{i % 5},2025-01-01,{i}' for i in range(40)]  # two lines each
    lines += ["", "40,plain,7,2025-01-02,5", "41,plain,7,2025-01-02,5,extra", "42,plain,8,someday,5"]
    path = write_csv(lines)
    for chunk_bytes in (64, 300, 1 << 20):
        with pytest.raises(InvalidDataset, match=r"^line 84 is not usable: wrong number of fields;"):
            build_rfm(path, reject=True, chunk_bytes=chunk_bytes)


@pytest.mark.parametrize(
    ("tail", "refused"),
    [
        (["30,plain,1,2025-01-05,", "31,plain,1,2025-01-05,1,extra"], "line 41 is not usable: missing Amount;"),
        (["30,plain,1,2025-01-05,1,extra", "31,plain,1,2025-01-05,"], "line 41 is not usable: wrong number of fields;"),
    ],
)
def test_reject_after_a_stray_quote_names_the_line_the_serial_reader_found(write_csv, tail, refused):
    lines = ["InvoiceNo,Description,CustomerID,InvoiceDate,Amount"]
    lines += [f"{i},plain,{i % 3},2025-01-02,2" for i in range(20)]
    lines += ['20,a 5" nail,1,2025-01-03,4']  # a quote inside an unquoted value: the chunks are read serially
    lines += [f'{i},"quoted\nvalue",{i % 3},2025-01-04,2' for i in range(21, 30)]
    path = write_csv(lines + tail)
    with pytest.raises(InvalidDataset, match=f"^{refused}"):
        build_rfm(path, reject=True, chunk_bytes=64)
    summary = build_rfm(path, chunk_bytes=64).summary
    assert (summary["rows_without_amount"], summary["malformed_rows"], summary["rows_read"]) == (1, 1, 32)


def test_a_quote_that_never_closes_is_refused_with_its_line(write_csv):
    lines = [HEADER, "1,A,2025-01-01,10", '2,"B,2025-01-01,10', "3,C,2025-01-02,4", "4,D,2025-01-02,4"]
    with pytest.raises(InvalidDataset) as caught:
        build_rfm(write_csv(lines))
    assert caught.value.message.startswith("line 3: a quote opens a value that runs over 3 lines without closing")
    assert "C,2025" not in caught.value.message


def test_nothing_usable_says_why(write_csv):
    path = write_csv([HEADER, "1,A,2025-01-01,abc", f"2,B,{_days_ahead(9)},4"])
    with pytest.raises(InvalidDataset) as caught:
        build_rfm(path)
    assert "no usable transaction" in caught.value.message
    assert "1 line: Amount is not a number" in caught.value.message
    assert "1 line: InvoiceDate is after tomorrow" in caught.value.message
