"""relink requests keep a name-matched roster entry apart, as unverified; whereabouts optional

A request from an unregistered account used to take the roster entry whose name matched what
the member typed as the member themself, so accepting it could link a stranger's Telegram
account to someone else's roster entry. That entry is now only *claimed* until the deciders
confirm the identity. Open requests filed that way are moved over; the city becomes optional.

Revision ID: 20261204_relink_identity
Revises: 20261204_recent_updates
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_relink_identity"
down_revision: str | Sequence[str] | None = "20261204_recent_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = (
    "('submitted', 'needs_info', 'rejected', 'accepted', 'active', 'letter_issued', "
    "'letter_expired')"
)


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("relink_requests") as batch:
        batch.add_column(sa.Column("claimed_person_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_relink_requests_claimed_person_id_people"),
            "people",
            ["claimed_person_id"],
            ["id"],
        )
        batch.alter_column("city", existing_type=sa.String(length=100), nullable=True)
    # Only the requester's own registered entry is verified; any other was a name match.
    op.execute(
        "UPDATE relink_requests SET claimed_person_id = person_id, person_id = NULL "
        f"WHERE person_id IS NOT NULL AND state IN {OPEN} AND NOT EXISTS ("
        "SELECT 1 FROM accounts WHERE accounts.id = relink_requests.requester_account_id "
        "AND accounts.person_id = relink_requests.person_id)"
    )


def downgrade() -> None:
    """Revert."""
    op.execute(
        "UPDATE relink_requests SET person_id = claimed_person_id "
        "WHERE person_id IS NULL AND claimed_person_id IS NOT NULL"
    )
    op.execute("UPDATE relink_requests SET city = '' WHERE city IS NULL")
    with op.batch_alter_table("relink_requests") as batch:
        batch.alter_column("city", existing_type=sa.String(length=100), nullable=False)
        batch.drop_constraint(
            batch.f("fk_relink_requests_claimed_person_id_people"), type_="foreignkey"
        )
        batch.drop_column("claimed_person_id")
