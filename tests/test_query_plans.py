"""The hot queries are served by indexes, on SQLite and on PostgreSQL with a UTF-8 locale, with
bound parameters as the bot sends them (on PostgreSQL: the generic plan of a prepared
statement, which a LIKE 'x%' on a column of the default collation can't use an index in)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.enums import OrgKind
from storage import activity_queries, notice_queries, queries, reminder_queries
from storage.db import SessionFactory
from storage.explain import analyze, plans_of_call, query_plan
from storage.models import OrgUnit
from storage.tree import path_end, subtree_of
from tests.support.database import BACKEND
from tests.support.province import committee_with_branches

NOW = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)


def _full_scans(plan: str) -> list[str]:
    """Plan lines that read a whole table (SQLite's SCAN, PostgreSQL's Seq Scan)."""
    return [
        line
        for line in plan.splitlines()
        if "Seq Scan" in line or line.lstrip(" -|`").startswith("SCAN ")
    ]


def test_a_subtree_is_a_range_of_paths() -> None:
    assert path_end("/1/4/") == "/1/40"
    assert "/1/4/" <= "/1/4/9/" < path_end("/1/4/")
    assert not "/1/4/" <= "/1/40/" < path_end("/1/4/")
    assert not "/1/4/" <= "/1/3/9/" < path_end("/1/4/")


async def test_a_subtree_of_a_large_tree_is_read_through_the_path_index(
    db: SessionFactory,
) -> None:
    async with db.begin() as session:
        await queries.add_org_unit(session, code="P", kind=OrgKind.COMMITTEE, name="省委")
    for county in range(20):
        await committee_with_branches(db, code=f"X{county}", branches=1000, parent="P")
    async with db.begin() as session:
        await analyze(session)
        county = await queries.org_by_code(session, "X7")
        assert county is not None
        plan = await query_plan(
            session, select(OrgUnit.id).where(subtree_of(OrgUnit.path, county.path))
        )
        found = await queries.subtree(session, county)
    assert "ix_org_units_path" in plan, plan
    assert len(found) == 1001 and all(unit.path.startswith(county.path) for unit in found)


async def test_the_hot_queries_have_their_indexes(db: SessionFactory) -> None:
    """The outbox claim, the reminder tick's claim, /due's facts of one branch, a draft."""
    [branch] = await committee_with_branches(db, code="C", branches=1)
    async with db.begin() as session:
        claim = await plans_of_call(
            session,
            lambda s: notice_queries.pending_copies(s, now=NOW, limit=64),
            indexes_only=True,
        )
        tick = await plans_of_call(
            session,
            lambda s: reminder_queries.due_accounts(s, now=NOW, limit=100),
            indexes_only=True,
        )
        due = await plans_of_call(
            session,
            lambda s: activity_queries.activity_facts_raw(
                s, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), branch_id=branch
            ),
            indexes_only=True,
        )
        draft = await plans_of_call(
            session,
            lambda s: queries.load_conversation(s, name="invite", chat_id=1, user_id=1),
            indexes_only=True,
        )
    assert "ix_notice_deliveries_state_notice_id_id" in claim[0], claim
    assert "ix_reminders_state_due_at" in tick[0], tick
    # Either of the activities' indexes serves one branch's year; none is read whole.
    assert "ix_activities_" in due[0] and not _full_scans(due[0]), due
    key = "pk_conversations" if BACKEND == "postgresql" else "sqlite_autoindex_conversations"
    assert key in draft[0], draft
