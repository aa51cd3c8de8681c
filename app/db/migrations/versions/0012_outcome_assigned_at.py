"""When each outcome's customer was assigned in the experiment it is reported in, so an outcome that came before
its customer's assignment is left out of the arms.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.tables import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add outcome_events.assigned_at (null for the events stored before: they count as they did)."""
    op.add_column("outcome_events", sa.Column("assigned_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("outcome_events") as batch:
        batch.drop_column("assigned_at")
