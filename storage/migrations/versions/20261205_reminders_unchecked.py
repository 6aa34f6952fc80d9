"""reminders unchecked: a reminder's account is not checked by the database

At the end of a year a province's planning pass writes 800,000 reminders at once (the "1 day
before" of every monthly, quarterly and yearly obligation). The foreign-key check on
reminders.account_id (a lookup and a row lock of the account per row) was half of writing them:
1.05 s against 0.55 s per 40,000 rows. Every reminder is planned for an account the same
transaction read, and accounts are deleted only when nothing refers to them, this column
included (`info["references"]`, as the notice outbox's).

Revision ID: 20261205_reminders_unchecked
Revises: 20261204_outbox_unchecked
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261205_reminders_unchecked"
down_revision: str | Sequence[str] | None = "20261204_outbox_unchecked"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("reminders") as batch:
        batch.drop_constraint(batch.f("fk_reminders_account_id_accounts"), type_="foreignkey")


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("reminders") as batch:
        batch.create_foreign_key(
            batch.f("fk_reminders_account_id_accounts"), "accounts", ["account_id"], ["id"]
        )
