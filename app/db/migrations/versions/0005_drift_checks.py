"""Drift checks: each evaluation the background evaluator stores, read for the checks over time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.tables import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create drift_checks, indexed by segmentation and time."""
    op.create_table(
        "drift_checks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("evaluated_at", UtcDateTime(), nullable=False),
        sa.Column("segmentation", sa.String(40), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("window_since", UtcDateTime(), nullable=False),
        sa.Column("window_until", UtcDateTime(), nullable=False),
        sa.Column("window_size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("warning", sa.String(500), nullable=True),
    )
    op.create_index("ix_drift_checks_segmentation_evaluated_at", "drift_checks", ["segmentation", "evaluated_at"])


def downgrade() -> None:
    """Drop drift_checks."""
    op.drop_index("ix_drift_checks_segmentation_evaluated_at", table_name="drift_checks")
    op.drop_table("drift_checks")
