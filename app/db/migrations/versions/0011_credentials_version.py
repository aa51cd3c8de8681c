"""Each user's credentials version: raised when they are disabled or enabled, change role or password, so bearer
tokens issued before stop working.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.credentials_version (0 for every user there is)."""
    op.add_column("users", sa.Column("credentials_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop the column (tokens then carry a version nobody checks)."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("credentials_version")
