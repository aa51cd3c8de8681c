"""Runs: every scored file kept, listed, browsed and compared.

Modules: `errors` (404, 409, 410), `store` (the Parquet files in the results store), `records` (the database rows,
retention and eviction), `browse` (a run's customers, filtered, sorted and paged), `compare` (two runs by customer
id) and `export` (CSV downloads).
"""
