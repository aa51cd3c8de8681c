"""Notifications: subscriptions (webhook URLs and email addresses), the event outbox and the delivery log.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.tables import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "notification_subscriptions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(100), nullable=True),
        sa.CheckConstraint("kind IN ('webhook', 'email')", name="ck_notification_subscriptions_kind"),
    )
    op.create_table(
        "notification_events",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("event_key", name="uq_notification_events_event_key"),
    )
    op.create_index("ix_notification_events_created_at", "notification_events", ["created_at"])
    op.create_table(
        "notification_deliveries",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("subscription_id", _ID, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("event_id", "subscription_id", name="uq_notification_deliveries_event_subscription"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'delivered', 'failed')", name="ck_notification_deliveries_status"
        ),
    )
    op.create_index("ix_notification_deliveries_due", "notification_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_notification_deliveries_subscription_id", "notification_deliveries", ["subscription_id"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("notification_deliveries")
    op.drop_table("notification_events")
    op.drop_table("notification_subscriptions")
