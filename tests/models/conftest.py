"""Fixtures of the Dask model tests: an in-process cluster, and CSV blocks small enough to make many partitions."""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    """An in-process Dask cluster: the map-reduce as on a real one, without starting processes."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def small_blocks(monkeypatch):
    """CSV blocks of 300 bytes: a small file becomes many partitions."""
    monkeypatch.setattr("app.models.dask_source.CSV_BLOCK_BYTES", 300)
