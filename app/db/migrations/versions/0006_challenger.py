"""Champion and challenger: the prediction log records the arm (and a shadow challenger's segment), and each
customer's first assignment to an arm has its own table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.tables import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the log's challenger columns (null for every row already there) and the assignments table."""
    op.add_column("prediction_log", sa.Column("arm", sa.String(16), nullable=True))
    op.add_column("prediction_log", sa.Column("challenger_version", sa.String(64), nullable=True))
    op.add_column("prediction_log", sa.Column("challenger_segment_id", sa.Integer(), nullable=True))
    op.create_table(
        "challenger_assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("assignment_key", sa.String(64), nullable=False),
        sa.Column("segmentation", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("arm", sa.String(16), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("challenger_version", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("assignment_key", name="uq_challenger_assignments_key"),
    )
    op.create_index("ix_challenger_assignments_customer", "challenger_assignments", ["segmentation", "customer_id"])
    op.create_index("ix_challenger_assignments_first_seen", "challenger_assignments", ["first_seen"])


def downgrade() -> None:
    """Drop the table and the columns."""
    op.drop_index("ix_challenger_assignments_first_seen", table_name="challenger_assignments")
    op.drop_index("ix_challenger_assignments_customer", table_name="challenger_assignments")
    op.drop_table("challenger_assignments")
    with op.batch_alter_table("prediction_log") as batch:
        batch.drop_column("challenger_segment_id")
        batch.drop_column("challenger_version")
        batch.drop_column("arm")
