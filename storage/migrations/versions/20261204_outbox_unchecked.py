"""outbox unchecked: the notice outbox's references are not checked by the database

Writing a province's 4.5 million copies of a notice spent six sevenths of its time in the
foreign-key checks of notice_deliveries (a lookup of the notice, the account and the branch per
row, plus a row lock on each account): about 7 s per slice of 100,000 copies, 1 s without them.
Every copy is written by INSERT ... SELECT from the notice being sent and the accounts and
branches the same statement reads, and none of those rows is deleted while a notice can go out
(see docs/architecture.md, "Data at province scale").

Revision ID: 20261204_outbox_unchecked
Revises: 20261204_draft_buttons
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261204_outbox_unchecked"
down_revision: str | Sequence[str] | None = "20261204_draft_buttons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCES = (
    ("notice_id", "notices"),
    ("account_id", "accounts"),
    ("branch_id", "org_units"),
)


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("notice_deliveries") as batch:
        for column, table in REFERENCES:
            batch.drop_constraint(
                batch.f(f"fk_notice_deliveries_{column}_{table}"), type_="foreignkey"
            )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("notice_deliveries") as batch:
        for column, table in REFERENCES:
            batch.create_foreign_key(
                batch.f(f"fk_notice_deliveries_{column}_{table}"), table, [column], ["id"]
            )
