"""Model activations, mirrored from the versions folder's history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.tables import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create model_activations, unique on the entry's hash, indexed by time."""
    op.create_table(
        "model_activations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("entry_key", sa.String(64), nullable=False),
        sa.Column("activated_at", UtcDateTime(), nullable=False),
        sa.Column("from_version", sa.String(64), nullable=True),
        sa.Column("to_version", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.UniqueConstraint("entry_key", name="uq_model_activations_entry_key"),
    )
    op.create_index("ix_model_activations_activated_at", "model_activations", ["activated_at"])


def downgrade() -> None:
    """Drop model_activations."""
    op.drop_index("ix_model_activations_activated_at", table_name="model_activations")
    op.drop_table("model_activations")
