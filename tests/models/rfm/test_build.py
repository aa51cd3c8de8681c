"""The RFM build: planted groups recovered, messy rows counted, every rule on small hand-written files."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from app.core.errors import InvalidDataset
from app.models.rfm.build import RFM_COLUMNS, build_rfm
from app.models.rfm.naming import rfm_names
from app.models.segmentations.spec import RfmOptions
from app.models.synthetic_transactions import GROUPS

FEATURES = ["recency_days", "frequency", "monetary"]


def _clusters(frame: pd.DataFrame, k: int) -> np.ndarray:
    """KMeans labels of the standardized log1p RFM table."""
    X = StandardScaler().fit_transform(np.log1p(frame[FEATURES].to_numpy(dtype=float)))
    return KMeans(k, n_init=10, random_state=0).fit_predict(X)


def test_build_recovers_planted_groups(planted):
    path, plan = planted
    frame = build_rfm(path).table.to_pandas()
    assert list(frame.columns) == list(RFM_COLUMNS)
    assert set(frame["customer_id"]) == set(plan)
    truth = frame["customer_id"].map(plan)
    labels = _clusters(frame, len(GROUPS))
    assert adjusted_rand_score(truth, labels) >= 0.9


def test_names_land_on_the_right_planted_groups(planted):
    path, plan = planted
    frame = build_rfm(path).table.to_pandas()
    frame["label"] = _clusters(frame, len(GROUPS))
    frame["group"] = frame["customer_id"].map(plan)
    # Centroids in original units: each cluster's mean recency, frequency and monetary.
    centroids = frame.groupby("label")[FEATURES].mean().sort_index()
    names = dict(zip(centroids.index, [name for name, _, _ in rfm_names(centroids.to_numpy())], strict=True))
    majority = frame.groupby("label")["group"].agg(lambda groups: groups.mode()[0])
    named = {majority[label]: name for label, name in names.items()}
    assert named["champions"] == "Champions"
    assert named["lost"] == "Lost"
    assert named["new"] == "New Customers"
    assert named["at_risk"] == "At Risk"


def test_summary_counts_cancellations_missing_ids_and_formats(planted):
    path, _ = planted
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    summary = build_rfm(path).summary
    assert summary["rows_read"] == len(raw)
    without_id = raw["CustomerID"] == ""
    assert summary["rows_without_customer_id"] == without_id.sum() > 0
    cancelled = raw["InvoiceNo"].str.startswith("C") & ~without_id
    assert summary["cancellation_rows"] == cancelled.sum() > 0
    assert summary["unparseable_dates"] == 0
    assert summary["date_formats"] == ["%m/%d/%y %H:%M", "%Y-%m-%d %H:%M:%S"]
    assert summary["reference_date"] == "2011-12-10"
    assert summary["customers"] == raw.loc[~without_id, "CustomerID"].nunique()
    assert summary["columns"] == {
        "customer_id": "CustomerID",
        "date": "InvoiceDate",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "order_id": "InvoiceNo",
    }


def test_build_matches_an_independent_pandas_computation(planted):
    path, _ = planted
    raw = pd.read_csv(path, dtype={"CustomerID": str, "InvoiceNo": str})
    raw = raw.dropna(subset=["CustomerID"])
    raw["when"] = pd.to_datetime(raw["InvoiceDate"], format="mixed")
    raw["amount"] = raw["Quantity"] * raw["UnitPrice"]
    buys = raw[~raw["InvoiceNo"].str.startswith("C")]
    expected = pd.DataFrame(
        {
            "frequency": buys.groupby("CustomerID")["InvoiceNo"].nunique(),
            "monetary": raw.groupby("CustomerID")["amount"].sum(),
            "last": buys.groupby("CustomerID")["when"].max(),
        }
    )
    expected.index = expected.index.str.removesuffix(".0")
    frame = build_rfm(path).table.to_pandas().set_index("customer_id")
    assert (frame["frequency"] == expected["frequency"].loc[frame.index]).all()
    assert np.allclose(frame["monetary"], expected["monetary"].loc[frame.index])
    days = (pd.Timestamp("2011-12-10") - expected["last"].loc[frame.index].dt.normalize()).dt.days
    assert (frame["recency_days"] == days).all()


HEADER = "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID"


def test_cancellations_net_out_and_are_never_orders(write_csv):
    path = write_csv(
        [
            HEADER,
            "1,2,2011-01-01 10:00:00,50,7.0",
            "1,1,2011-01-01 10:00:00,20,7.0",
            "C2,-1,2011-01-03 10:00:00,20,7.0",
            "3,1,2011-01-05 10:00:00,10,8.0",
            "C4,-1,2011-01-06 10:00:00,10,8.0",
        ]
    )
    result = build_rfm(path)
    rows = {row["customer_id"]: row for row in result.table.to_pylist()}
    assert rows["7"]["frequency"] == 1
    assert rows["7"]["monetary"] == pytest.approx(100.0)
    assert rows["7"]["returns"] == pytest.approx(20.0)
    assert rows["7"]["recency_days"] == 6  # reference: 2011-01-07, the day after the last row (a return)
    assert rows["8"]["non_positive"] is True
    assert result.summary["cancellation_rows"] == 2
    assert result.summary["customers_non_positive"] == 1


def test_non_positive_customers_can_be_dropped(write_csv):
    path = write_csv([HEADER, "1,1,2011-01-01 10:00:00,10,7", "2,1,2011-01-01 10:00:00,5,8", "C3,-1,2011-01-02,5,8"])
    result = build_rfm(path, options=RfmOptions(non_positive="drop"))
    assert result.table.column("customer_id").to_pylist() == ["7"]
    assert result.summary["customers_dropped"] == 1


def test_monetary_average_is_net_spend_per_order(write_csv):
    path = write_csv(
        [HEADER, "1,1,2011-01-01 10:00:00,30,7", "1,1,2011-01-01 10:00:00,10,7", "2,1,2011-01-02 10:00:00,20,7"]
    )
    row = build_rfm(path, options=RfmOptions(monetary="average")).table.to_pylist()[0]
    assert (row["frequency"], row["monetary"]) == (2, pytest.approx(30.0))


def test_sums_of_prices_read_as_the_prices_add_up(write_csv):
    # 307.57 + 15.15 is 322.71999999999997 in floats, and Arrow's round to 6 decimals left it so.
    lines = [HEADER, "1,1,2011-01-01 10:00:00,307.57,7", "2,1,2011-01-02 10:00:00,15.15,7"]
    lines += ["3,1,2011-01-01 10:00:00,400.66,8", "4,1,2011-01-02 10:00:00,241.15,8"]
    rows = build_rfm(write_csv(lines)).table.to_pylist()
    assert [(row["customer_id"], repr(row["monetary"])) for row in rows] == [("7", "322.72"), ("8", "641.81")]


def test_float_and_padded_ids_are_one_customer(write_csv):
    path = write_csv(["CustomerID,Date,Amount", "12923.0,2011-01-01,10", "12923,2011-01-02,5", " 12923 ,2011-01-03,1"])
    rows = build_rfm(path).table.to_pylist()
    assert [(row["customer_id"], row["frequency"]) for row in rows] == [("12923", 3)]


def test_float_ids_with_a_decimal_comma_are_one_customer_in_a_semicolon_file(write_csv):
    # A ';' export of decimal commas writes a float id as 12923,0: it is customer 12923, as 12923.0 is in a ',' file.
    lines = ["CustomerID;Date;Amount", "12923,0;2011-01-01;10,5", "12923;2011-01-02;5", "12924,0;2011-01-02;1,25"]
    # There "1.000" is a thousand (the point marks thousands): never customer 1; "7.0" is 7 as in any file.
    lines += ["1.000;2011-01-03;1", "1;2011-01-03;1", "7.0;2011-01-03;1", "7;2011-01-03;1"]
    rows = build_rfm(write_csv(lines)).table.to_pylist()
    assert sorted((row["customer_id"], row["frequency"]) for row in rows) == [
        ("1", 1), ("1.000", 1), ("12923", 2), ("12924", 1), ("7", 2)
    ]  # fmt: skip


def test_only_a_number_written_as_a_float_loses_its_zero_decimals(write_csv):
    # v1.0 and v1 are two customers' codes, not one id written twice; 12.00 is 12 as 12.0 is; ".0" is an id.
    lines = ["CustomerID,Date,Amount", "v1.0,2011-01-01,10", "v1,2011-01-02,5", ".0,2011-01-03,4", "12.00,2011-01-03,1"]
    rows = build_rfm(write_csv([*lines, "12,2011-01-03,1", "-3.0,2011-01-01,1", "-3,2011-01-01,1"])).table.to_pylist()
    assert sorted((row["customer_id"], row["frequency"]) for row in rows) == [
        ("-3", 2), (".0", 1), ("12", 2), ("v1", 1), ("v1.0", 1)
    ]  # fmt: skip


def test_without_an_order_id_frequency_counts_lines(write_csv):
    path = write_csv(["Customer ID,Date,Amount", "a,2011-01-01,10", "a,2011-01-01,5", "b,2011-01-02,-1"])
    result = build_rfm(path)
    assert result.summary["frequency"] == "lines"
    assert result.table.to_pylist()[0]["frequency"] == 2
    assert result.summary["customers_without_purchases"] == 1  # b only returned something


def test_mixed_date_formats_each_get_one_format(write_csv):
    path = write_csv(
        ["CustomerID,InvoiceDate,Amount", "1,12/1/10 8:26,1", "2,2011-10-06 16:20:00,1", "3,01-02-2011 00:00,1"]
    )
    result = build_rfm(path, reference_date=date(2011, 12, 10))
    assert result.summary["date_formats"] == ["%m/%d/%y %H:%M", "%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M"]
    recency = {row["customer_id"]: row["recency_days"] for row in result.table.to_pylist()}
    assert recency == {"1": 374, "2": 65, "3": 312}


def test_day_first_is_inferred_from_a_first_field_above_12(write_csv):
    path = write_csv(["CustomerID,Date,Amount", "1,03/02/2011,1", "2,13/02/2011,1", "3,01/12/2011,1"])
    result = build_rfm(path, reference_date=date(2011, 12, 31))
    assert result.summary["date_formats"] == ["%d/%m/%Y"]
    last = {row["customer_id"]: row["last_purchase"].date() for row in result.table.to_pylist()}
    assert last == {"1": date(2011, 2, 3), "2": date(2011, 2, 13), "3": date(2011, 12, 1)}


def test_date_format_option_overrides_inference(write_csv):
    path = write_csv(["CustomerID,Date,Amount", "1,03/02/2011,1", "2,04/02/2011,1"])
    result = build_rfm(path, options=RfmOptions(date_format="%d/%m/%Y"))
    assert result.summary["date_formats"] == ["%d/%m/%Y"]
    assert result.table.to_pylist()[0]["last_purchase"].date() == date(2011, 2, 3)


def test_unparseable_dates_are_counted_and_dropped(write_csv):
    path = write_csv(["CustomerID,Date,Amount", "1,2011-01-01,1", "1,soon,1", "2,,1", "3,2011-01-02,"])
    summary = build_rfm(path).summary
    assert summary["unparseable_dates"] == 2
    assert summary["rows_without_amount"] == 1
    assert summary["customers"] == 1


def test_rows_after_the_reference_date_are_left_out(write_csv):
    path = write_csv(["CustomerID,Date,Amount", "1,2011-01-01,1", "1,2011-03-01,1"])
    result = build_rfm(path, reference_date=date(2011, 2, 1))
    assert result.summary["rows_after_reference_date"] == 1
    assert result.table.to_pylist()[0]["recency_days"] == 31


def test_an_order_split_across_blocks_counts_once(write_csv, monkeypatch):
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    lines += [f"A1,5,2011-01-01 10:00:00,1,{i}" for i in range(1, 41)]
    lines += ["B2,5,2011-01-02 10:00:00,1,1", "C3,5,2011-01-03 10:00:00,-1,1"]
    path = write_csv(lines)
    whole = build_rfm(path)
    monkeypatch.setattr("app.models.rfm.aggregate.COMPACT_ROWS", 1)  # merge partials after every block too
    tiny = build_rfm(path, chunk_bytes=256)
    assert tiny.table.to_pylist()[0]["frequency"] == 2
    assert tiny.table.equals(whole.table)


def test_semicolon_decimal_comma_bom_and_crlf(write_csv):
    path = write_csv(
        ["Order ID;Client ID;Order Date;Qty;Price", "1;a;06.10.2011;2;1,5", "2;a;07.10.2011;1;2,25"],
        newline="\r\n",
        bom=True,
    )
    result = build_rfm(path)
    assert (result.summary["delimiter"], result.summary["decimal"]) == (";", ",")
    assert result.summary["date_formats"] == ["%d.%m.%Y"]
    row = result.table.to_pylist()[0]
    assert (row["customer_id"], row["frequency"], row["monetary"]) == ("a", 2, pytest.approx(5.25))


def test_a_file_of_old_mac_line_ends_builds_as_with_line_feeds(write_csv):
    lines = ["CustomerID,Date,Amount", "a,2011-01-01,10", "a,2011-01-02,5", "b,2011-01-03,7"]
    assert build_rfm(write_csv(lines, newline="\r")).table.equals(build_rfm(write_csv(lines, name="lf.csv")).table)


def test_a_header_without_lines_says_so(write_csv):
    with pytest.raises(InvalidDataset, match="has a header but no transaction lines"):
        build_rfm(write_csv(["CustomerID,Date,Amount"]))


def test_a_german_export_with_german_headers_builds(write_csv):
    path = write_csv(
        ["Rechnungsnr;Kundennummer;Rechnungsdatum;Menge;Einzelpreis", "R1;K1;06.10.2011;2;1,5",
         "R1;K1;06.10.2011;1;2,25", "R2;K1;07.10.2011;1;2,25", "R3;K2;07.10.2011;4;1"],
        newline="\r\n",
        bom=True,
    )  # fmt: skip
    result = build_rfm(path)
    assert result.summary["columns"] == {
        "customer_id": "Kundennummer", "date": "Rechnungsdatum", "quantity": "Menge", "unit_price": "Einzelpreis",
        "order_id": "Rechnungsnr",
    }  # fmt: skip
    rows = {row["customer_id"]: row for row in result.table.to_pylist()}
    assert (rows["K1"]["frequency"], rows["K1"]["monetary"]) == (2, pytest.approx(7.5))
    assert (rows["K2"]["frequency"], rows["K2"]["monetary"]) == (1, pytest.approx(4.0))


@pytest.mark.parametrize("ends", ["header", "rows", "both"])
def test_a_german_export_ending_its_header_or_rows_with_the_delimiter_builds_as_without(write_csv, ends):
    header, rows = "Kunden-Nr;Date;Amount", ["K1;2011-01-01;10,5", "K1;2011-01-02;5", "K2;2011-01-02;1,25"]
    plain = build_rfm(write_csv([header, *rows], newline="\r\n", name="plain.csv"))
    header += ";" if ends in ("header", "both") else ""
    rows = [row + ";" for row in rows] if ends in ("rows", "both") else rows
    result = build_rfm(write_csv([header, *rows], newline="\r\n", bom=True))
    assert result.summary["columns"]["customer_id"] == "Kunden-Nr"
    assert result.table.to_pylist() == plain.table.to_pylist()
    assert [(row["customer_id"], row["frequency"]) for row in result.table.to_pylist()] == [("K1", 2), ("K2", 1)]


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        (["CustomerID,Amount", "1,5"], "no date column; its header: CustomerID, Amount"),
        (["CustomerID,Date,Amount", "1,someday,5", "2,later,5"], "'Date'"),
        (["CustomerID,Date,Amount", "1,2011-01-01,", "2,2011-01-02,"], "'Amount'"),
        (["CustomerID,Date,Quantity,UnitPrice", "1,2011-01-01,,", "2,2011-01-02,,"], "'Quantity' and 'UnitPrice'"),
        (["Date,Amount", "2011-01-01,5"], "no customer id column"),
        (["CustomerID,Date,Amount", ",2011-01-01,5"], "'CustomerID'"),
        (["CustomerID,Date,Amount", "1,2011-01-01,lots"], "no usable transaction is left (1 line: Amount is not a"),
    ],
)
def test_bad_input_names_the_column(write_csv, lines, named):
    with pytest.raises(InvalidDataset) as caught:
        build_rfm(write_csv(lines))
    assert named in caught.value.message


def test_column_overrides_win_over_detection(write_csv):
    path = write_csv(["CustomerID,Other,Date,Amount,Net", "1,x,2011-01-01,5,4", "2,y,2011-01-02,5,4"])
    result = build_rfm(path, options=RfmOptions(columns={"customer_id": "Other", "amount": "Net"}))
    assert result.table.column("customer_id").to_pylist() == ["x", "y"]
    assert result.table.column("monetary").to_pylist() == [4.0, 4.0]


def test_blocks_left_empty_after_dropping_rows_are_fine(write_csv):
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    lines += [f"G{i},,2011-01-01 10:00:00,1,1" for i in range(30)]  # guests: whole blocks without a customer id
    lines += ["A1,5,2011-01-02 10:00:00,2,3", "C2,9,2011-01-03 10:00:00,-1,3"]
    result = build_rfm(write_csv(lines), chunk_bytes=128)
    assert result.summary["rows_without_customer_id"] == 30
    assert [(row["customer_id"], row["frequency"]) for row in result.table.to_pylist()] == [("5", 1)]
    assert result.summary["customers_without_purchases"] == 1


def test_a_customer_who_returned_more_than_they_bought_is_kept_at_zero_and_flagged(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "InvoiceNo,InvoiceDate,Quantity,UnitPrice,CustomerID\n"
        "1,2011-01-02 10:00,2,10,7\n"
        "C2,2011-01-05 10:00,-3,10,7\n"
        "3,2011-01-06 10:00,1,5,8\n"
    )
    table = build_rfm(path).table.to_pylist()
    spender, returner = (row for row in sorted(table, key=lambda row: row["customer_id"], reverse=True))
    assert (returner["customer_id"], returner["monetary"], returner["non_positive"]) == ("7", 0.0, True)
    assert returner["returns"] == 30.0 and returner["frequency"] == 1
    assert (spender["monetary"], spender["non_positive"]) == (5.0, False)
    dropped = build_rfm(path, options=RfmOptions(non_positive="drop"))
    assert [row["customer_id"] for row in dropped.table.to_pylist()] == ["8"]
    assert dropped.summary["customers_dropped"] == 1


def _rows(result):
    return {row["customer_id"]: (row["frequency"], row["monetary"]) for row in result.table.to_pylist()}


def test_quoted_line_ends_across_chunk_boundaries_are_kept_in_their_records(write_csv):
    lines = ["InvoiceNo,Description,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    for order in range(40):
        lines += [f'{order},"two\nlines, ""quoted""",{order % 7},2011-01-0{1 + order % 9} 10:00:00,1,{order}'] * 2
    path = write_csv(lines)
    whole = build_rfm(path)
    assert whole.summary["rows_read"] == 80
    for chunk_bytes in (64, 200, 999):
        assert build_rfm(path, chunk_bytes=chunk_bytes, workers=3).table.equals(whole.table)


def test_a_stray_quote_sends_the_rest_to_the_serial_reader_with_the_same_result(write_csv):
    lines = ["InvoiceNo,Description,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    lines += [f"{i},plain,{i % 3},2011-01-02 10:00:00,1,2" for i in range(20)]
    lines += ['20,a 5" nail,1,2011-01-03 10:00:00,1,4']  # a quote inside an unquoted value: Arrow reads it as text
    lines += [f'{i},"quoted\nvalue",{i % 3},2011-01-04 10:00:00,1,2' for i in range(21, 40)]
    path = write_csv(lines)
    tiny = build_rfm(path, chunk_bytes=64)
    assert tiny.summary["rows_read"] == 40
    assert tiny.table.equals(build_rfm(path).table)
    assert _rows(tiny)["1"] == (14, pytest.approx(30.0))


def test_integer_and_text_ids_in_different_chunks_merge_as_text(write_csv):
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    lines += [f"{i},12923.0,2011-01-02 10:00:00,1,1" for i in range(10)]  # integer ids in the first chunks
    lines += [f"A{i},007,2011-01-03 10:00:00,1,1" for i in range(10)]  # text ids (and order ids) later
    lines += [f"{i},7,2011-01-03 10:00:00,1,2" for i in range(10, 15)] + ["9,12923,2011-01-04 10:00:00,1,1"]
    path = write_csv(lines)
    tiny = build_rfm(path, chunk_bytes=100)
    assert _rows(tiny) == {"007": (10, 10.0), "12923": (10, 11.0), "7": (5, 10.0)}
    assert tiny.table.equals(build_rfm(path).table)


def test_a_bad_number_in_a_later_chunk_is_a_bad_line_counted_or_refused_with_its_line(write_csv):
    lines = ["CustomerID,Date,Amount"] + [f"{i},2011-01-01,5" for i in range(50)] + ["9,2011-01-02,lots"]
    path = write_csv(lines)
    result = build_rfm(path, chunk_bytes=64)
    assert result.summary["amounts_not_numbers"] == 1 and result.summary["customers"] == 50
    with pytest.raises(
        InvalidDataset,
        match=r"^line 52 is not usable: Amount is not a number \(amounts are read without a currency sign",
    ):
        build_rfm(path, chunk_bytes=64, reject=True)


@pytest.mark.parametrize("customer", ["5", "4294967296"])  # a small id, and one too large to pack with its order
def test_integer_orders_interleaved_across_chunks_count_once_each(write_csv, monkeypatch, customer):
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    for repeat in range(3):  # each order comes back in later chunks, between the others
        lines += [f"{order},{customer},2011-01-0{1 + order % 5} 10:00:00,1,{repeat + 1}" for order in range(10)]
    lines += [f"C{order},{customer},2011-01-06 10:00:00,-1,1" for order in range(5)]  # cancellations: no orders
    lines += ["999,8,2011-01-06 10:00:00,1,1"]
    path = write_csv(lines)
    monkeypatch.setattr("app.models.rfm.aggregate.COMPACT_ROWS", 1)  # merge partials after every block too
    tiny = build_rfm(path, chunk_bytes=128)
    assert _rows(tiny) == {customer: (10, pytest.approx(55.0)), "8": (1, 1.0)}
    assert tiny.table.equals(build_rfm(path).table)


def test_a_date_beyond_the_calendar_is_counted_unparseable_not_a_crash(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "InvoiceNo,InvoiceDate,Amount,CustomerID\n1,2011-01-02 10:00,20,7\n"
        "2,9999-12-31 10:00,5,8\n3,1066-10-14 09:00,5,9\n"
    )
    result = build_rfm(path)
    assert [row["customer_id"] for row in result.table.to_pylist()] == ["7"]
    assert result.summary["unparseable_dates"] == 2 and result.summary["reference_date"] == "2011-01-03"
