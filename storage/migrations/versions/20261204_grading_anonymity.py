"""satisfaction answers stop being linkable to who gave them; how people came onto the roster

Answers were numbered by a sequence and inserted together with the row saying who answered,
so the n-th participant and the n-th answer were the same person, and the rows lay in the file
in answering order. Answers now have random keys: the existing ones are re-keyed and rewritten
in a shuffled order. Drafts of the survey conversation could hold the key of an answer just
given (to attach a comment to it): they are dropped.

people.added_by_invite records who came onto a roster by redeeming an invite that named
nobody (such a person may not answer the member survey of a campaign already running). It is
unknown for the people registered so far, who count as imported.

Revision ID: 20261204_grading_anonymity
Revises: 20261204_recent_updates
Create Date: 2026-12-04
"""

import random
import secrets
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_grading_anonymity"
down_revision: str | Sequence[str] | None = "20261204_recent_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ANSWERS = sa.table(
    "grading_satisfaction",
    sa.column("id", sa.BigInteger()),
    sa.column("campaign_id", sa.Integer()),
    sa.column("branch_id", sa.Integer()),
    sa.column("group", sa.String()),
    sa.column("rectification_id", sa.Integer()),
    sa.column("value", sa.String()),
    sa.column("comment", sa.String()),
)


def upgrade() -> None:
    """Apply."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # SQLite's INTEGER primary key already holds 64 bits and has no sequence.
        op.alter_column(
            "grading_satisfaction",
            "id",
            type_=sa.BigInteger(),
            existing_type=sa.Integer(),
            server_default=None,
            existing_nullable=False,
        )
        op.execute("DROP SEQUENCE IF EXISTS grading_satisfaction_id_seq")
    _rekey_and_shuffle(bind)
    op.execute("DELETE FROM conversations WHERE name = 'grading_survey'")
    op.add_column(
        "people",
        sa.Column("added_by_invite", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def _rekey_and_shuffle(bind: sa.Connection) -> None:
    """Every answer gets a random key, and each survey's answers are written again in a
    random order (the rows lay in answering order)."""
    columns = ("campaign_id", "branch_id", "group", "rectification_id", "value", "comment")
    rows = [
        dict(row._mapping) for row in bind.execute(sa.select(*(_ANSWERS.c[c] for c in columns)))
    ]
    if not rows:
        return
    surveys: dict[tuple[object, ...], list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        surveys[
            (row["campaign_id"], row["branch_id"], row["group"], row["rectification_id"])
        ].append(row)
    shuffle = random.SystemRandom().shuffle
    keys: set[int] = set()
    rewritten = []
    for answers in surveys.values():
        shuffle(answers)
        for answer in answers:
            key = 0
            while key == 0 or key in keys:
                key = secrets.randbits(63)
            keys.add(key)
            rewritten.append({**answer, "id": key})
    bind.execute(sa.delete(_ANSWERS))
    bind.execute(sa.insert(_ANSWERS), rewritten)


def downgrade() -> None:
    """Revert: the answers are numbered 1, 2, ... in their present (shuffled) order."""
    # Not in batch mode: SQLite would copy the table, and other tables' rows refer to it.
    op.execute("ALTER TABLE people DROP COLUMN added_by_invite")
    bind = op.get_bind()
    columns = ("campaign_id", "branch_id", "group", "rectification_id", "value", "comment")
    rows = [
        dict(row._mapping) for row in bind.execute(sa.select(*(_ANSWERS.c[c] for c in columns)))
    ]
    bind.execute(sa.delete(_ANSWERS))
    if rows:
        bind.execute(sa.insert(_ANSWERS), [{**row, "id": n} for n, row in enumerate(rows, start=1)])
    if bind.dialect.name == "postgresql":
        op.alter_column(
            "grading_satisfaction",
            "id",
            type_=sa.Integer(),
            existing_type=sa.BigInteger(),
            existing_nullable=False,
        )
        op.execute("CREATE SEQUENCE grading_satisfaction_id_seq OWNED BY grading_satisfaction.id")
        op.execute(
            "SELECT setval('grading_satisfaction_id_seq', "
            "(SELECT COALESCE(MAX(id), 0) + 1 FROM grading_satisfaction), false)"
        )
        op.execute(
            "ALTER TABLE grading_satisfaction ALTER COLUMN id "
            "SET DEFAULT nextval('grading_satisfaction_id_seq')"
        )
