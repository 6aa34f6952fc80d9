"""Forged dues and class-hours buttons: DEMO-B1's branch ledger, a member's standard, payment
and leave, a training of DEMO and a Party lecture of DEMO-B1.

A branch's ledger is for the leaders of that branch only, so the member who presses is one of
DEMO-B1 itself: being on the roster shows nobody else's months.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.dues.ledger import record_leave, record_payment, set_standard
from bot.enums import LeaveReason, TrainingAudience, TrainingKind
from bot.rules.dues import month_index, month_key
from bot.rules.kinds import ActivityKind
from handlers.buttons import Button
from handlers.dues_buttons import (
    DuesAllConfirmed,
    DuesAllRemaining,
    DuesChecklist,
    DuesLeave,
    DuesLeaveVoid,
    DuesMember,
    DuesMembers,
    DuesMonth,
    DuesPublish,
    DuesPublishConfirmed,
    DuesSetStandard,
    DuesTick,
    DuesVoid,
    DuesVoidConfirmed,
    LectureHours,
    LectureHoursSet,
    TrainingHours,
    TrainingHoursSet,
)
from storage import queries
from storage import training_queries as tq
from tests.support.activity import NOW, org_today
from tests.support.dues import meeting
from tests.support.forged import A, Area, B, Case, World, no_object

SECRET_TRAINING = "Closed rotation study of the committee"
MEMBER = "张伟"


@dataclass(frozen=True)
class Targets:
    branch: int
    other_branch: int
    member: int
    payment: int
    leave: int
    training: int
    lecture: int
    month: str
    year: int


async def setup(world: World) -> Targets:
    """张伟 of DEMO-B1 with a standard, last month paid and this month on sick leave; a
    rotation training of DEMO; a Party lecture of DEMO-B1."""
    today = org_today()
    this_month = month_index(today.year, today.month)
    async with world.db.begin() as session:
        b1 = await queries.org_by_code(session, B)
        demo = await queries.org_by_code(session, "DEMO")
        assert b1 is not None and demo is not None
        member = await queries.person_in_branch(session, branch=b1, name=MEMBER)
        assert member is not None
        await set_standard(
            session, person=member, from_month=this_month - 3, fen=1250, actor=None, now=NOW
        )
        payment = await record_payment(
            session,
            branch=b1,
            person=member,
            month=this_month - 1,
            latest=this_month,
            actor=None,
            today=today,
        )
        leave = await record_leave(
            session,
            person=member,
            first=this_month,
            last=this_month,
            reason=LeaveReason.SICK,
            actor=None,
        )
        training = await tq.add_training(
            session,
            org=demo,
            kind=TrainingKind.ROTATION,
            audience=TrainingAudience.SECRETARIES,
            title=SECRET_TRAINING,
            place="Room 1",
            starts_at=NOW + dt.timedelta(days=3),
            created_by=None,
        )
        targets = (b1.id, member.id, payment.id, leave.id, training.id)
    lecture = await meeting(world.db, B, today, kinds=(ActivityKind.LECTURE,))
    branch, member_id, payment_id, leave_id, training_id = targets
    return Targets(
        branch,
        world.nodes[A],
        member_id,
        payment_id,
        leave_id,
        training_id,
        lecture,
        month_key(this_month),
        today.year,
    )


def markers(t: Targets) -> list[str]:
    return [MEMBER, "12.50", "First Party Branch", "第一党支部", SECRET_TRAINING]


def _ledger(prefix: str, presses: Callable[[Targets], Sequence[Button]]) -> Case[Targets]:
    """A family naming DEMO-B1's objects, pressed by a member of DEMO-B1 among others."""
    return Case(prefix, presses, member="same branch")


AREA = Area(
    "dues",
    setup,
    markers,
    cases=[
        _ledger("dues:m", lambda t: [DuesMonth(t.branch, t.month)]),
        _ledger("dues:t", lambda t: [DuesChecklist(t.branch, t.month, 0)]),
        # A leader of another branch also names their own branch with B's member.
        _ledger(
            "dues:p",
            lambda t: [
                DuesTick(t.branch, t.month, t.member, 0),
                DuesTick(t.other_branch, t.month, t.member, 0),
            ],
        ),
        _ledger("dues:a", lambda t: [DuesAllRemaining(t.branch, t.month)]),
        _ledger("dues:ay", lambda t: [DuesAllConfirmed(t.branch, t.month)]),
        _ledger("dues:v", lambda t: [DuesVoid(t.payment, 0)]),
        _ledger("dues:vy", lambda t: [DuesVoidConfirmed(t.payment, "mistake", 0)]),
        _ledger("dues:pub", lambda t: [DuesPublish(t.branch, t.year)]),
        _ledger("dues:puby", lambda t: [DuesPublishConfirmed(t.branch, t.year)]),
        _ledger("dues:l", lambda t: [DuesMembers(t.branch, 0)]),
        _ledger("dues:mb", lambda t: [DuesMember(t.member)]),
        _ledger("dues:s", lambda t: [DuesSetStandard(t.member)]),
        _ledger("dues:lv", lambda t: [DuesLeave(t.member, LeaveReason.SICK, 3)]),
        _ledger("dues:lx", lambda t: [DuesLeaveVoid(t.leave)]),
        Case("hrs:t", lambda t: [TrainingHours(t.training)]),
        Case("hrs:ts", lambda t: [TrainingHoursSet(t.training, 16)]),
        _ledger("hrs:a", lambda t: [LectureHours(t.lecture, 0)]),
        _ledger("hrs:as", lambda t: [LectureHoursSet(t.lecture, 8, 0)]),
        no_object(
            "dues:me",
            "the presser's own months (a leader is a member too)",
            harmless="the presser's own ledger",
        ),
        no_object(
            "dues:br",
            "a page of the branches the presser leads",
            harmless="the presser's own branches (a member who leads none is refused)",
        ),
        no_object(
            "dues:r",
            "a month of the collection report of the admin's own subtrees",
            harmless="the admin's own report",
        ),
    ],
)
