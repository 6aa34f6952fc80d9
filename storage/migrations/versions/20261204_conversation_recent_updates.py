"""conversations remember their recent update ids instead of the highest one

Telegram's update ids restart from a random value after a week without updates, so "not
higher than the last one" stopped recognising new messages as new. A draft now keeps the ids
of the last updates applied to it. Also merges the feature heads into one.

Revision ID: 20261204_recent_updates
Revises: 20261121_activities, 20261121_grading, 20261121_notices, 20261121_relink,
    20261121_reminders
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_recent_updates"
down_revision: str | Sequence[str] | None = (
    "20261121_activities",
    "20261121_grading",
    "20261121_notices",
    "20261121_relink",
    "20261121_reminders",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(
            sa.Column("recent_updates", sa.JSON(), nullable=False, server_default="[]")
        )
    # The drafts open now were written by the previous version: their last update is the
    # only one that can come again.
    op.execute(
        "UPDATE conversations SET recent_updates = "
        + (
            "json_build_array(last_update_id)"
            if op.get_bind().dialect.name == "postgresql"
            else "json_array(last_update_id)"
        )
    )
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_update_id")


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(
            sa.Column("last_update_id", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.drop_column("recent_updates")
