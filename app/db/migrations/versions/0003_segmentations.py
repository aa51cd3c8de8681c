"""Segmentations: the prediction log's rows and the mirrored activations say which segmentation they belong to, and
a prediction can carry the caller's customer id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add segmentation (rows already there belong to 'default') and customer_id; index what drift reads by."""
    # A constant server default fills existing rows at once: PostgreSQL 11+ stores it in the catalog without
    # rewriting the table, and SQLite's ADD COLUMN never rewrites it.
    for table in ("prediction_log", "model_activations"):
        op.add_column(table, sa.Column("segmentation", sa.String(40), nullable=False, server_default="default"))
    op.add_column("prediction_log", sa.Column("customer_id", sa.String(128), nullable=True))
    # Drift reads a segmentation's served version, newest rows first: one index range scan, however many other
    # versions and segmentations share the log.
    op.create_index("ix_prediction_log_segmentation_version", "prediction_log", ["segmentation", "model_version", "id"])


def downgrade() -> None:
    """Drop the columns and the index (other segmentations' rows stay, told apart by their model versions)."""
    op.drop_index("ix_prediction_log_segmentation_version", table_name="prediction_log")
    # Batch mode: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("prediction_log") as batch:
        batch.drop_column("customer_id")
        batch.drop_column("segmentation")
    with op.batch_alter_table("model_activations") as batch:
        batch.drop_column("segmentation")
