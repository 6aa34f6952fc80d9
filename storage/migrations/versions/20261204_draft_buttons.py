"""draft buttons: which message of a draft still shows buttons, to take them off when the
conversation moves on to a question that waits for typed text (issue 17)

Revision ID: 20261204_draft_buttons
Revises: 20261204_meetings
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_draft_buttons"
down_revision: str | Sequence[str] | None = "20261204_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("keyboard_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("keyboard_message_id")
