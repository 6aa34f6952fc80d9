"""send slots: Telegram's limits across processes as slots held until a second after the answer

The token bucket (send_budget) counted a send when it started, so sends whose calls took
different times could land closer together than the limit allows. A slot is held from before
the call until a second after its answer, which bounds every one-second window however long
the calls take.

Revision ID: 20261204_send_slots
Revises: 20261204_dues_heads (main's one head; the slots replace 20261204_cluster's send_budget)
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "20261204_send_slots"
down_revision: str | Sequence[str] | None = "20261204_dues_heads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.drop_table("send_budget")
    op.create_table(
        "send_slots",
        sa.Column("lane", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("free_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lane", "slot", name=op.f("pk_send_slots")),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("send_slots")
    op.create_table(
        "send_budget",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_send_budget")),
    )
