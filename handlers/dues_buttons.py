"""The buttons of /dues (`dues:`), one family per verb, and of class hours (`hrs:`).

Whatever parses is only well formed: every handler loads the branch, member, payment, leave or
training a button names and checks it against the presser on every press (a branch's ledger
is for the leaders of that branch only).
"""

from __future__ import annotations

from typing import Annotated, Literal

from bot.enums import LeaveReason
from handlers.buttons import Button, Token

MonthKey = Annotated[str, Token(r"\d{4}-\d{2}", "2026-11")]
# The reasons a leader may give for voiding a payment ("replaced" is for standards).
PaymentVoidReason = Literal["mistake", "not_paid", "duplicate"]


# ---- a branch's collection --------------------------------------------------------------------


class DuesMonth(Button, prefix="dues:m"):
    """A branch's collection for a month."""

    branch_id: int
    month: MonthKey


class DuesBranches(Button, prefix="dues:br"):
    """A page of the branches the presser leads (a leader of several picks one)."""

    page: int


class DuesChecklist(Button, prefix="dues:t"):
    """A page of the branch's members, ticked as paid for a month or not."""

    branch_id: int
    month: MonthKey
    page: int


class DuesTick(Button, prefix="dues:p"):
    """Record one member's month as paid at their standard."""

    branch_id: int
    month: MonthKey
    person_id: int
    page: int


class DuesAllRemaining(Button, prefix="dues:a"):
    """Ask before recording the month as paid for everyone remaining."""

    branch_id: int
    month: MonthKey


class DuesAllConfirmed(Button, prefix="dues:ay"):
    """Record the month as paid for everyone remaining."""

    branch_id: int
    month: MonthKey


class DuesVoid(Button, prefix="dues:v"):
    """Ask why a payment is to be voided."""

    payment_id: int
    page: int


class DuesVoidConfirmed(Button, prefix="dues:vy"):
    """Void a payment with the reason (it stays, marked void)."""

    payment_id: int
    reason: PaymentVoidReason
    page: int


class DuesPublish(Button, prefix="dues:pub"):
    """Ask before publishing the branch's yearly account to its members."""

    branch_id: int
    year: int


class DuesPublishConfirmed(Button, prefix="dues:puby"):
    """Publish the yearly account (once a year)."""

    branch_id: int
    year: int


# ---- members --------------------------------------------------------------------------------


class DuesMembers(Button, prefix="dues:l"):
    """A page of the branch's members with their standards."""

    branch_id: int
    page: int


class DuesMember(Button, prefix="dues:mb"):
    """One member's ledger, for the branch's leaders."""

    person_id: int


class DuesSetStandard(Button, prefix="dues:s"):
    """Type a member's monthly standard (a conversation)."""

    person_id: int


class DuesLeave(Button, prefix="dues:lv"):
    """Record a member as on leave for some months from this one."""

    person_id: int
    reason: LeaveReason
    months: int


class DuesLeaveVoid(Button, prefix="dues:lx"):
    """Void a leave record entered by mistake."""

    leave_id: int


class DuesMine(Button, prefix="dues:me"):
    """The presser's own dues (a leader is a member too)."""


# ---- the admins' report ---------------------------------------------------------------------


class DuesReportMonth(Button, prefix="dues:r"):
    """The collection report of the admin's subtrees for a month."""

    month: MonthKey


# ---- class hours ----------------------------------------------------------------------------


class TrainingHours(Button, prefix="hrs:t"):
    """Offer the class hours a training may carry."""

    training_id: int


class TrainingHoursSet(Button, prefix="hrs:ts"):
    """Set a training's class hours."""

    training_id: int
    hours: int


class LectureHours(Button, prefix="hrs:a"):
    """Offer the class hours a Party lecture may carry."""

    activity_id: int
    page: int


class LectureHoursSet(Button, prefix="hrs:as"):
    """Set a Party lecture's class hours."""

    activity_id: int
    hours: int
    page: int
