"""Requests of mobile and lost-contact members around the pure machine: storage, scope, audit.

The machine decides; this module loads a request as a snapshot, works out who the actor is
from their principal, applies the action, stores the new snapshot (optimistically: the
version column makes a concurrent decision fail instead of both winning), records the event
in the audit log, applies what the decision means for the roster (bot.relink.effects), and
says who must be told (bot.relink.audience). Sending the messages is the caller's job, after
the transaction commits (bot.relink.notifier).

People are identified to the machine by account id: a lost-contact member has no roster entry
until they are re-linked, but always has the Telegram account they wrote from. Filing and
withdrawing requests is limited per account (`Throttle`): each one reaches a branch's
secretaries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from bot.access import Principal
from bot.config import Settings
from bot.enums import OrgKind, ReconnectStep, RequestState, RequestType
from bot.relink.audience import Recipient, admins_above, recipients
from bot.relink.effects import apply_effects
from bot.relink.machine import apply, submit
from bot.relink.model import (
    Action,
    Actor,
    AssignedTo,
    Audience,
    DuesSettled,
    EducationTalkHeld,
    Event,
    EventKind,
    ExpireLetter,
    IdentityConfirmed,
    Letter,
    Refusal,
    RefusalCode,
    RequestSnapshot,
    StepDetail,
    StepRecord,
    SystemFlagCleared,
    Transition,
    Withdraw,
)
from storage import queries, relink_queries
from storage.models import Account, Person
from storage.models_relink import RelinkLetter, RelinkRequest, RelinkStep

AUDIT_PREFIX = "relink."


class Problem(enum.StrEnum):
    """Why the service did not even ask the machine (or stopped after it)."""

    NOT_FOUND = "not_found"  # no such request, or the actor may not see it
    ALREADY_OPEN = "already_open"  # the member has an open request already
    CHANGED = "changed"  # someone else decided first
    THROTTLED = "throttled"  # too many requests filed or withdrawn lately
    NOT_OFFERED = "not_offered"  # a register row the request's card does not offer
    PERSON_TAKEN = "person_taken"  # the roster entry is another Telegram account's


class Changed(Exception):
    """Someone else decided on the request first (its version moved): the caller's
    transaction must be rolled back, and nothing of this decision is kept."""


@contextlib.contextmanager
def first_decision() -> Iterator[None]:
    """Turn the version check's failure into `Changed`."""
    try:
        yield
    except StaleDataError as exc:
        raise Changed from exc


@dataclass(frozen=True, slots=True)
class Throttle:
    """How many requests one account may file or withdraw within a window."""

    limit: int
    window: dt.timedelta

    @classmethod
    def of(cls, settings: Settings) -> Throttle:
        """The configured limit."""
        return cls(
            settings.relink_request_limit,
            dt.timedelta(hours=settings.relink_request_window_hours),
        )


@dataclass(frozen=True, slots=True)
class NewRequest:
    """What a member told the bot in /relink."""

    type: RequestType
    name: str
    home_id: int
    receiving_id: int | None
    join_year: int | None
    city: str | None = None
    employer: str | None = None
    phone: str | None = None
    note: str = ""


@dataclass(slots=True)
class Outcome:
    """The result of submitting or acting on a request."""

    request: RelinkRequest | None = None
    event: Event | None = None
    refusal: Refusal | None = None
    problem: Problem | None = None
    recipients: list[Recipient] = field(default_factory=list)
    retry_after: dt.timedelta | None = None  # THROTTLED: when the next one is accepted

    @property
    def ok(self) -> bool:
        """Whether the request moved."""
        return self.event is not None


# ---- snapshots and actors ------------------------------------------------------------------


async def last_answer(session: AsyncSession, row: RelinkRequest) -> dict[str, str] | None:
    """The member's latest answer to a branch's question ("question", "answer"), if any."""
    return await relink_queries.last_audit_details(
        session, row.id, AUDIT_PREFIX + EventKind.ANSWERED.value
    )


async def snapshot_of(session: AsyncSession, row: RelinkRequest) -> RequestSnapshot:
    """The machine's view of a stored request."""
    letter_row = await relink_queries.current_letter(session, row.id)
    letter = (
        Letter(letter_row.number, letter_row.issued_at, letter_row.valid_days, letter_row.issued_by)
        if letter_row is not None
        else None
    )
    steps = tuple(
        StepRecord(step_detail(s.step, s.details), s.recorded_by, s.recorded_at)
        for s in await relink_queries.steps_of(session, row.id)
    )
    return RequestSnapshot(
        id=row.id,
        type=row.type,
        state=row.state,
        requester_id=row.requester_account_id,
        home_branch=row.home_branch.code,
        receiving_branch=row.receiving_branch.code if row.receiving_branch else None,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
        version=row.version,
        note=row.note,
        question=row.question,
        reason=row.reason,
        letter=letter,
        letters_issued=row.letters_issued,
        steps=steps,
        accepted_by=row.accepted_by,
        transfer_accepted_by=row.transfer_accepted_by,
    )


def step_detail(step: ReconnectStep, details: dict[str, str]) -> StepDetail:
    """A stored step back as the machine's detail."""
    if step is ReconnectStep.IDENTITY:
        return IdentityConfirmed(details.get("note", ""))
    if step is ReconnectStep.EDUCATION_TALK:
        return EducationTalkHeld(dt.date.fromisoformat(details["held_on"]), details["held_by"])
    if step is ReconnectStep.DUES:
        return DuesSettled(int(details["months"]))
    if step is ReconnectStep.ASSIGNMENT:
        return AssignedTo(details["unit"])
    return SystemFlagCleared(details.get("note", ""))


def actor_for(principal: Principal, account_id: int, row: RelinkRequest) -> Actor:
    """The machine's facts about someone acting on a request."""
    home, receiving = row.home_branch, row.receiving_branch
    return Actor(
        person_id=account_id,
        home_side=principal.leads_branch(home.id),
        receiving_side=receiving is not None and principal.leads_branch(receiving.id),
        admin_home=principal.is_admin_of(home.path),
        admin_receiving=receiving is not None and principal.is_admin_of(receiving.path),
    )


def may_see(principal: Principal, account_id: int, row: RelinkRequest) -> bool:
    """Only the member, the two branches involved and the admins above them see a request."""
    if row.requester_account_id == account_id:
        return True
    actor = actor_for(principal, account_id, row)
    return actor.home_side or actor.receiving_side or actor.admin_home or actor.admin_receiving


async def visible_request(
    session: AsyncSession, request_id: int, principal: Principal, account_id: int
) -> RelinkRequest | None:
    """The request if the account may see it (None also when there is no such request, so a
    forged id learns nothing)."""
    row = await relink_queries.request_by_id(session, request_id)
    if row is None or not may_see(principal, account_id, row):
        return None
    return row


async def retry_after(
    session: AsyncSession, account_id: int, now: dt.datetime, throttle: Throttle
) -> dt.timedelta | None:
    """How long the account must wait before filing or withdrawing again (None: it may now)."""
    times = await relink_queries.activity_times(session, account_id, now - throttle.window)
    if len(times) < throttle.limit:
        return None
    # The oldest of the last `limit` actions must leave the window first.
    return max(dt.timedelta(0), times[-throttle.limit] + throttle.window - now)


# ---- submitting and acting ----------------------------------------------------------------


async def submit_request(
    session: AsyncSession,
    *,
    account: Account,
    new: NewRequest,
    now: dt.datetime,
    throttle: Throttle | None,
) -> Outcome:
    """File a member's request and say who reviews it (throttle None: not limited)."""
    if await relink_queries.open_request_of(session, account.id) is not None:
        return Outcome(problem=Problem.ALREADY_OPEN)
    wait = await retry_after(session, account.id, now, throttle) if throttle else None
    if wait is not None:
        return Outcome(problem=Problem.THROTTLED, retry_after=wait)
    home = await queries.org_by_id(session, new.home_id)
    receiving = await queries.org_by_id(session, new.receiving_id) if new.receiving_id else None
    if home is None or (new.receiving_id is not None and receiving is None):
        return Outcome(problem=Problem.NOT_FOUND)
    checked = submit(
        request_id=0,
        request_type=new.type,
        requester_id=account.id,
        home_branch=home.code,
        receiving_branch=receiving.code if receiving else None,
        now=now,
        note=new.note,
    )
    if isinstance(checked, Refusal):
        return Outcome(refusal=checked)
    person = (
        await relink_queries.person_by_id(session, account.person_id)
        if account.person_id is not None
        else None
    )
    claimed: Person | None = None
    if person is None and home.kind is OrgKind.BRANCH:
        # Someone on the roster who never registered, perhaps: shown to the deciders as an
        # unverified match until they confirm who it is.
        claimed = await queries.person_in_branch(session, branch=home, name=new.name)
    row = RelinkRequest(
        type=new.type,
        state=checked.snapshot.state,
        version=checked.snapshot.version,
        requester_account_id=account.id,
        person_id=person.id if person else None,
        claimed_person_id=claimed.id if claimed else None,
        home_branch_id=home.id,
        receiving_branch_id=receiving.id if receiving else None,
        name=new.name,
        join_year=new.join_year,
        city=new.city,
        employer=new.employer,
        phone=new.phone,
        note=checked.snapshot.note,
        letters_issued=0,
        submitted_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    loaded = await relink_queries.request_by_id(session, row.id)
    assert loaded is not None
    event = Event(
        loaded.id,
        checked.event.kind,
        account.id,
        checked.event.actor_role,
        None,
        loaded.state,
        now,
        checked.event.notify,
        dict(checked.event.details),
    )
    await audit_event(session, loaded, event, account)
    return Outcome(
        request=loaded, event=event, recipients=await recipients(session, loaded, event.notify)
    )


async def perform(
    session: AsyncSession,
    *,
    request_id: int,
    action: Action,
    account: Account | None,
    principal: Principal,
    now: dt.datetime,
    throttle: Throttle | None,
    system: bool = False,
) -> Outcome:
    """Apply one action to a stored request, with its effects, audit and recipients (throttle
    limits withdrawing; None: not limited). Raises `Changed` when another decision won."""
    row = await relink_queries.request_by_id(session, request_id, lock=True)
    account_id = account.id if account else 0
    if row is None or not (system or may_see(principal, account_id, row)):
        return Outcome(problem=Problem.NOT_FOUND)
    snapshot = await snapshot_of(session, row)
    actor = Actor.system_job() if system else actor_for(principal, account_id, row)
    result = apply(snapshot, action, actor, now)
    if isinstance(result, Refusal):
        return Outcome(request=row, refusal=result)
    if isinstance(action, Withdraw) and throttle is not None:
        wait = await retry_after(session, account_id, now, throttle)
        if wait is not None:
            return Outcome(request=row, problem=Problem.THROTTLED, retry_after=wait)
    with first_decision():
        await _store(session, row, result)
        await apply_effects(session, row, result.event.kind, now, account)
    await audit_event(session, row, result.event, account)
    found = await recipients(session, row, result.event.notify, skip=account_id)
    if result.event.kind is EventKind.LETTER_EXPIRED:
        found += await admins_above(session, row, skip={r.account.id for r in found})
    return Outcome(request=row, event=result.event, recipients=found)


async def _store(session: AsyncSession, row: RelinkRequest, transition: Transition) -> None:
    snap, event = transition.snapshot, transition.event
    row.state = snap.state
    row.version = snap.version
    row.question = snap.question
    row.reason = snap.reason
    row.accepted_by = snap.accepted_by
    row.transfer_accepted_by = snap.transfer_accepted_by
    row.letters_issued = snap.letters_issued
    row.updated_at = snap.updated_at
    if event.kind is EventKind.LETTER_ISSUED and snap.letter is not None:
        letter = snap.letter
        session.add(
            RelinkLetter(
                request_id=row.id,
                number=letter.number,
                issued_at=letter.issued_at,
                valid_days=letter.valid_days,
                expires_at=letter.expires_at,
                issued_by=letter.issued_by,
            )
        )
        row.pocket_flagged_at = None
    if event.kind is EventKind.STEP_RECORDED:
        record = snap.steps[-1]
        stored = await relink_queries.step_record(session, row.id, record.detail.step)
        if stored is None:
            stored = RelinkStep(request_id=row.id, step=record.detail.step)
            session.add(stored)
        stored.details = {k: v for k, v in event.details.items() if k != "step"}
        stored.recorded_by = record.recorded_by
        stored.recorded_at = record.recorded_at
    await session.flush()


async def audit_event(
    session: AsyncSession, row: RelinkRequest, event: Event, account: Account | None
) -> None:
    """Record a transition in the audit log."""
    await queries.audit(
        session,
        action=AUDIT_PREFIX + event.kind.value,
        actor=account,
        actor_label="system" if account is None else "bot",
        target_type="relink_request",
        target_id=row.id,
        org_unit_id=row.home_branch_id,
        details={
            "type": row.type.value,
            "from": event.from_state.value if event.from_state else None,
            "to": event.to_state.value,
            "as": event.actor_role.value,
            **event.details,
        },
    )


# ---- the mobile member's yearly report and changes of place -------------------------------


async def record_mobile_report(
    session: AsyncSession,
    *,
    request_id: int,
    account: Account,
    place: str,
    now: dt.datetime,
) -> Outcome:
    """A mobile member reports to the home branch (yearly, or because their place changed)."""
    row = await relink_queries.request_by_id(session, request_id, lock=True)
    if row is None or row.requester_account_id != account.id:
        return Outcome(problem=Problem.NOT_FOUND)
    if row.type is not RequestType.MOBILE or row.state is not RequestState.ACTIVE:
        return Outcome(
            request=row, refusal=Refusal(RefusalCode.NOT_ALLOWED_IN_STATE, "not an active mobile")
        )
    changed = place != row.city
    row.city = place
    row.last_report_at = now
    await queries.audit(
        session,
        action=AUDIT_PREFIX + "mobile_report",
        actor=account,
        target_type="relink_request",
        target_id=row.id,
        org_unit_id=row.home_branch_id,
        details={"place_changed": changed},
    )
    audiences = frozenset({Audience.HOME_SIDE, Audience.RECEIVING_SIDE})
    found = await recipients(session, row, audiences, skip=account.id)
    return Outcome(request=row, recipients=found)


# ---- pocket members ------------------------------------------------------------------------


async def flag_pocket_members(session: AsyncSession, *, now: dt.datetime) -> list[Outcome]:
    """Flag every transfer letter past its validity and not accepted; say who to tell."""
    outcomes = []
    for request_id in await relink_queries.expired_letter_request_ids(session, now):
        outcome = await perform(
            session,
            request_id=request_id,
            action=ExpireLetter(),
            account=None,
            principal=Principal(),
            now=now,
            throttle=None,
            system=True,
        )
        if outcome.ok:
            outcomes.append(outcome)
    return outcomes
