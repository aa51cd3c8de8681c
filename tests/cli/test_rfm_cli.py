"""`python -m app.cli rfm build`: a transactions file to a customer table, end to end."""

import json

import pandas as pd

from app.models.synthetic_transactions import generate_transactions, write_transactions


def test_rfm_build_writes_the_customer_table_and_prints_the_summary(run_cli, tmp_path):
    source, _ = write_transactions(tmp_path / "transactions.csv", customers=120, seed=2)
    _, plan = generate_transactions(120, seed=2)
    out = tmp_path / "out" / "rfm.csv"
    code, stdout, stderr = run_cli("rfm", "build", source, out, "--quiet")
    assert code == 0, stderr
    table = pd.read_csv(out, dtype={"customer_id": str})
    assert list(table.columns) == [
        "customer_id", "recency_days", "frequency", "monetary", "first_purchase", "last_purchase", "returns",
        "non_positive",
    ]  # fmt: skip
    assert set(table["customer_id"]) == set(plan)
    assert (table["frequency"] >= 1).all()
    assert "120 customers from" in stdout
    assert "rows without a customer id" in stdout
    assert "%m/%d/%y %H:%M or %Y-%m-%d %H:%M:%S" in stdout
    assert [path.name for path in out.parent.iterdir()] == ["rfm.csv"]  # no temporary file left behind


def test_rfm_build_options_and_json_summary(run_cli, tmp_path):
    source = tmp_path / "t.csv"
    source.write_text("Client,Date,Amount\na,03/02/2011,10\na,04/02/2011,20\nb,05/02/2011,-1\nc,05/02/2011,5\n")
    out = tmp_path / "rfm.csv"
    code, stdout, stderr = run_cli(
        "rfm", "build", source, out, "--json", "--quiet", "--date-format", "%d/%m/%Y", "--reference-date",
        "2011-02-10", "--monetary", "average", "--drop-non-positive", "--column", "customer_id=Client",
    )  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["date_formats"] == ["%d/%m/%Y"]
    assert summary["reference_date"] == "2011-02-10"
    assert summary["customers_without_purchases"] == 1
    rows = pd.read_csv(out).set_index("customer_id")
    assert rows.loc["a", "monetary"] == 15.0
    assert rows.loc["a", "recency_days"] == 6


def test_rfm_build_makes_formulas_inert(run_cli, tmp_path):
    source = tmp_path / "t.csv"
    source.write_text('CustomerID,Date,Amount\n"=HYPERLINK(""x"")",2011-01-01,5\n-5,2011-01-01,5\n')
    out = tmp_path / "rfm.csv"
    code, _, stderr = run_cli("rfm", "build", source, out, "--quiet")
    assert code == 0, stderr
    ids = set(pd.read_csv(out, dtype=str)["customer_id"])
    assert ids == {'\'=HYPERLINK("x")', "-5"}


def test_rfm_build_bad_input_is_one_line_exit_2(run_cli, tmp_path):
    source = tmp_path / "t.csv"
    source.write_text("CustomerID,Amount\n1,5\n")
    out = tmp_path / "rfm.csv"
    code, _, stderr = run_cli("rfm", "build", source, out, "--quiet")
    assert code == 2
    assert stderr.strip() == "error: the transactions file has no date column; its header: CustomerID, Amount"
    assert not out.exists()


def test_rfm_build_counts_bad_lines_and_customers_left_without_one(run_cli, tmp_path):
    source = tmp_path / "t.csv"
    source.write_text(
        "CustomerID,Date,Amount\na,2011-01-01,10\nb,2011-13-45,5\nc,2011-01-02,inf\nd,2011-01-02,1,2\ne,2999-01-01,5\n"
    )
    out = tmp_path / "rfm.csv"
    code, stdout, stderr = run_cli("rfm", "build", source, out, "--quiet")
    assert code == 0, stderr
    for said in (
        "1  rows with an unreadable date (dropped)",
        "1  rows dated after tomorrow (dropped)",
        "1  rows with an amount that is not a number (dropped)",
        "1  rows with the wrong number of fields (dropped)",
        "3  customers without a usable row (left out)",
    ):
        assert said in stdout
    assert list(pd.read_csv(out)["customer_id"]) == ["a"]
