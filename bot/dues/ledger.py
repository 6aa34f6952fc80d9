"""A branch's dues ledger as a service: reading it, and every change to it (each audited).

Recording a payment takes the member's standard for the month; a month already paid, a month
without a standard, or one further ahead than members may prepay is refused with the reason,
and nothing is stored. A wrong entry is voided with a reason and stays in the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import DuesVoidReason, LeaveReason
from bot.rules.calendar import ObligationState, PeriodKind
from bot.rules.dues import (
    MemberLedger,
    Month,
    Standard,
    first_day,
    last_day,
    month_key,
    month_of,
    period_months,
)
from storage import dues_queries as dq
from storage import queries
from storage.models import Account, OrgUnit, Person
from storage.models_dues import DuesPayment, DuesStandard, MemberLeave


@dataclass(frozen=True, slots=True)
class MemberDues:
    """One member's ledger, judged in the month `ledger.current`, and which payment recorded
    each paid month (for voiding it)."""

    person: Person
    ledger: MemberLedger
    payment_ids: dict[Month, int]


def _ledgers(
    people: Sequence[Person],
    standards: Sequence[DuesStandard],
    payments: Sequence[DuesPayment],
    current: Month,
) -> list[MemberDues]:
    by_person: dict[int, list[Standard]] = defaultdict(list)
    for standard in standards:
        by_person[standard.person_id].append(Standard(standard.from_month, standard.amount_fen))
    paid: dict[int, dict[Month, int]] = defaultdict(dict)
    ids: dict[int, dict[Month, int]] = defaultdict(dict)
    for payment in payments:
        paid[payment.person_id][payment.month] = payment.amount_fen
        ids[payment.person_id][payment.month] = payment.id
    return [
        MemberDues(
            person,
            MemberLedger(tuple(by_person[person.id]), paid[person.id], current),
            ids[person.id],
        )
        for person in people
    ]


async def branch_dues(session: AsyncSession, branch: OrgUnit, current: Month) -> list[MemberDues]:
    """Every member of the branch's dues roster with their ledger, by name."""
    people = await dq.dues_roster(session, branch.id)
    standards = await dq.branch_standards(session, branch.id)
    first = min((s.from_month for s in standards), default=current)
    payments = await dq.branch_payments(session, branch.id, first=min(first, current), last=10**6)
    return _ledgers(people, standards, payments, current)


async def member_dues(session: AsyncSession, person: Person, current: Month) -> MemberDues:
    """One member's ledger."""
    standards = await dq.standards_of(session, [person.id])
    payments = await dq.payments_of(session, [person.id])
    return _ledgers([person], standards, payments, current)[0]


class Problem(StrEnum):
    """Why a change to the ledger was not made."""

    NOT_ON_ROSTER = "not_on_roster"
    NO_STANDARD = "no_standard"
    ALREADY_PAID = "already_paid"
    TOO_FAR_AHEAD = "too_far_ahead"
    ALREADY_VOID = "already_void"
    ALREADY_PUBLISHED = "already_published"


class LedgerRefused(Exception):
    """A change the ledger does not allow; nothing was stored."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def latest_month(current: Month, prepay_months: int) -> Month:
    """The furthest month a payment may be recorded for (members may prepay)."""
    return current + prepay_months


async def record_payment(
    session: AsyncSession,
    *,
    branch: OrgUnit,
    person: Person,
    month: Month,
    latest: Month,
    actor: Account | None,
    today: dt.date,
) -> DuesPayment:
    """Record one month as paid at the member's standard (audited); LedgerRefused otherwise."""
    if person.branch_id != branch.id:
        raise LedgerRefused(Problem.NOT_ON_ROSTER)
    if month > latest:
        raise LedgerRefused(Problem.TOO_FAR_AHEAD)
    dues = await member_dues(session, person, month)
    fen = dues.ledger.due_fen(month)
    if fen is None:
        raise LedgerRefused(Problem.NO_STANDARD)
    if month in dues.ledger.paid:
        raise LedgerRefused(Problem.ALREADY_PAID)
    (payment,) = await dq.add_payments(
        session,
        [
            {
                "person_id": person.id,
                "branch_id": branch.id,
                "month": month,
                "amount_fen": fen,
                "paid_on": today,
                "source": "bot",
                "created_by": actor.id if actor else None,
            }
        ],
    )
    await queries.audit(
        session,
        action="dues.payment",
        actor=actor,
        target_type="dues_payment",
        target_id=payment.id,
        org_unit_id=branch.id,
        details={"person_id": person.id, "month": month_key(month), "amount_fen": fen},
    )
    return payment


async def record_remaining(
    session: AsyncSession,
    *,
    branch: OrgUnit,
    month: Month,
    latest: Month,
    actor: Account | None,
    today: dt.date,
) -> list[DuesPayment]:
    """Record the month as paid for every member with a standard who has not paid it yet (one
    audit entry naming them all); the payments made."""
    if month > latest:
        raise LedgerRefused(Problem.TOO_FAR_AHEAD)
    rows = []
    for dues in await branch_dues(session, branch, month):
        fen = dues.ledger.due_fen(month)
        if fen is not None and month not in dues.ledger.paid:
            rows.append(
                {
                    "person_id": dues.person.id,
                    "branch_id": branch.id,
                    "month": month,
                    "amount_fen": fen,
                    "paid_on": today,
                    "source": "bot",
                    "created_by": actor.id if actor else None,
                }
            )
    payments = await dq.add_payments(session, rows) if rows else []
    if payments:
        await queries.audit(
            session,
            action="dues.payments",
            actor=actor,
            target_type="org_unit",
            target_id=branch.id,
            org_unit_id=branch.id,
            details={
                "month": month_key(month),
                "payments": [p.id for p in payments],
                "people": [p.person_id for p in payments],
                "amount_fen": sum(p.amount_fen for p in payments),
            },
        )
    return payments


async def void_payment(
    session: AsyncSession,
    *,
    payment: DuesPayment,
    reason: DuesVoidReason,
    actor: Account | None,
    now: dt.datetime,
) -> None:
    """Void a payment with the reason (it stays, marked void); audited."""
    if not await dq.void_payment(
        session, payment.id, reason=reason, by=actor.id if actor else None, now=now
    ):
        raise LedgerRefused(Problem.ALREADY_VOID)
    await queries.audit(
        session,
        action="dues.payment_voided",
        actor=actor,
        target_type="dues_payment",
        target_id=payment.id,
        org_unit_id=payment.branch_id,
        details={
            "person_id": payment.person_id,
            "month": month_key(payment.month),
            "amount_fen": payment.amount_fen,
            "reason": reason.value,
        },
    )


async def set_standard(
    session: AsyncSession,
    *,
    person: Person,
    from_month: Month,
    fen: int,
    actor: Account | None,
    now: dt.datetime,
    actor_label: str = "bot",
    source: str = "bot",
) -> tuple[DuesStandard, bool]:
    """A member's standard from a month on (audited). One already starting that month is
    voided as replaced (history kept); (the standard, whether anything changed)."""
    existing = await dq.standard_at_month(session, person.id, from_month)
    if existing is not None and existing.amount_fen == fen:
        return existing, False
    if existing is not None:
        await dq.void_standard(
            session,
            existing.id,
            reason=DuesVoidReason.REPLACED,
            by=actor.id if actor else None,
            now=now,
        )
    standard = await dq.add_standard(
        session,
        person_id=person.id,
        from_month=from_month,
        amount_fen=fen,
        source=source,
        created_by=actor.id if actor else None,
    )
    await queries.audit(
        session,
        action="dues.standard",
        actor=actor,
        actor_label=actor_label,
        target_type="dues_standard",
        target_id=standard.id,
        org_unit_id=person.branch_id,
        details={
            "person_id": person.id,
            "from_month": month_key(from_month),
            "amount_fen": fen,
            "replaced": existing.id if existing is not None else None,
        },
    )
    return standard, True


async def record_leave(
    session: AsyncSession,
    *,
    person: Person,
    first: Month,
    last: Month,
    reason: LeaveReason,
    actor: Account | None,
) -> MemberLeave:
    """Months a member is excused from organisational life (audited without the reason:
    sick leave is health data)."""
    leave = await dq.add_leave(
        session,
        person_id=person.id,
        first_month=first,
        last_month=last,
        reason=reason,
        created_by=actor.id if actor else None,
    )
    await queries.audit(
        session,
        action="dues.leave",
        actor=actor,
        target_type="member_leave",
        target_id=leave.id,
        org_unit_id=person.branch_id,
        details={"person_id": person.id, "from": month_key(first), "to": month_key(last)},
    )
    return leave


async def void_leave(
    session: AsyncSession,
    *,
    leave: MemberLeave,
    branch_id: int,
    actor: Account | None,
    now: dt.datetime,
) -> None:
    """Void a leave record entered by mistake (audited)."""
    if not await dq.void_leave(session, leave.id, by=actor.id if actor else None, now=now):
        raise LedgerRefused(Problem.ALREADY_VOID)
    await queries.audit(
        session,
        action="dues.leave_voided",
        actor=actor,
        target_type="member_leave",
        target_id=leave.id,
        org_unit_id=branch_id,
        details={"person_id": leave.person_id},
    )


@dataclass(frozen=True, slots=True)
class Collection:
    """The `dues` calendar rule for one branch and period: member-months owed and paid."""

    months: list[Month]
    period: PeriodKind
    owed: int
    paid: int
    state: ObligationState
    days_left: int | None


async def dues_obligation(
    session: AsyncSession, branch: OrgUnit, month: Month, period: PeriodKind, today: dt.date
) -> Collection:
    """Where the branch's collection of the period containing `month` stands on `today`:
    done when every member owing dues for its months has paid them."""
    months = period_months(month, period)
    roster = await branch_dues(session, branch, month_of(today))
    owed = paid = 0
    for dues in roster:
        for each in months:
            if dues.ledger.due_fen(each) is not None:
                owed += 1
                paid += each in dues.ledger.paid
    end = last_day(months[-1])
    days_left = (end - today).days if today <= end else None
    if owed == 0 or first_day(months[0]) > today:
        state = ObligationState.NOT_APPLICABLE
    elif paid >= owed:
        state = ObligationState.DONE
    elif days_left is None:
        state = ObligationState.OVERDUE
    else:
        state = ObligationState.DUE
    return Collection(months, period, owed, paid, state, days_left)
