"""province: subtree paths compared byte by byte, a notice's audience written in slices,
indexes for the outbox claim and the planner's queue of branches to plan again

Under a UTF-8 locale PostgreSQL's default collation orders "/1/4/" by language rules, so the
index on org_units.path served neither `LIKE '/1/4/%'` nor a range: the column is COLLATE "C"
now (SQLite compares bytes already). The outbox's (notice, account) index duplicated its
unique key; the pending copies are claimed in (notice, id) order by an index on
(state, notice_id, id), which also serves every per-state count of one notice. plan_marks
lists the branches whose reminders must be planned again (an activity, a leader, a rule
changed), so the planner need not judge every branch every few minutes.

Revision ID: 20261204_province
Revises: 20261204_send_slots
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "20261204_province"
down_revision: str | Sequence[str] | None = "20261204_send_slots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _path_collation(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.batch_alter_table("org_units") as batch:
        batch.alter_column(
            "path",
            existing_type=sa.String(length=512),
            type_=sa.String(length=512, collation=collation),
            existing_nullable=False,
        )


def upgrade() -> None:
    """Apply."""
    _path_collation("C")
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("fill_after", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("notice_deliveries") as batch:
        batch.drop_index("ix_notice_deliveries_notice_id_account_id")
        batch.drop_index("ix_notice_deliveries_state_notice_id")
        batch.create_index(
            "ix_notice_deliveries_state_notice_id_id", ["state", "notice_id", "id"], unique=False
        )
    op.create_table(
        "plan_marks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("marked_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_units.id"], name=op.f("fk_plan_marks_branch_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_marks")),
    )
    op.create_index(op.f("ix_plan_marks_branch_id"), "plan_marks", ["branch_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_plan_marks_branch_id"), table_name="plan_marks")
    op.drop_table("plan_marks")
    with op.batch_alter_table("notice_deliveries") as batch:
        batch.drop_index("ix_notice_deliveries_state_notice_id_id")
        batch.create_index(
            "ix_notice_deliveries_state_notice_id", ["state", "notice_id"], unique=False
        )
        batch.create_index(
            "ix_notice_deliveries_notice_id_account_id", ["notice_id", "account_id"], unique=False
        )
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("fill_after")
    _path_collation(None)
