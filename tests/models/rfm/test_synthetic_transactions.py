"""The synthetic transactions: deterministic, in the public header, messy in the ways real exports are."""

import pandas as pd

from app.models.synthetic_transactions import GROUPS, HEADER, generate_transactions, write_transactions


def test_generate_is_deterministic_for_a_seed():
    first, plan = generate_transactions(100, seed=3)
    second, same_plan = generate_transactions(100, seed=3)
    pd.testing.assert_frame_equal(first, second)
    assert plan == same_plan
    assert not first.equals(generate_transactions(100, seed=4)[0])


def test_messy_like_a_real_export():
    frame, plan = generate_transactions(200, seed=1)
    assert tuple(frame.columns) == HEADER
    ids = frame["CustomerID"].dropna()
    assert ids.str.fullmatch(r"\d+\.0").all()
    assert frame["CustomerID"].isna().sum() > 0
    cancelled = frame["InvoiceNo"].str.startswith("C")
    assert cancelled.sum() > 0 and (frame.loc[cancelled, "Quantity"] < 0).all()
    assert (frame.loc[~cancelled, "Quantity"] > 0).all()
    dates = frame["InvoiceDate"]
    assert dates.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{2} \d{1,2}:\d{2}").any()
    assert dates.str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").any()
    assert set(plan.values()) == {group.name for group in GROUPS}
    assert set(ids.str.removesuffix(".0")) == set(plan)


def test_written_file_is_the_generated_frame(tmp_path):
    frame, _ = generate_transactions(150, seed=5)
    path, rows = write_transactions(tmp_path / "t.csv", customers=150, seed=5)
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert rows == len(frame) == len(written)
    expected = frame.fillna("")
    assert (written["InvoiceNo"] == expected["InvoiceNo"]).all()
    assert (written["CustomerID"] == expected["CustomerID"]).all()
    assert (written["InvoiceDate"] == expected["InvoiceDate"]).all()


def test_write_exactly_the_rows_asked_for(tmp_path):
    path, rows = write_transactions(tmp_path / "big.csv", rows=30_000, mixed_dates=False)
    assert rows == 30_000
    frame = pd.read_csv(path, dtype=str)
    assert len(frame) == 30_000
    assert not frame["InvoiceDate"].str.contains("-").any()


def test_synthetic_command_writes_transactions(tmp_path, capsys):
    from app.models.synthetic import main

    assert main(["--transactions", "--rows", "50", "--seed", "9", "--output", str(tmp_path / "t.csv")]) == 0
    assert "of 50 customers" in capsys.readouterr().out
    frame = pd.read_csv(tmp_path / "t.csv", dtype=str)
    assert tuple(frame.columns) == HEADER
    assert frame["CustomerID"].dropna().nunique() == 50


def test_no_generated_date_is_in_the_future():
    frame, _ = generate_transactions(200, seed=1)
    stamps = pd.to_datetime(frame["InvoiceDate"], format="mixed")
    assert stamps.max() < pd.Timestamp.now()
