"""access can be taken away; consent before storing; keyed invite hashes; deletion requests

- accounts.consented_at: when the person agreed to the privacy notice (no account exists
  before that from now on; older accounts keep NULL).
- people.left_branch_id / left_at: removed from a roster, kept in history.
- invites.revoked_at, invites.code_scheme: codes are now HMAC-SHA256 with ZHIBU_SECRET_KEY.
  The existing (plain SHA-256) codes are marked "sha256" and still work until used, revoked or
  expired; so that no guessable hash stays usable for long, they expire 30 days from this
  migration at the latest.
- invite_failures: recreated keyed by a hash of the sender instead of their Telegram id (its
  rows only matter for minutes, so none are carried over).
- deletion_requests: /forgetme.

Revision ID: 20261204_access_privacy
Revises: 20261204_recent_updates
Create Date: 2026-12-04
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "20261204_access_privacy"
down_revision: str | Sequence[str] | None = "20261204_recent_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_CODES_VALID_FOR = dt.timedelta(days=30)


def upgrade() -> None:
    """Apply."""
    utc = storage.models.UTCDateTime(timezone=True)
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("consented_at", utc, nullable=True))
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("left_branch_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("left_at", utc, nullable=True))
        batch.create_foreign_key(
            op.f("fk_people_left_branch_id_org_units"), "org_units", ["left_branch_id"], ["id"]
        )
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column("revoked_at", utc, nullable=True))
        batch.add_column(
            sa.Column("code_scheme", sa.String(length=8), nullable=False, server_default="sha256")
        )
    with op.batch_alter_table("invites") as batch:
        batch.alter_column("code_scheme", server_default=None)
    cap = dt.datetime.now(dt.UTC) + LEGACY_CODES_VALID_FOR
    invites = sa.table("invites", sa.column("expires_at", utc))
    op.execute(invites.update().where(invites.c.expires_at > cap).values(expires_at=cap))

    with op.batch_alter_table("invite_failures") as batch:
        batch.drop_index("ix_invite_failures_telegram_id_at")
    op.drop_table("invite_failures")
    op.create_table(
        "invite_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_key", sa.String(length=64), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_failures")),
    )
    with op.batch_alter_table("invite_failures") as batch:
        batch.create_index("ix_invite_failures_sender_key_at", ["sender_key", "at"], unique=False)

    op.create_table(
        "deletion_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "done",
                "declined",
                name="deletion_state",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("requested_at", utc, nullable=False),
        sa.Column("decided_at", utc, nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["accounts.id"], name=op.f("fk_deletion_requests_decided_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_units.id"],
            name=op.f("fk_deletion_requests_org_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_deletion_requests_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletion_requests")),
    )
    with op.batch_alter_table("deletion_requests") as batch:
        batch.create_index(batch.f("ix_deletion_requests_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("deletion_requests") as batch:
        batch.drop_index(batch.f("ix_deletion_requests_person_id"))
    op.drop_table("deletion_requests")
    with op.batch_alter_table("invite_failures") as batch:
        batch.drop_index("ix_invite_failures_sender_key_at")
    op.drop_table("invite_failures")
    op.create_table(
        "invite_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_failures")),
    )
    with op.batch_alter_table("invite_failures") as batch:
        batch.create_index("ix_invite_failures_telegram_id_at", ["telegram_id", "at"], unique=False)
    with op.batch_alter_table("invites") as batch:
        batch.drop_column("code_scheme")
        batch.drop_column("revoked_at")
    with op.batch_alter_table("people") as batch:
        batch.drop_constraint(op.f("fk_people_left_branch_id_org_units"), type_="foreignkey")
        batch.drop_column("left_at")
        batch.drop_column("left_branch_id")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("consented_at")
