"""Runs: every scored file is kept as a run, a row here plus its labelled file in the results store.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.tables import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the runs table (no customer rows: those stay in each run's Parquet file)."""
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("segmentation", sa.String(40), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("customer_id_column", sa.String(255), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", UtcDateTime(), nullable=True),
        sa.Column("removed_reason", sa.String(200), nullable=True),
        sa.CheckConstraint("source IN ('api', 'page')", name="ck_runs_source"),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_segmentation_created_at", "runs", ["segmentation", "created_at"])


def downgrade() -> None:
    """Drop the runs table (their files in the results store are then orphans, removed at the next start)."""
    op.drop_index("ix_runs_segmentation_created_at", table_name="runs")
    op.drop_index("ix_runs_created_at", table_name="runs")
    op.drop_table("runs")
