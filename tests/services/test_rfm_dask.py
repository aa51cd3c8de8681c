"""The Dask RFM build gives exactly the local build's table and summary."""

import numpy as np
import pytest

from app.models.rfm.build import build_rfm
from app.models.synthetic_transactions import write_transactions

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
