"""reminders: reminder rows and settings, trainings with invitees, branch terms

Revision ID: 20261121_reminders
Revises: 20261121_foundation
Create Date: 2026-11-21 06:43:38.875185
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "20261121_reminders"
down_revision: str | Sequence[str] | None = "20261121_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "branch_terms",
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "village",
                "community",
                "other",
                name="branch_category",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("term_started_on", sa.Date(), nullable=False),
        sa.Column("term_years", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_branch_terms_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("org_unit_id", name=op.f("pk_branch_terms")),
    )
    op.create_table(
        "reminder_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("muted", sa.JSON(), nullable=False),
        sa.Column("quiet_start", sa.SmallInteger(), nullable=True),
        sa.Column("quiet_end", sa.SmallInteger(), nullable=True),
        sa.Column("digest_weekday", sa.SmallInteger(), nullable=True),
        sa.Column("digest_hour", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_reminder_settings_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_reminder_settings")),
    )
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("due_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("soft", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "unconfirmed",
                "in_digest",
                "muted",
                "cancelled",
                "skipped",
                "failed",
                name="reminder_state",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("lease_until", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("batch_size", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_reminders_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_reminders_dedupe_key")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reminders_account_id_deadline", ["account_id", "deadline"], unique=False
        )
        batch_op.create_index("ix_reminders_state_due_at", ["state", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_subject"), ["subject"], unique=False)

    op.create_table(
        "trainings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "rotation",
                "induction",
                name="training_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "audience",
            sa.Enum(
                "secretaries",
                "committee",
                "everyone",
                name="training_audience",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("starts_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "attendance_recorded_at", storage.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_trainings_created_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_trainings_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trainings")),
    )
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trainings_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trainings_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "training_invitees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("rsvp", sa.String(length=8), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_training_invitees_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["trainings.id"],
            name=op.f("fk_training_invitees_training_id_trainings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_invitees")),
        sa.UniqueConstraint(
            "training_id", "person_id", name=op.f("uq_training_invitees_training_id_person_id")
        ),
    )
    with op.batch_alter_table("training_invitees", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_invitees_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_invitees_training_id"), ["training_id"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("training_invitees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_invitees_training_id"))
        batch_op.drop_index(batch_op.f("ix_training_invitees_person_id"))

    op.drop_table("training_invitees")
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trainings_starts_at"))
        batch_op.drop_index(batch_op.f("ix_trainings_org_unit_id"))

    op.drop_table("trainings")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_subject"))
        batch_op.drop_index("ix_reminders_state_due_at")
        batch_op.drop_index("ix_reminders_account_id_deadline")

    op.drop_table("reminders")
    op.drop_table("reminder_settings")
    op.drop_table("branch_terms")
