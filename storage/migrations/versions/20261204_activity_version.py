"""activities get a version, so concurrent corrections and voiding decide once

Two leaders correcting or voiding the same activity at once both saw the same entry; each
change is now applied only where the version is still the one its leader saw.

Revision ID: 20261204_activity_version
Revises: 20261204_recent_updates
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_activity_version"
down_revision: str | Sequence[str] | None = "20261204_recent_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("version")
