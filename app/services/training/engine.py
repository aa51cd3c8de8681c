"""Where a training run computes: here (`local`, the whole file in memory) or on a Dask cluster (`dask`)."""

import contextlib
import logging
from collections.abc import Iterator
from typing import Literal

from app.services.dask_extra import require_dask

Engine = Literal["local", "dask"]
ENGINES: tuple[str, ...] = ("local", "dask")
# Workers of the local cluster started for one training run when no scheduler is given.
DEFAULT_WORKERS = 2


@contextlib.contextmanager
def engine_options(engine: str, *, scheduler: str | None = None, n_workers: int = DEFAULT_WORKERS) -> Iterator[dict]:
    """train_segmentation()'s options for an engine: nothing for `local`, a Dask client for `dask`."""
    if engine == "local":
        yield {}
        return
    require_dask()
    from distributed import Client, LocalCluster  # Dask only when asked for

    # Warnings kept (a worker pausing or restarting is worth a line in the log); task tracebacks are not ours.
    cluster = (
        None
        if scheduler
        else LocalCluster(n_workers=n_workers, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR)
    )
    try:
        with Client(scheduler or cluster) as client:
            yield {"client": client}
    finally:
        if cluster is not None:
            cluster.close()
