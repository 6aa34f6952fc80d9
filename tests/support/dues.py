"""Helpers for the dues, lapse and study-hours tests: people, files, activities, requests."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select, text, update

from bot.enums import RequestState, RequestType
from bot.rules.kinds import ActivityKind
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, OrgUnit, Person
from storage.models_activity import Activity
from storage.models_dues import DuesPayment, DuesStandard
from storage.models_relink import RelinkRequest

LEDGER_TABLES = (
    "dues_standards",
    "dues_payments",
    "dues_accounts",
    "member_leaves",
    "local_settings",
    "audit_log",
)


async def person(db: SessionFactory, name: str) -> Person:
    """The person of that name."""
    async with db() as session:
        found = await session.scalar(select(Person).where(Person.name == name))
    assert found is not None, name
    return found


async def branch(db: SessionFactory, code: str) -> OrgUnit:
    """The node with that code."""
    async with db() as session:
        found = await queries.org_by_code(session, code)
    assert found is not None, code
    return found


async def arrived(db: SessionFactory, when: dt.datetime) -> None:
    """Everyone came onto their roster at `when` (the lapse rule's baseline)."""
    async with db.begin() as session:
        await session.execute(update(Person).values(created_at=when))


async def add_member(
    db: SessionFactory, branch_code: str, name: str, telegram_id: int, language: str = "en"
) -> int:
    """A member on a branch roster with a Telegram account; their person id."""
    async with db.begin() as session:
        unit = await queries.org_by_code(session, branch_code)
        assert unit is not None
        member = Person(name=name, branch_id=unit.id)
        session.add(member)
        await session.flush()
        session.add(
            Account(telegram_id=telegram_id, person_id=member.id, telegram_language=language)
        )
        return member.id


async def away_as_mobile(db: SessionFactory, name: str, branch_code: str) -> None:
    """The member reported as mobile and the home branch accepted it (an active request)."""
    member = await person(db, name)
    unit = await branch(db, branch_code)
    async with db.begin() as session:
        account = await session.scalar(select(Account).where(Account.person_id == member.id))
        assert account is not None
        session.add(
            RelinkRequest(
                type=RequestType.MOBILE,
                state=RequestState.ACTIVE,
                requester_account_id=account.id,
                person_id=member.id,
                home_branch_id=unit.id,
                name=member.name,
                accepted_by=account.id,
            )
        )
        await session.execute(update(Person).where(Person.id == member.id).values(status="mobile"))


async def meeting(
    db: SessionFactory,
    branch_code: str,
    day: dt.date,
    absent: dict[str, str | None] | None = None,
    kinds: tuple[ActivityKind, ...] = (ActivityKind.THEMED_DAY,),
    class_hours: int | None = None,
) -> int:
    """A logged activity of the branch naming these absentees (a reason: excused)."""
    unit = await branch(db, branch_code)
    absences: list[dict[str, Any]] = []
    for name, reason in (absent or {}).items():
        absences.append({"person_id": (await person(db, name)).id, "name": name, "reason": reason})
    async with db.begin() as session:
        activity = Activity(
            branch_id=unit.id,
            kinds=[kind.value for kind in kinds],
            day=day,
            topic="学习",
            present=5 - len(absences),
            expected=5,
            attachments=[],
            absences=absences,
            late=False,
            class_hours=class_hours,
        )
        session.add(activity)
        await session.flush()
        return activity.id


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> Path:
    """A CSV file as a spreadsheet exports it."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """An XLSX workbook with one sheet."""
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


async def counts(db: SessionFactory) -> dict[str, int]:
    """Rows per ledger table (and the audit log): what a refused change must leave alone."""
    found = {}
    async with db() as session:
        for table in LEDGER_TABLES:
            found[table] = int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    return found


async def ledger_rows(db: SessionFactory) -> tuple[list[DuesStandard], list[DuesPayment]]:
    """Every standard and payment, void ones too, oldest first."""
    async with db() as session:
        standards = list(await session.scalars(select(DuesStandard).order_by(DuesStandard.id)))
        payments = list(await session.scalars(select(DuesPayment).order_by(DuesPayment.id)))
    return standards, payments


async def in_force_total(db: SessionFactory) -> int:
    """Fen of every payment in force."""
    async with db() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(DuesPayment.amount_fen), 0)).where(
                DuesPayment.voided_at.is_(None)
            )
        )
    return int(total or 0)
