"""The hot queries are served by indexes, on SQLite and on PostgreSQL with a UTF-8 locale, with
bound parameters as the bot sends them (on PostgreSQL: the generic plan of a prepared
statement, which a LIKE 'x%' on a column of the default collation can't use an index in)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from bot.enums import DeliveryState, NoticeAudience, OrgKind, ReminderState
from storage import activity_queries, notice_queries, queries, reminder_queries
from storage.db import SessionFactory
from storage.explain import analyze, plans_of_call, query_plan
from storage.models import Account, OrgUnit
from storage.models_notices import NoticeDelivery
from storage.models_reminders import Reminder
from storage.tree import path_end, subtree_of
from tests.support.database import BACKEND
from tests.support.province import committee_with_branches, members
from tests.support.reminders import year_end_rows

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


async def _outbox_going_out(db: SessionFactory, branch: int) -> None:
    """A notice to 2,000 members going out, all but 20 copies sent, with fresh statistics: the
    claim's plan then follows this outbox, not what earlier tests left in the statistics (a
    TRUNCATE keeps a column's statistics, and a sort of a few rows looked cheaper)."""
    await members(db, [branch], per_branch=2000)
    async with db.begin() as session:
        root = await queries.org_by_code(session, "C")
        assert root is not None
        notice = await notice_queries.create_notice(
            session,
            org=root,
            created_by=None,
            audience=NoticeAudience.EVERYONE,
            branch_ids=[],
            texts={"zh_Hans": "通知"},
            primary_locale="zh_Hans",
            require_ack=False,
            media_kind=None,
            media_file_id=None,
            send_at=NOW,
            admin_chat_id=None,
            progress_message_id=None,
        )
    while True:
        async with db.begin() as session:
            due = await notice_queries.due_notices(session, NOW)
            if not due:
                break
            await notice_queries.start_notice(session, due[0], NOW)
    async with db.begin() as session:
        last = (
            select(NoticeDelivery.id)
            .where(NoticeDelivery.notice_id == notice.id)
            .order_by(NoticeDelivery.id.desc())
            .limit(20)
            .scalar_subquery()
        )
        await session.execute(
            update(NoticeDelivery)
            .where(NoticeDelivery.notice_id == notice.id, NoticeDelivery.id.not_in(last))
            .values(state=DeliveryState.SENT)
        )
        await analyze(session)


async def _reminders_mostly_sent(db: SessionFactory) -> None:
    """2,000 reminders of 100 accounts, all but 20 sent, with fresh statistics: on an empty
    table the account index (which gives the grouping's order) costs the same as the state
    index, and which one the plan names came down to a tie."""
    async with db.begin() as session:
        accounts = [Account(telegram_id=900_000 + n, time_zone="Asia/Shanghai") for n in range(100)]
        session.add_all(accounts)
        await session.flush()
        rows = [
            row
            for k, account in enumerate(accounts)
            for row in year_end_rows(account.id, 20, first=20 * k)
        ]
        await reminder_queries.insert_reminders(
            session,
            [
                row | {"due_at": NOW - dt.timedelta(days=30) + dt.timedelta(minutes=n)}
                for n, row in enumerate(rows)
            ],
        )
        await session.execute(
            update(Reminder).where(Reminder.id % 100 != 0).values(state=ReminderState.SENT)
        )
        await analyze(session)


async def test_the_hot_queries_have_their_indexes(db: SessionFactory) -> None:
    """The outbox claim, the reminder tick's claim, /due's facts of one branch, a draft."""
    [branch] = await committee_with_branches(db, code="C", branches=1)
    await _reminders_mostly_sent(db)
    async with db.begin() as session:
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
    await _outbox_going_out(db, branch)
    async with db.begin() as session:
        claim = await plans_of_call(
            session,
            lambda s: notice_queries.pending_copies(s, now=NOW, limit=64),
            indexes_only=True,
        )
        assert len(await notice_queries.pending_copies(session, now=NOW, limit=64)) == 20
    assert "ix_notice_deliveries_state_notice_id_id" in claim[0], claim
    assert "ix_reminders_state_due_at" in tick[0], tick
    # Either of the activities' indexes serves one branch's year; none is read whole.
    assert "ix_activities_" in due[0] and not _full_scans(due[0]), due
    key = "pk_conversations" if BACKEND == "postgresql" else "sqlite_autoindex_conversations"
    assert key in draft[0], draft
