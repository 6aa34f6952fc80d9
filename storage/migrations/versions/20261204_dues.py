"""Party dues ledger, members' leave, local settings, class hours of trainings and lectures

The ledger records standards and payments per member and month (integer fen, month index),
voided with a reason instead of deleted; branches publish a yearly account; leaders record
months a member is excused; nodes choose their collection day and study targets; trainings
and Party lectures carry class hours.

Revision ID: 20261204_dues
Revises: 20261204_recent_updates
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "20261204_dues"
down_revision: str | Sequence[str] | None = "20261204_recent_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_FORCE = sa.text("voided_at IS NULL")
VOID_REASONS = ("mistake", "not_paid", "duplicate", "replaced")


def _void_reason(name: str) -> sa.Enum:
    return sa.Enum(*VOID_REASONS, name=name, native_enum=False, create_constraint=True, length=24)


def _voided(reason_name: str) -> list[sa.Column[object]]:
    return [
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.Column("void_reason", _void_reason(reason_name), nullable=True),
        sa.Column("voided_by", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=True),
    ]


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "dues_standards",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("from_month", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=True),
        *_voided("dues_void_reason"),
        sa.CheckConstraint("amount_fen > 0", name="positive_amount"),
    )
    op.create_index(
        "ux_dues_standards_person_month",
        "dues_standards",
        ["person_id", "from_month"],
        unique=True,
        sqlite_where=IN_FORCE,
        postgresql_where=IN_FORCE,
    )
    op.create_table(
        "dues_payments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("branch_id", sa.Integer(), sa.ForeignKey("org_units.id"), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=True),
        *_voided("dues_payment_void_reason"),
        sa.CheckConstraint("amount_fen > 0", name="positive_amount"),
    )
    op.create_index(
        "ux_dues_payments_person_month",
        "dues_payments",
        ["person_id", "month"],
        unique=True,
        sqlite_where=IN_FORCE,
        postgresql_where=IN_FORCE,
    )
    op.create_index(
        "ix_dues_payments_month_branch_id",
        "dues_payments",
        ["month", "branch_id", "amount_fen"],
        sqlite_where=IN_FORCE,
        postgresql_where=IN_FORCE,
    )
    op.create_table(
        "dues_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("branch_id", sa.Integer(), sa.ForeignKey("org_units.id"), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("through_month", sa.Integer(), nullable=False),
        sa.Column("collected_fen", sa.BigInteger(), nullable=False),
        sa.Column("payers", sa.Integer(), nullable=False),
        sa.Column("arrears_months", sa.Integer(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("published_by", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=True),
        sa.UniqueConstraint("branch_id", "year"),
    )
    op.create_table(
        "member_leaves",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("first_month", sa.Integer(), nullable=False),
        sa.Column("last_month", sa.Integer(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "sick",
                "excused",
                name="leave_reason",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=True),
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.Column("voided_by", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=True),
        sa.CheckConstraint("last_month >= first_month", name="months_in_order"),
    )
    op.create_index("ix_member_leaves_person_id", "member_leaves", ["person_id"])
    op.create_table(
        "local_settings",
        sa.Column("org_unit_id", sa.Integer(), sa.ForeignKey("org_units.id"), primary_key=True),
        sa.Column("dues_day", sa.SmallInteger(), nullable=True),
        sa.Column("study_hours_leader", sa.SmallInteger(), nullable=True),
        sa.Column("study_hours_member", sa.SmallInteger(), nullable=True),
    )
    with op.batch_alter_table("trainings") as batch:
        batch.add_column(sa.Column("class_hours", sa.SmallInteger(), nullable=True))
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("class_hours", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("class_hours")
    with op.batch_alter_table("trainings") as batch:
        batch.drop_column("class_hours")
    op.drop_table("local_settings")
    op.drop_index("ix_member_leaves_person_id", table_name="member_leaves")
    op.drop_table("member_leaves")
    op.drop_table("dues_accounts")
    op.drop_index("ix_dues_payments_month_branch_id", table_name="dues_payments")
    op.drop_index("ux_dues_payments_person_month", table_name="dues_payments")
    op.drop_table("dues_payments")
    op.drop_index("ux_dues_standards_person_month", table_name="dues_standards")
    op.drop_table("dues_standards")
