"""The scoring service on Dask: a file cut into partitions, each scored once by the local engine's code.

`ranges` cuts a CSV file into byte ranges that start on records; `partitions` is what a worker runs; `engine` is the
client's side (plan, run, place the output, merge the summaries).
"""

from app.services.scoring.dask.engine import dask_client, score_path_dask

__all__ = ["dask_client", "score_path_dask"]
