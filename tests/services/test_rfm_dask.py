"""The Dask RFM build gives exactly the local build's table and summary."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from app.models.rfm.build import build_rfm
from app.models.synthetic_transactions import write_transactions
from tests.semicolon_csv import excel_style

pytestmark = pytest.mark.slow  # starts a LocalCluster


def test_dask_build_matches_the_local_build(tmp_path):
    from app.services.rfm_dask import build_rfm_dask

    source, _ = write_transactions(tmp_path / "t.csv", customers=300, seed=4)
    local = build_rfm(source)
    # Small partitions: orders and customers spread over several of them.
    remote = build_rfm_dask(source, partition_bytes=200_000, n_workers=1)
    # Sums taken in another order may differ in their last bit: money is compared to a cent's billionth.
    exact = [name for name in local.table.column_names if name not in ("monetary", "returns")]
    assert remote.table.select(exact).equals(local.table.select(exact))
    for name in ("monetary", "returns"):
        assert np.allclose(remote.table.column(name), local.table.column(name), rtol=0, atol=1e-9)
    assert remote.summary == local.summary


@pytest.mark.parametrize("semicolon", [False, True])
def test_dask_build_counts_bad_lines_as_the_local_build_does(tmp_path, semicolon):
    from app.services.rfm_dask import build_rfm_dask

    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    half = ".5" if semicolon else ""  # a `;` file's amounts with decimal commas (halves: sums exact in any order)
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Amount"]
    lines += [f"{i},{i % 40},2025-01-{1 + i % 28:02d},{i % 9 + 1}{half}" for i in range(3000)]
    lines += ["a,B1,2025-13-45,1", "b,B2,2025-01-02,", "c,B3,2025-01-02,inf", "d,B4,2025-01-02,abc"]
    lines += [f"e,B5,{future},3", "f,B6,2025-01-02,NaN", "g,7,2025-01-02,1,extra", "h,8,2025-01-02"]
    lines += ["i,NULL,2025-01-02,1"]  # no customer id: a guest's line, as Arrow reads NULL
    lines += ["j,B7,2025-02-31,1", "k,B8,2025-01-02,1e300"]  # a day February lacks, an amount beyond ±1e15
    lines += [f"{i},{i % 40},2025-02-{1 + i % 28:02d},{i % 9 + 1}{half}" for i in range(3000, 6000)]
    source = tmp_path / "bad.csv"
    text = ("\n".join(lines) + "\n").encode()
    # A `;` export of a decimal-comma locale (CRLF, a BOM): cut into the same records, read with the same marks.
    source.write_bytes(excel_style(text) if semicolon else text)
    local = build_rfm(source)
    remote = build_rfm_dask(source, partition_bytes=20_000, n_workers=1)
    assert remote.summary == local.summary
    assert remote.table.equals(local.table) and remote.unusable.equals(local.unusable)
    assert local.summary["malformed_rows"] == 2 and local.summary["future_dates"] == 1
    assert local.summary["amounts_not_numbers"] == 2 and local.summary["customers_without_usable_transactions"] == 8
    assert local.summary["unparseable_dates"] == 2 and local.summary["amounts_too_large"] == 1
    assert local.summary["decimal"] == ("," if semicolon else ".")


def test_dask_reads_dates_written_the_other_way_round_as_unreadable_as_the_local_build_does(tmp_path):
    from app.services.rfm_dask import build_rfm_dask

    # Dates that could be either, some only month first (04/13), and in another partition some only day first: the
    # sample sees both, reads day first (a first field above 12 says so), and the 04/13 lines are unreadable.
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Amount"]
    lines += [f"{i},{i % 40},{1 + i % 12:02d}/0{1 + i % 9}/2025,5" for i in range(3000)]
    lines += [f"{i},{i % 40},04/{13 + i % 15}/2025,5" for i in range(3000, 3100)]
    lines += [f"{i},{i % 40},{1 + i % 12:02d}/0{1 + i % 9}/2025,5" for i in range(3100, 6000)]
    lines += [f"{i},{i % 40},{13 + i % 15}/04/2025,5" for i in range(6000, 6100)]
    source = tmp_path / "mixed.csv"
    source.write_text("\n".join(lines) + "\n")
    local = build_rfm(source)
    remote = build_rfm_dask(source, partition_bytes=20_000, n_workers=1)
    assert (local.summary["unparseable_dates"], local.summary["date_formats"]) == (100, ["%d/%m/%Y"])
    assert remote.summary == local.summary and remote.table.equals(local.table)
