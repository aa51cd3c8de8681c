"""`python -m app.cli rfm build`: a transactions file to a customer table, end to end."""

import io
import json
import sys

import pandas as pd
import pyarrow as pa
import pytest

from app.models.rfm.left_out import PLAIN_AMOUNTS
from app.models.synthetic_transactions import generate_transactions, write_transactions
from tests.semicolon_csv import excel_style

# Two customers, one with a cent's fraction below 1e-6 of a large total (an exponent in the written number).
TRANSACTIONS = b'CustomerID,Date,Amount\na,2011-01-01,10.5\na,2011-01-03,2.25\n"b, c",2011-01-02,123456789012.5\n'


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
        f"1  rows with an amount that is not a number (dropped; {PLAIN_AMOUNTS})",
        "1  rows with the wrong number of fields (dropped)",
        "3  customers without a usable row (left out)",
    ):
        assert said in stdout
    assert list(pd.read_csv(out)["customer_id"]) == ["a"]


def test_rfm_build_keeps_a_plain_comma_files_output_byte_for_byte(run_cli, tmp_path):
    source = tmp_path / "t.csv"
    source.write_bytes(TRANSACTIONS)
    out = tmp_path / "rfm.csv"
    code, _, stderr = run_cli("rfm", "build", source, out, "--quiet")
    assert code == 0, stderr
    assert out.read_bytes() == (
        b'"customer_id","recency_days","frequency","monetary","first_purchase","last_purchase","returns",'
        b'"non_positive"\n'
        b'"a",1,2,12.75,2011-01-01 00:00:00,2011-01-03 00:00:00,0,false\n'
        b'"b, c",2,1,1.234567890125e+11,2011-01-02 00:00:00,2011-01-02 00:00:00,0,false\n'
    )


def test_rfm_build_writes_a_semicolon_export_as_it_is_written(run_cli, tmp_path):
    source = tmp_path / "t.csv"
    source.write_bytes(excel_style(TRANSACTIONS))
    out = tmp_path / "rfm.csv"
    code, _, stderr = run_cli("rfm", "build", source, out, "--quiet")
    assert code == 0, stderr
    assert out.read_bytes() == (
        b"\xef\xbb\xbfcustomer_id;recency_days;frequency;monetary;first_purchase;last_purchase;returns;non_positive"
        b"\r\n"
        b"a;1;2;12,75;2011-01-01 00:00:00;2011-01-03 00:00:00;0;false\r\n"
        b"b, c;2;1;1,234567890125e+11;2011-01-02 00:00:00;2011-01-02 00:00:00;0;false\r\n"
    )


def test_rfm_build_of_a_semicolon_export_is_read_back_as_the_comma_files_table(run_cli, tmp_path):
    from app.services.scoring.validation import numbers

    tables = []
    for name, data in (("plain", TRANSACTIONS), ("excel", excel_style(TRANSACTIONS))):
        source, out = tmp_path / f"{name}.csv", tmp_path / f"{name}-rfm.csv"
        source.write_bytes(data)
        assert run_cli("rfm", "build", source, out, "--quiet")[0] == 0
        text = out.read_bytes().decode("utf-8-sig")
        tables.append(pd.read_csv(io.StringIO(text), sep=None, engine="python", dtype=str))
    plain, excel = tables
    assert list(excel.columns) == list(plain.columns)
    assert excel["customer_id"].tolist() == plain["customer_id"].tolist()
    # The scorer reads the `;` table's decimal commas, exponent too, as the comma table's numbers.
    read, _ = numbers(pa.array(excel["monetary"].tolist()), decimal_comma=True)
    assert read.tolist() == [float(value) for value in plain["monetary"]]


@pytest.mark.slow  # starts a LocalCluster each time
@pytest.mark.parametrize("semicolon", [False, True])
def test_rfm_build_on_dask_writes_the_local_builds_bytes(run_cli, tmp_path, semicolon):
    source, _ = write_transactions(tmp_path / "t.csv", customers=150, seed=3)
    if semicolon:
        source.write_bytes(excel_style(source.read_bytes()))
    local, dask = tmp_path / "local.csv", tmp_path / "dask.csv"
    assert run_cli("rfm", "build", source, local, "--quiet")[0] == 0
    code, _, stderr = run_cli("rfm", "build", source, dask, "--quiet", "--engine", "dask")
    assert code == 0, stderr
    written = local.read_bytes()
    assert dask.read_bytes() == written
    assert written.startswith(b"\xef\xbb\xbfcustomer_id;" if semicolon else b'"customer_id",')
    assert written.count(b"\r\n") == (written.count(b"\n") if semicolon else 0)


def test_rfm_build_on_dask_without_dask_installed_says_how_to_install_it(run_cli, tmp_path, monkeypatch):
    source, _ = write_transactions(tmp_path / "transactions.csv", customers=20, seed=2)
    monkeypatch.setitem(sys.modules, "dask", None)  # as after `bash setup.sh run`
    out = tmp_path / "rfm.csv"
    code, stdout, stderr = run_cli("rfm", "build", source, out, "--engine", "dask", "--quiet")
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: the Dask engine is not installed") and stderr.count("\n") == 1
    assert not out.exists()
