"""meetings called with /meet, the committee and party-group leader roles, quorum, lead times

- meetings, meeting_invitees: a meeting, who is invited, their answers and sign-ins.
- branch_calendars: the themed Party day's day of the month a branch chose.
- preparation_records: the organisational life meeting's preparation steps, marked done.
- role_assignments.role and invites.role take "committee" and "group_leader" (their CHECK
  constraints are replaced); role_assignments.post: a committee member's post.
- people.party_group_id: the member's party group.
- activities.decides / .quorum: a general meeting that elects or decides, and per kind the
  body present of its size.
- calendar_rule_overrides.lead_days / .quorum / .prepare_from: the new rule fields.

Revision ID: 20261204_meetings
Revises: 20261204_province
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "20261204_meetings"
down_revision: str | Sequence[str] | None = "20261204_province"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ("admin", "secretary", "deputy", "member")
NEW_ROLES = (*OLD_ROLES, "committee", "group_leader")
ROLE_COLUMNS = (("role_assignments", "role"), ("invites", "invite_role"))


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _roles(values: Sequence[str], before: Sequence[str]) -> None:
    """Replace the CHECK constraint of both role columns with one listing `values`."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, name in ROLE_COLUMNS:
        if sqlite:
            # SQLite cannot change a constraint in place: batch mode copies the table.
            with op.batch_alter_table(table, recreate="always") as batch:
                batch.alter_column(
                    "role", existing_type=_enum(before, name), type_=_enum(values, name)
                )
            continue
        constraint = f"ck_{table}_{name}"
        op.drop_constraint(op.f(constraint), table, type_="check")
        op.create_check_constraint(op.f(constraint), table, sa.column("role").in_(values))


PEOPLE_GROUP_FK = "fk_people_party_group_id_org_units"


def _add_party_group() -> None:
    """people.party_group_id, referring to the group. Not in batch mode on SQLite: copying the
    table would drop the one other tables' rows refer to (foreign keys are enforced)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE people ADD COLUMN party_group_id INTEGER "
            f"CONSTRAINT {PEOPLE_GROUP_FK} REFERENCES org_units (id)"
        )
        return
    op.add_column("people", sa.Column("party_group_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f(PEOPLE_GROUP_FK), "people", "org_units", ["party_group_id"], ["id"])


def upgrade() -> None:
    """Apply."""
    utc = storage.models.UTCDateTime(timezone=True)
    _roles(NEW_ROLES, OLD_ROLES)
    with op.batch_alter_table("role_assignments") as batch:
        batch.add_column(
            sa.Column(
                "post",
                _enum(
                    ("organisation", "propaganda", "discipline", "youth", "women", "other"),
                    "committee_post",
                ),
                nullable=True,
            )
        )
    _add_party_group()
    with op.batch_alter_table("activities") as batch:
        batch.add_column(
            sa.Column("decides", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("quorum", sa.JSON(), nullable=True))
    with op.batch_alter_table("calendar_rule_overrides") as batch:
        batch.add_column(sa.Column("lead_days", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("quorum", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("prepare_from", sa.Integer(), nullable=True))
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("party_group_id", sa.Integer(), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("starts_at", utc, nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("agenda", sa.String(length=200), nullable=False),
        sa.Column(
            "audience",
            _enum(("branch", "committee", "party_group", "chosen"), "meeting_audience"),
            nullable=False,
        ),
        sa.Column("reason_required", sa.Boolean(), nullable=False),
        sa.Column("decides", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("moved_at", utc, nullable=True),
        sa.Column("cancelled_at", utc, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("card_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("card_message_id", sa.BigInteger(), nullable=True),
        sa.Column("card_dirty", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"], ["activities.id"], name=op.f("fk_meetings_activity_id_activities")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_units.id"], name=op.f("fk_meetings_branch_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_meetings_created_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["party_group_id"], ["org_units.id"], name=op.f("fk_meetings_party_group_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    with op.batch_alter_table("meetings") as batch:
        batch.create_index(
            "ix_meetings_branch_id_starts_at", ["branch_id", "starts_at"], unique=False
        )
        batch.create_index(batch.f("ix_meetings_starts_at"), ["starts_at"], unique=False)
    op.create_table(
        "meeting_invitees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("committee", sa.Boolean(), nullable=False),
        sa.Column("voting", sa.Boolean(), nullable=False),
        sa.Column("mobile", sa.Boolean(), nullable=False),
        sa.Column("rsvp", _enum(("yes", "remote", "no", "later"), "meeting_rsvp"), nullable=True),
        sa.Column("reason", sa.String(length=8), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("answered_at", utc, nullable=True),
        sa.Column("signed_in_at", utc, nullable=True),
        sa.Column("signed_in_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_invitees_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_meeting_invitees_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["signed_in_by"],
            ["accounts.id"],
            name=op.f("fk_meeting_invitees_signed_in_by_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_invitees")),
        sa.UniqueConstraint(
            "meeting_id", "person_id", name=op.f("uq_meeting_invitees_meeting_id_person_id")
        ),
    )
    with op.batch_alter_table("meeting_invitees") as batch:
        batch.create_index(batch.f("ix_meeting_invitees_meeting_id"), ["meeting_id"], unique=False)
        batch.create_index(batch.f("ix_meeting_invitees_person_id"), ["person_id"], unique=False)
    op.create_table(
        "branch_calendars",
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("themed_day", sa.SmallInteger(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_units.id"],
            name=op.f("fk_branch_calendars_org_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["accounts.id"], name=op.f("fk_branch_calendars_updated_by_accounts")
        ),
        sa.PrimaryKeyConstraint("org_unit_id", name=op.f("pk_branch_calendars")),
    )
    op.create_table(
        "preparation_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "step",
            _enum(("study", "talks", "opinions", "meeting"), "preparation_step"),
            nullable=False,
        ),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_units.id"], name=op.f("fk_preparation_records_branch_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["accounts.id"],
            name=op.f("fk_preparation_records_recorded_by_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preparation_records")),
        sa.UniqueConstraint(
            "branch_id", "year", "step", name=op.f("uq_preparation_records_branch_id_year_step")
        ),
    )


def downgrade() -> None:
    """Revert (people holding the new roles lose them)."""
    op.drop_table("preparation_records")
    op.drop_table("branch_calendars")
    with op.batch_alter_table("meeting_invitees") as batch:
        batch.drop_index(batch.f("ix_meeting_invitees_person_id"))
        batch.drop_index(batch.f("ix_meeting_invitees_meeting_id"))
    op.drop_table("meeting_invitees")
    with op.batch_alter_table("meetings") as batch:
        batch.drop_index(batch.f("ix_meetings_starts_at"))
        batch.drop_index("ix_meetings_branch_id_starts_at")
    op.drop_table("meetings")
    with op.batch_alter_table("calendar_rule_overrides") as batch:
        batch.drop_column("prepare_from")
        batch.drop_column("quorum")
        batch.drop_column("lead_days")
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("quorum")
        batch.drop_column("decides")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE people DROP COLUMN party_group_id")
    else:
        op.drop_constraint(op.f(PEOPLE_GROUP_FK), "people", type_="foreignkey")
        op.drop_column("people", "party_group_id")
    with op.batch_alter_table("role_assignments") as batch:
        batch.drop_constraint(op.f("ck_role_assignments_committee_post"), type_="check")
        batch.drop_column("post")
    for table, _name in ROLE_COLUMNS:
        column = "role"
        roles = sa.table(table, sa.column(column, sa.String()))
        op.execute(roles.delete().where(roles.c[column].not_in(OLD_ROLES)))
    _roles(OLD_ROLES, NEW_ROLES)
