"""Outcomes reported for customers (and the log's index that finds a customer's last segment), and retraining
proposals.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.tables import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    """Create outcome_events and retrain_proposals."""
    op.create_table(
        "outcome_events",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("segmentation", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("campaign", sa.String(128), nullable=True),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("arm", sa.String(16), nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("segment_name", sa.String(200), nullable=True),
    )
    op.create_index("ix_outcome_events_campaign", "outcome_events", ["segmentation", "campaign"])
    op.create_index("ix_outcome_events_customer", "outcome_events", ["segmentation", "customer_id"])
    op.create_index("ix_prediction_log_customer", "prediction_log", ["segmentation", "customer_id", "id"])
    op.create_table(
        "retrain_proposals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("segmentation", sa.String(40), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("base_version", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("candidate_version", sa.String(64), nullable=True),
        sa.Column("comparison", sa.JSON(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(300), nullable=True),
        sa.Column("mix_training", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("error", sa.String(500), nullable=True),
    )
    op.create_index("ix_retrain_proposals_segmentation_created_at", "retrain_proposals", ["segmentation", "created_at"])


def downgrade() -> None:
    """Drop both tables and the index."""
    op.drop_table("retrain_proposals")
    op.drop_index("ix_prediction_log_customer", table_name="prediction_log")
    op.drop_table("outcome_events")
