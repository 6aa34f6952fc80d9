"""notices: notices, their texts per language, and the outbox of copies per recipient

Revision ID: 20261121_notices
Revises: 20261121_foundation
Create Date: 2026-11-21 06:39:33.638259
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "20261121_notices"
down_revision: str | Sequence[str] | None = "20261121_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "audience",
            _enum(
                "notice_audience",
                "everyone",
                "secretaries",
                "committee",
                "members",
                "mobile",
                "branches",
            ),
            nullable=False,
        ),
        sa.Column("branch_ids", sa.JSON(), nullable=False),
        sa.Column("primary_locale", sa.String(length=16), nullable=False),
        sa.Column("require_ack", sa.Boolean(), nullable=False),
        sa.Column("media_kind", _enum("notice_media", "photo", "document"), nullable=True),
        sa.Column("media_file_id", sa.String(length=256), nullable=True),
        sa.Column(
            "state",
            _enum("notice_state", "scheduled", "sending", "done", "cancelled"),
            nullable=False,
        ),
        sa.Column("send_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("admin_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_notices_created_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_notices_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index("ix_notices_state_send_at", ["state", "send_at"], unique=False)

    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            _enum(
                "delivery_state",
                "pending",
                "sending",
                "sent",
                "unconfirmed",
                "failed",
                "unreachable",
                "cancelled",
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("sent_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_notice_deliveries_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_units.id"], name=op.f("fk_notice_deliveries_branch_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_deliveries_notice_id_notices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_deliveries")),
        sa.UniqueConstraint(
            "notice_id",
            "account_id",
            "round",
            name=op.f("uq_notice_deliveries_notice_id_account_id_round"),
        ),
    )
    with op.batch_alter_table("notice_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notice_deliveries_notice_id_account_id", ["notice_id", "account_id"], unique=False
        )
        batch_op.create_index(
            "ix_notice_deliveries_state_notice_id", ["state", "notice_id"], unique=False
        )

    op.create_table(
        "notice_texts",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_texts_notice_id_notices")
        ),
        sa.PrimaryKeyConstraint("notice_id", "locale", name=op.f("pk_notice_texts")),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("notice_texts")
    with op.batch_alter_table("notice_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_deliveries_state_notice_id")
        batch_op.drop_index("ix_notice_deliveries_notice_id_account_id")
    op.drop_table("notice_deliveries")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_state_send_at")
    op.drop_table("notices")
