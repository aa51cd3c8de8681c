"""Large chunks of the prediction log (a batch's, a file's) stored as one row each, columnar, instead of a row per
prediction: the log write of a 10,000-row batch then costs the database a single insert.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.chunk_payload import BadChunk, decode_customer_ids, decode_payload
from app.db.tables import DEFAULT_SEGMENTATION, PREDICTION_SOURCES, SEGMENTATION_LENGTH, UtcDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create prediction_chunks with its indexes (the per-row log is left as it is)."""
    op.create_table(
        "prediction_chunks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("segmentation", sa.String(SEGMENTATION_LENGTH), server_default=DEFAULT_SEGMENTATION, nullable=False),
        sa.Column("arm", sa.String(16), nullable=True),
        sa.Column("challenger_version", sa.String(64), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("segment_names", sa.JSON(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("customer_ids", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(f"source IN {PREDICTION_SOURCES!r}", name="ck_prediction_chunks_source"),
    )
    op.create_index("ix_prediction_chunks_created_at", "prediction_chunks", ["created_at"])
    op.create_index(
        "ix_prediction_chunks_segmentation_version", "prediction_chunks", ["segmentation", "model_version", "id"]
    )


def downgrade() -> None:
    """Move each chunk's predictions into prediction_log, a row each, then drop prediction_chunks: nothing is lost."""
    connection = op.get_bind()
    # Every chunk is read once before any is moved: a damaged one stops the downgrade with nothing changed.
    for chunk_id in _chunk_ids(connection):
        _rows_of(_chunk(connection, chunk_id))
    moved = _chunk_ids(connection)
    for chunk_id in moved:
        connection.execute(_LOG.insert(), _rows_of(_chunk(connection, chunk_id)))
    if moved:
        _number_by_time(connection)
    op.drop_index("ix_prediction_chunks_segmentation_version", table_name="prediction_chunks")
    op.drop_index("ix_prediction_chunks_created_at", table_name="prediction_chunks")
    op.drop_table("prediction_chunks")


# The two tables as this revision has them (not as app.db.tables has them later).
_CHUNKS = sa.table(
    "prediction_chunks",
    *(sa.column(name) for name in ("id", "model_version", "request_id", "source", "segmentation", "arm")),
    *(sa.column(name) for name in ("challenger_version", "row_count", "payload", "customer_ids")),
    sa.column("created_at", UtcDateTime()),
    sa.column("features", sa.JSON()),
    sa.column("segment_names", sa.JSON()),
)
_LOG = sa.table(
    "prediction_log",
    *(sa.column(name) for name in ("model_version", "segment_id", "segment_name", "distance", "confidence")),
    *(sa.column(name) for name in ("is_atypical", "out_of_range", "request_id", "source", "segmentation")),
    *(sa.column(name) for name in ("customer_id", "arm", "challenger_version", "challenger_segment_id")),
    sa.column("created_at", UtcDateTime()),
    sa.column("inputs", sa.JSON()),
)
_SHARED = ("created_at", "model_version", "request_id", "source", "segmentation", "arm", "challenger_version")
_PER_ROW = ("segment_id", "distance", "confidence", "is_atypical", "out_of_range", "challenger_segment_id")


def _number_by_time(connection: sa.Connection) -> None:
    """Number prediction_log's rows in the order they were answered: the code before 0013 takes the highest id as
    the newest, and the moved rows came after every per-row one, however old."""
    # Negated first, so the new numbers never meet an old one (the primary key is checked row by row). At the same
    # time a chunk's rows stay after per-row ones, as the readers of 0013 take them to be newer.
    connection.execute(sa.text("UPDATE prediction_log SET id = -id"))
    connection.execute(
        sa.text(
            "UPDATE prediction_log SET id = ranked.position FROM (SELECT id, row_number() OVER "
            "(ORDER BY created_at, id DESC) AS position FROM prediction_log) AS ranked "
            "WHERE prediction_log.id = ranked.id"
        )
    )


def _chunk_ids(connection: sa.Connection) -> list[int]:
    """Every chunk's id, oldest answer first: moved rows then take ids in the order they were answered."""
    return list(connection.scalars(sa.select(_CHUNKS.c.id).order_by(_CHUNKS.c.created_at, _CHUNKS.c.id)))


def _chunk(connection: sa.Connection, chunk_id: int) -> sa.Row:
    return connection.execute(sa.select(_CHUNKS).where(_CHUNKS.c.id == chunk_id)).one()


def _rows_of(chunk: sa.Row) -> list[dict]:
    """A chunk's predictions as prediction_log rows; a clear error naming a chunk this code cannot read."""
    try:
        rows, payload = decode_payload(chunk.payload)
        ids = decode_customer_ids(chunk.customer_ids, chunk.row_count)
        if rows != chunk.row_count or payload["inputs"].shape != (rows, len(chunk.features)):
            raise BadChunk(f"a payload that is not {chunk.row_count} rows of {len(chunk.features)} features")
        columns = {name: payload[name].tolist() if name in payload else [None] * rows for name in _PER_ROW}
        names = [chunk.segment_names[str(segment_id)] for segment_id in columns["segment_id"]]
    except (BadChunk, KeyError) as problem:
        raise RuntimeError(
            f"prediction chunk {chunk.id} cannot be read ({problem}), so its {chunk.row_count} predictions cannot be "
            f"moved back to prediction_log; nothing was changed. To downgrade without them, delete it first: "
            f"DELETE FROM prediction_chunks WHERE id = {chunk.id}"
        ) from None
    shared = {name: getattr(chunk, name) for name in _SHARED}
    inputs = [dict(zip(chunk.features, row, strict=True)) for row in payload["inputs"].tolist()]
    return [
        shared
        | {name: columns[name][i] for name in _PER_ROW}
        | {"inputs": inputs[i], "segment_name": names[i], "customer_id": ids[i]}
        for i in range(rows)
    ]
