"""Dialect-specific SQL: the prediction log's one-statement batch insert, and inserts that skip rows already there."""

from functools import lru_cache

from sqlalchemy import Dialect, Insert, Table, insert
from sqlalchemy.dialects import postgresql, sqlite

from app.db.tables import PredictionLog


@lru_cache(maxsize=32)
def prediction_log_insert(
    dialect: Dialect, columns: tuple[str, ...], features: tuple[str, ...], shared: tuple[str, ...] = ()
) -> str:
    """One INSERT of a whole batch, sent as a single JSON array of rows that the database unpacks.

    An executemany binds row by row, taking Python's GIL back for every row while the request path wants it:
    that cost the event loop about 10% of its single-predict throughput. One JSON parameter, rendered by orjson,
    is inserted in one call that holds no GIL. Each row's inputs come as a list of values; the database pairs
    them with the feature names into the JSON object the column holds. The `shared` columns (one request's
    chunk has one value of each) are bound once as parameters ahead of the array, whose rows hold the other
    columns in `columns` order: on SQLite that takes a third less CPU than extracting them from every row.
    """
    table = PredictionLog.__table__
    per_row = [column for column in columns if column not in shared]
    # Feature names go into the statement as literals; drivers with %-placeholders (psycopg) read % as one.
    percent = dialect.paramstyle in ("format", "pyformat")
    names = ["'" + name.replace("'", "''").replace("%", "%%" if percent else "%") + "'" for name in features]
    inputs_at = per_row.index("inputs")
    if dialect.name == "sqlite":
        # json_extract rather than ->>, which needs SQLite 3.38; JSON true and false come out as 1 and 0.
        inputs = ", ".join(f"{name}, json_extract(value, '$[{inputs_at}][{i}]')" for i, name in enumerate(names))
        values = [
            "?"
            if column in shared
            else f"json_object({inputs})"
            if column == "inputs"
            else f"json_extract(value, '$[{per_row.index(column)}]')"
            for column in columns
        ]
        return f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(values)} FROM json_each(?)"
    inputs = ", ".join(f"{name}, row -> {inputs_at} -> {i}" for i, name in enumerate(names))

    def typed(column: str, value: str) -> str:
        return f"CAST({value} AS {table.c[column].type.compile(dialect=dialect)})"

    values = [
        typed(column, "%s")
        if column in shared
        else f"json_build_object({inputs})"
        if column == "inputs"
        else typed(column, f"row ->> {per_row.index(column)}")
        for column in columns
    ]
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(values)} "
        "FROM json_array_elements(%s::json) AS row"
    )


def insert_skipping_duplicates(dialect: Dialect, table: Table, *, key: str) -> Insert:
    """An INSERT that skips rows whose `key` is already there (another process may insert the same row at once)."""
    dialects = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    build = dialects.get(dialect.name)
    if build is None:
        return insert(table)
    return build(table).on_conflict_do_nothing(index_elements=[key])
