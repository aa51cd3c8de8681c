"""Large chunks of the prediction log (a batch's, a file's) stored as one row each, columnar, instead of a row per
prediction: the log write of a 10,000-row batch then costs the database a single insert.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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
    """Drop prediction_chunks (the predictions it held go with it)."""
    op.drop_index("ix_prediction_chunks_segmentation_version", table_name="prediction_chunks")
    op.drop_index("ix_prediction_chunks_created_at", table_name="prediction_chunks")
    op.drop_table("prediction_chunks")
