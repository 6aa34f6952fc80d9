"""The dues ledger as a service on the real database: ticks, all remaining, voids, standards,
the yearly account, and the set-based collection figures against the per-member arithmetic."""

from __future__ import annotations

import contextlib
import datetime as dt
import random

import pytest
from sqlalchemy import select

from bot.demo import DemoUser
from bot.dues.account import account_figures, publish_account
from bot.dues.ledger import (
    LedgerRefused,
    Problem,
    branch_dues,
    record_payment,
    record_remaining,
    set_standard,
    void_payment,
)
from bot.enums import DuesVoidReason, ReminderKind
from bot.rules.dues import month_index
from storage import dues_reports as dr
from storage import queries
from storage.db import SessionFactory
from storage.models import AuditEntry
from storage.models_reminders import Reminder
from tests.support.dues import branch, counts, ledger_rows, person

AUG, SEP, OCT, NOV = (month_index(2026, m) for m in (8, 9, 10, 11))
NOW = dt.datetime(2026, 11, 10, 2, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 10)
B1_STANDARDS = {"王芳": 2000, "李强": 1250, "张伟": 1000, "刘洋": 50}


async def _standards(db: SessionFactory, fen: dict[str, int], from_month: int = AUG) -> None:
    async with db.begin() as session:
        for name, amount in fen.items():
            await set_standard(
                session,
                person=await person(db, name),
                from_month=from_month,
                fen=amount,
                actor=None,
                now=NOW,
            )


async def test_a_tick_records_the_standard_once_and_is_audited(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _standards(db, B1_STANDARDS)
    b1 = await branch(db, "DEMO-B1")
    li = await person(db, "李强")
    async with db.begin() as session:
        payment = await record_payment(
            session, branch=b1, person=li, month=SEP, latest=NOV + 12, actor=None, today=TODAY
        )
    assert (payment.month, payment.amount_fen, payment.paid_on) == (SEP, 1250, TODAY)
    before = await counts(db)
    for month, problem in ((SEP, Problem.ALREADY_PAID), (NOV + 13, Problem.TOO_FAR_AHEAD)):
        with pytest.raises(LedgerRefused) as refused:
            async with db.begin() as session:
                await record_payment(
                    session,
                    branch=b1,
                    person=li,
                    month=month,
                    latest=NOV + 12,
                    actor=None,
                    today=TODAY,
                )
        assert refused.value.problem is problem
    # Before the first standard nothing is owed; someone of another branch is not on the roster.
    yang = await person(db, "杨磊")
    for who, month, problem in (
        (li, AUG - 1, Problem.NO_STANDARD),
        (yang, SEP, Problem.NOT_ON_ROSTER),
    ):
        with pytest.raises(LedgerRefused) as refused:
            async with db.begin() as session:
                await record_payment(
                    session, branch=b1, person=who, month=month, latest=NOV, actor=None, today=TODAY
                )
        assert refused.value.problem is problem
    assert await counts(db) == before
    async with db() as session:
        audit = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "dues.payment"))
        )
    assert [(a.target_id, a.details["month"], a.details["amount_fen"]) for a in audit] == [
        (payment.id, "2026-09", 1250)
    ]


async def test_all_remaining_and_a_void_keep_exact_sums_and_every_entry(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _standards(db, B1_STANDARDS)
    b1 = await branch(db, "DEMO-B1")
    async with db.begin() as session:
        await record_payment(
            session,
            branch=b1,
            person=await person(db, "李强"),
            month=OCT,
            latest=NOV,
            actor=None,
            today=TODAY,
        )
        made = await record_remaining(
            session, branch=b1, month=OCT, latest=NOV, actor=None, today=TODAY
        )
    assert sorted(p.amount_fen for p in made) == [50, 1000, 2000]
    async with db.begin() as session:
        again = await record_remaining(
            session, branch=b1, month=OCT, latest=NOV, actor=None, today=TODAY
        )
    assert again == []
    figures = {row.branch_id: row for row in await _collection(db, OCT)}[b1.id]
    assert (figures.due_members, figures.paid_members) == (4, 4)
    assert (figures.due_fen, figures.collected_fen) == (4300, 4300)
    # Voiding keeps the row (with the reason); the month is unpaid again; twice is refused.
    zhang = next(p for p in made if p.amount_fen == 1000)
    async with db.begin() as session:
        await void_payment(
            session, payment=zhang, reason=DuesVoidReason.NOT_PAID, actor=None, now=NOW
        )
    with pytest.raises(LedgerRefused) as refused:
        async with db.begin() as session:
            await void_payment(
                session, payment=zhang, reason=DuesVoidReason.MISTAKE, actor=None, now=NOW
            )
    assert refused.value.problem is Problem.ALREADY_VOID
    _standards_rows, payments = await ledger_rows(db)
    assert len(payments) == 4
    voided = next(p for p in payments if p.id == zhang.id)
    assert voided.voided_at is not None and voided.void_reason is DuesVoidReason.NOT_PAID
    figures = {row.branch_id: row for row in await _collection(db, OCT)}[b1.id]
    assert (figures.paid_members, figures.collected_fen) == (3, 3300)
    # The month can be recorded again, once.
    async with db.begin() as session:
        assert (
            len(
                await record_remaining(
                    session, branch=b1, month=OCT, latest=NOV, actor=None, today=TODAY
                )
            )
            == 1
        )


async def test_a_new_standard_for_the_same_month_replaces_the_old_one_in_history(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    li = await person(db, "李强")
    async with db.begin() as session:
        _first, changed = await set_standard(
            session, person=li, from_month=AUG, fen=1000, actor=None, now=NOW
        )
        assert changed
        _same, changed = await set_standard(
            session, person=li, from_month=AUG, fen=1000, actor=None, now=NOW
        )
        assert not changed
        await set_standard(session, person=li, from_month=AUG, fen=1200, actor=None, now=NOW)
        await set_standard(session, person=li, from_month=NOV, fen=1500, actor=None, now=NOW)
    standards, _ = await ledger_rows(db)
    assert [(s.from_month, s.amount_fen, s.void_reason) for s in standards] == [
        (AUG, 1000, DuesVoidReason.REPLACED),
        (AUG, 1200, None),
        (NOV, 1500, None),
    ]
    async with db() as session:
        (dues,) = [
            d
            for d in await branch_dues(session, await branch(db, "DEMO-B1"), NOV)
            if d.person.id == li.id
        ]
    assert (dues.ledger.due_fen(OCT), dues.ledger.due_fen(NOV)) == (1200, 1500)
    assert dues.ledger.arrears_fen() == 3 * 1200


async def _collection(db: SessionFactory, month: int) -> list[dr.BranchCollection]:
    async with db() as session:
        return await dr.collection_by_branch(session, subtree_path="/", month=month)


async def test_the_set_based_collection_agrees_with_each_members_ledger(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    rng = random.Random(13)
    names = [u.name for u in demo.values() if u.name != "林书记"]
    async with db.begin() as session:
        for name in names:
            who = await person(db, name)
            for start in sorted(rng.sample(range(AUG - 6, NOV + 1), rng.randint(1, 3))):
                await set_standard(
                    session,
                    person=who,
                    from_month=start,
                    fen=rng.randint(1, 5000),
                    actor=None,
                    now=NOW,
                )
    async with db.begin() as session:
        for name in names:
            who = await person(db, name)
            unit = await queries.org_by_id(session, who.branch_id or 0)
            assert unit is not None
            for month in range(AUG - 6, NOV + 2):
                if rng.random() < 0.6:
                    with contextlib.suppress(LedgerRefused):
                        await record_payment(
                            session,
                            branch=unit,
                            person=who,
                            month=month,
                            latest=NOV + 3,
                            actor=None,
                            today=TODAY,
                        )
    for month in (AUG - 3, SEP, NOV):
        figures = {row.branch_id: row for row in await _collection(db, month)}
        for code in ("DEMO-B1", "DEMO-B2", "DEMO-B3"):
            unit = await branch(db, code)
            async with db() as session:
                roster = await branch_dues(session, unit, month)
            owing = [d for d in roster if d.ledger.due_fen(month) is not None]
            expected = (
                len(owing),
                sum(month in d.ledger.paid for d in owing),
                sum(d.ledger.due_fen(month) or 0 for d in owing),
                sum(d.ledger.paid.get(month, 0) for d in owing),
            )
            row = figures.get(unit.id)
            got = (
                (row.due_members, row.paid_members, row.due_fen, row.collected_fen)
                if row
                else (0, 0, 0, 0)
            )
            assert got == expected, (code, month)


async def test_the_yearly_account_is_published_once_with_totals_only(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _standards(db, B1_STANDARDS)
    b1 = await branch(db, "DEMO-B1")
    async with db.begin() as session:
        for month in (AUG, SEP):
            await record_remaining(
                session, branch=b1, month=month, latest=NOV, actor=None, today=TODAY
            )
        await record_payment(
            session,
            branch=b1,
            person=await person(db, "李强"),
            month=OCT,
            latest=NOV,
            actor=None,
            today=TODAY,
        )
        figures = await account_figures(session, b1, 2026, NOV)
    # Aug and Sep from everyone (2 x 43.00), Oct from 李强; October is in arrears for three.
    assert (figures.collected_fen, figures.payers, figures.arrears_months, figures.members) == (
        2 * 4300 + 1250,
        4,
        3,
        4,
    )
    async with db.begin() as session:
        account, told = await publish_account(
            session, branch=b1, year=2026, current=NOV, actor=None, now=NOW
        )
    assert told == 4 and account.collected_fen == 9850
    with pytest.raises(LedgerRefused) as refused:
        async with db.begin() as session:
            await publish_account(session, branch=b1, year=2026, current=NOV, actor=None, now=NOW)
    assert refused.value.problem is Problem.ALREADY_PUBLISHED
    async with db() as session:
        rows = list(
            await session.scalars(
                select(Reminder).where(Reminder.kind == ReminderKind.DUES_ACCOUNT.value)
            )
        )
    assert len(rows) == 4
    assert rows[0].payload == {
        "branch_id": b1.id,
        "year": 2026,
        "collected_fen": 9850,
        "payers": 4,
        "arrears_months": 3,
        "members": 4,
    }
