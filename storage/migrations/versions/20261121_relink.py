"""relink: requests of mobile and lost-contact members, letters, steps, lost-contact register

Revision ID: 20261121_relink
Revises: 20261121_foundation
Create Date: 2026-11-21 06:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "20261121_relink"
down_revision: str | Sequence[str] | None = "20261121_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "lost_contact_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("branch_code", sa.String(length=64), nullable=True),
        sa.Column("branch_id", sa.Integer(), nullable=True),
        sa.Column("join_year", sa.Integer(), nullable=True),
        sa.Column("lost_on", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("relinked_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("imported_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["org_units.id"],
            name=op.f("fk_lost_contact_register_branch_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_lost_contact_register_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lost_contact_register")),
    )
    with op.batch_alter_table("lost_contact_register", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lost_contact_register_branch_code_name", ["branch_code", "name"], unique=False
        )

    op.create_table(
        "relink_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            _enum("relink_request_type", "mobile", "transfer", "reconnect"),
            nullable=False,
        ),
        sa.Column(
            "state",
            _enum(
                "relink_request_state",
                "submitted",
                "needs_info",
                "rejected",
                "accepted",
                "active",
                "letter_issued",
                "letter_expired",
                "completed",
                "withdrawn",
                "cancelled",
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("requester_account_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("home_branch_id", sa.Integer(), nullable=False),
        sa.Column("receiving_branch_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("join_year", sa.Integer(), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("employer", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("question", sa.String(length=500), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("accepted_by", sa.Integer(), nullable=True),
        sa.Column("transfer_accepted_by", sa.Integer(), nullable=True),
        sa.Column("letters_issued", sa.Integer(), nullable=False),
        sa.Column("register_entry_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_report_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pocket_flagged_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_by"], ["accounts.id"], name=op.f("fk_relink_requests_accepted_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["home_branch_id"],
            ["org_units.id"],
            name=op.f("fk_relink_requests_home_branch_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_relink_requests_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["receiving_branch_id"],
            ["org_units.id"],
            name=op.f("fk_relink_requests_receiving_branch_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["register_entry_id"],
            ["lost_contact_register.id"],
            name=op.f("fk_relink_requests_register_entry_id_lost_contact_register"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_account_id"],
            ["accounts.id"],
            name=op.f("fk_relink_requests_requester_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_accepted_by"],
            ["accounts.id"],
            name=op.f("fk_relink_requests_transfer_accepted_by_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relink_requests")),
    )
    with op.batch_alter_table("relink_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relink_requests_completed_at"), ["completed_at"], unique=False
        )
        batch_op.create_index(
            "ix_relink_requests_receiving_branch_id", ["receiving_branch_id"], unique=False
        )
        batch_op.create_index(
            "ix_relink_requests_requester_account_id", ["requester_account_id"], unique=False
        )
        batch_op.create_index(
            "ix_relink_requests_state_home_branch_id", ["state", "home_branch_id"], unique=False
        )

    op.create_table(
        "relink_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("issued_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["accounts.id"], name=op.f("fk_relink_letters_issued_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["relink_requests.id"],
            name=op.f("fk_relink_letters_request_id_relink_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relink_letters")),
    )
    with op.batch_alter_table("relink_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relink_letters_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_relink_letters_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "relink_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column(
            "step",
            _enum("relink_step", "identity", "education_talk", "dues", "assignment", "system_flag"),
            nullable=False,
        ),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["accounts.id"], name=op.f("fk_relink_steps_recorded_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["relink_requests.id"],
            name=op.f("fk_relink_steps_request_id_relink_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relink_steps")),
        sa.UniqueConstraint("request_id", "step", name=op.f("uq_relink_steps_request_id_step")),
    )
    with op.batch_alter_table("relink_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relink_steps_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("relink_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relink_steps_request_id"))
    op.drop_table("relink_steps")
    with op.batch_alter_table("relink_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relink_letters_request_id"))
        batch_op.drop_index(batch_op.f("ix_relink_letters_expires_at"))
    op.drop_table("relink_letters")
    with op.batch_alter_table("relink_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_relink_requests_state_home_branch_id")
        batch_op.drop_index("ix_relink_requests_requester_account_id")
        batch_op.drop_index("ix_relink_requests_receiving_branch_id")
        batch_op.drop_index(batch_op.f("ix_relink_requests_completed_at"))
    op.drop_table("relink_requests")
    with op.batch_alter_table("lost_contact_register", schema=None) as batch_op:
        batch_op.drop_index("ix_lost_contact_register_branch_code_name")
    op.drop_table("lost_contact_register")
