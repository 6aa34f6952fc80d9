"""Requests of mobile and lost-contact members around the pure machine: storage, scope, effects.

The machine decides; this module loads a request as a snapshot, works out who the actor is
from their principal, applies the action, stores the new snapshot (optimistically: the
version column makes a concurrent decision fail instead of both winning), records the event
in the audit log, applies what the decision means for the roster (a mobile member's status,
a transfer moving the member, a re-linked member back on a roster), and says who must be told.
Sending the messages is the caller's job, after the transaction commits.

People are identified to the machine by account id: a lost-contact member has no roster entry
until they are re-linked, but always has the Telegram account they wrote from.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.access import Principal
from bot.enums import OrgKind, PersonStatus, ReconnectStep, RequestState, RequestType
from bot.relink import (
    Action,
    Actor,
    AssignedTo,
    Audience,
    Candidate,
    DuesSettled,
    EducationTalkHeld,
    Event,
    EventKind,
    ExpireLetter,
    IdentityConfirmed,
    Letter,
    Refusal,
    RefusalCode,
    RegisterRow,
    RequestSnapshot,
    StepDetail,
    StepRecord,
    SystemFlagCleared,
    Transition,
    apply,
    match_lost_contact,
    submit,
)
from storage import queries, relink_queries
from storage.models import Account, OrgUnit, Person
from storage.models_relink import LostContactEntry, RelinkLetter, RelinkRequest, RelinkStep

# Events that only concern the people involved; every other one is an administrative decision.
AUDIT_PREFIX = "relink."


class Problem(enum.StrEnum):
    """Why the service did not even ask the machine."""

    NOT_FOUND = "not_found"  # no such request, or the actor may not see it
    ALREADY_OPEN = "already_open"  # the member has an open request already
    CHANGED = "changed"  # someone else decided first


@dataclass(frozen=True, slots=True)
class NewRequest:
    """What a member told the bot in /relink."""

    type: RequestType
    name: str
    home_id: int
    receiving_id: int | None
    join_year: int | None
    city: str
    employer: str | None = None
    phone: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to tell about an event, and in which capacity."""

    account: Account
    audience: Audience | None  # None: an admin above the branches (pocket members)


@dataclass(slots=True)
class Outcome:
    """The result of submitting or acting on a request."""

    request: RelinkRequest | None = None
    event: Event | None = None
    refusal: Refusal | None = None
    problem: Problem | None = None
    recipients: list[Recipient] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the request moved."""
        return self.event is not None


# ---- snapshots and actors ------------------------------------------------------------------


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


# ---- submitting and acting ----------------------------------------------------------------


async def submit_request(
    session: AsyncSession, *, account: Account, new: NewRequest, now: dt.datetime
) -> Outcome:
    """File a member's request and say who reviews it."""
    if await relink_queries.open_request_of(session, account.id) is not None:
        return Outcome(problem=Problem.ALREADY_OPEN)
    home = await session.get(OrgUnit, new.home_id)
    receiving = await session.get(OrgUnit, new.receiving_id) if new.receiving_id else None
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
    person = await session.get(Person, account.person_id) if account.person_id else None
    if person is None and home.kind is OrgKind.BRANCH:
        # Someone on the roster who never registered: the secretary sees who it probably is.
        person = await queries.person_in_branch(session, branch=home, name=new.name)
    row = RelinkRequest(
        type=new.type,
        state=checked.snapshot.state,
        version=checked.snapshot.version,
        requester_account_id=account.id,
        person_id=person.id if person else None,
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
    loaded = await _reload(session, row.id)
    assert loaded is not None
    row = loaded
    event = Event(
        row.id,
        checked.event.kind,
        account.id,
        checked.event.actor_role,
        None,
        row.state,
        now,
        checked.event.notify,
        dict(checked.event.details),
    )
    await _audit(session, row, event, account)
    return Outcome(
        request=row, event=event, recipients=await recipients(session, row, event.notify)
    )


async def perform(
    session: AsyncSession,
    *,
    request_id: int,
    action: Action,
    account: Account | None,
    principal: Principal,
    now: dt.datetime,
    system: bool = False,
) -> Outcome:
    """Apply one action to a stored request, with its effects, audit and recipients."""
    row = await _reload(session, request_id, lock=True)
    account_id = account.id if account else 0
    if row is None or not (system or may_see(principal, account_id, row)):
        return Outcome(problem=Problem.NOT_FOUND)
    snapshot = await snapshot_of(session, row)
    actor = Actor.system_job() if system else actor_for(principal, account_id, row)
    result = apply(snapshot, action, actor, now)
    if isinstance(result, Refusal):
        return Outcome(request=row, refusal=result)
    await _store(session, row, result)
    await _effects(session, row, result, now)
    await _audit(session, row, result.event, account)
    audiences = set(result.event.notify)
    found = await recipients(session, row, frozenset(audiences), skip=account_id)
    if result.event.kind is EventKind.LETTER_EXPIRED:
        found += await _admins_above(session, row, skip={r.account.id for r in found})
    return Outcome(request=row, event=result.event, recipients=found)


async def _reload(
    session: AsyncSession, request_id: int, *, lock: bool = False
) -> RelinkRequest | None:
    query = (
        select(RelinkRequest)
        .where(RelinkRequest.id == request_id)
        .options(
            selectinload(RelinkRequest.home_branch),
            selectinload(RelinkRequest.receiving_branch),
            selectinload(RelinkRequest.requester),
            selectinload(RelinkRequest.person),
        )
        .execution_options(populate_existing=True)
    )
    if lock:
        # PostgreSQL serialises deciders here; the version check catches the rest.
        query = query.with_for_update(of=RelinkRequest)
    return await session.scalar(query)


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
        details = {k: v for k, v in event.details.items() if k != "step"}
        stored = await session.scalar(
            select(RelinkStep).where(
                RelinkStep.request_id == row.id, RelinkStep.step == record.detail.step
            )
        )
        if stored is None:
            stored = RelinkStep(request_id=row.id, step=record.detail.step)
            session.add(stored)
        stored.details = details
        stored.recorded_by = record.recorded_by
        stored.recorded_at = record.recorded_at
    await session.flush()


async def _effects(
    session: AsyncSession, row: RelinkRequest, transition: Transition, now: dt.datetime
) -> None:
    """What a decision means for the roster."""
    kind = transition.event.kind
    person = row.person
    if kind is EventKind.ACCEPTED and row.type is RequestType.MOBILE:
        row.last_report_at = now
        if person is not None:
            person.status = PersonStatus.MOBILE
    elif kind is EventKind.COMPLETED and row.type is RequestType.MOBILE:
        row.completed_at = now
        if person is not None and person.status is PersonStatus.MOBILE:
            person.status = PersonStatus.REGULAR
    elif kind is EventKind.TRANSFER_ACCEPTED:
        row.completed_at = now
        assert row.receiving_branch is not None
        await _place(session, row, row.receiving_branch)
    elif kind is EventKind.COMPLETED and row.type is RequestType.RECONNECT:
        row.completed_at = now
        await _finish_reconnect(session, row, now)
    elif kind is EventKind.LETTER_EXPIRED:
        row.pocket_flagged_at = now
    await session.flush()


async def _place(session: AsyncSession, row: RelinkRequest, branch: OrgUnit) -> Person:
    """Put the member on the branch roster as a regular member, creating their entry if needed."""
    person = row.person
    if person is None and row.requester.person_id is not None:
        person = await session.get(Person, row.requester.person_id)
    if person is None:
        person = Person(name=row.name, branch_id=branch.id, phone=row.phone)
        session.add(person)
        await session.flush()
    person.branch_id = branch.id
    person.status = PersonStatus.REGULAR
    row.person_id = person.id
    requester = row.requester
    if requester.person_id is None:
        holder = await session.scalar(select(Account).where(Account.person_id == person.id))
        if holder is None:
            # The member's own Telegram account is now registered as that roster entry.
            requester.person_id = person.id
    await session.flush()
    return person


async def _finish_reconnect(session: AsyncSession, row: RelinkRequest, now: dt.datetime) -> None:
    steps = {s.step: s for s in await relink_queries.steps_of(session, row.id)}
    unit_code = steps[ReconnectStep.ASSIGNMENT].details.get("unit", "")
    unit = await queries.org_by_code(session, unit_code)
    branch = unit
    if unit is not None and unit.kind is OrgKind.PARTY_GROUP and unit.parent_id is not None:
        branch = await session.get(OrgUnit, unit.parent_id)
    entry = (
        await session.get(LostContactEntry, row.register_entry_id)
        if row.register_entry_id
        else None
    )
    if row.person is None and entry is not None and entry.person_id is not None:
        row.person = await session.get(Person, entry.person_id)
    if branch is None or branch.kind is not OrgKind.BRANCH:
        branch = row.home_branch if row.home_branch.kind is OrgKind.BRANCH else None
    if branch is not None:
        person = await _place(session, row, branch)
        if entry is not None:
            entry.person_id = person.id
    if entry is not None:
        entry.relinked_at = now


async def _audit(
    session: AsyncSession, row: RelinkRequest, event: Event, account: Account | None
) -> None:
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
    row = await _reload(session, request_id, lock=True)
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


# ---- who hears about it -------------------------------------------------------------------


async def recipients(
    session: AsyncSession,
    row: RelinkRequest,
    audiences: Iterable[Audience],
    *,
    skip: int | None = None,
) -> list[Recipient]:
    """The accounts to tell, each once; a side without a secretary falls back to its admins."""
    found: dict[int, Recipient] = {}
    for audience in sorted(audiences):
        if audience is Audience.REQUESTER:
            accounts = [row.requester]
        elif audience is Audience.HOME_SIDE:
            accounts = await side_accounts(session, row.home_branch, row.requester_account_id)
        elif row.receiving_branch is not None:
            accounts = await side_accounts(session, row.receiving_branch, row.requester_account_id)
        else:
            accounts = []
        for account in accounts:
            if account.id != skip and account.id not in found:
                found[account.id] = Recipient(account, audience)
    return list(found.values())


async def side_accounts(
    session: AsyncSession, node: OrgUnit, requester_id: int | None = None
) -> list[Account]:
    """Who decides for a node: its secretaries, or else the admins over it.

    The requester never decides their own request, so a secretary filing one is left out,
    and when they are the branch's only leader the admins decide.
    """
    if node.kind is OrgKind.BRANCH:
        leaders = [
            a
            for a in await relink_queries.leader_accounts(session, node.id)
            if a.id != requester_id
        ]
        if leaders:
            return leaders
    return [
        a for a in await relink_queries.admin_accounts_over(session, node) if a.id != requester_id
    ]


async def _admins_above(
    session: AsyncSession, row: RelinkRequest, *, skip: set[int]
) -> list[Recipient]:
    nodes = [row.home_branch] + ([row.receiving_branch] if row.receiving_branch else [])
    found: dict[int, Recipient] = {}
    for node in nodes:
        for account in await relink_queries.admin_accounts_over(session, node):
            if account.id not in skip and account.id not in found:
                found[account.id] = Recipient(account, None)
    return list(found.values())


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
            system=True,
        )
        if outcome.ok:
            outcomes.append(outcome)
    return outcomes


# ---- the lost-contact register -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterMatch:
    """A register row that may be the member, with why."""

    entry: LostContactEntry
    candidate: Candidate


async def register_matches(
    session: AsyncSession, row: RelinkRequest, *, limit: int = 5
) -> list[RegisterMatch]:
    """Register rows that may be the member of a reconnect request, best first."""
    entries = {e.id: e for e in await relink_queries.unlinked_register_entries(session)}
    rows = [
        RegisterRow(person_id=e.id, name=e.name, branch_code=e.branch_code, join_year=e.join_year)
        for e in entries.values()
    ]
    code = row.home_branch.code if row.home_branch.kind is OrgKind.BRANCH else None
    found = match_lost_contact(row.name, code, row.join_year, rows, limit=limit)
    return [RegisterMatch(entries[c.row.person_id], c) for c in found]


async def confirm_register_entry(
    session: AsyncSession, *, row: RelinkRequest, entry_id: int | None
) -> LostContactEntry | None:
    """Link the register row the secretary confirmed (None: the member isn't in the register)."""
    if entry_id is None:
        row.register_entry_id = None
        return None
    entry = await session.get(LostContactEntry, entry_id)
    if entry is None or entry.relinked_at is not None:
        return None
    row.register_entry_id = entry.id
    return entry


# ---- counting ------------------------------------------------------------------------------


def year_bounds(now: dt.datetime, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The calendar year of `now` in the organisation's time zone, as UTC [start, end)."""
    zone = ZoneInfo(time_zone)
    year = now.astimezone(zone).year
    start = dt.datetime(year, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    return start, end


async def relinked_this_year(
    session: AsyncSession, now: dt.datetime, time_zone: str
) -> list[RelinkRequest]:
    """Reconnect requests completed this calendar year (every subtree: filter by scope)."""
    start, end = year_bounds(now, time_zone)
    return await relink_queries.relinked_between(session, start, end)


# ---- masking -------------------------------------------------------------------------------


def mask_phone(phone: str | None) -> str:
    """138****0000: enough to recognise a number, not to call it."""
    if not phone:
        return ""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]  # +86: the mainland number is what people recognise
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) < 8:
        return "*" * (len(digits) - 2) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def unit_choices(units: Sequence[OrgUnit]) -> list[OrgUnit]:
    """Branches and party groups, in code order (where a re-linked member can be assigned)."""
    kinds = (OrgKind.BRANCH, OrgKind.PARTY_GROUP)
    return sorted((u for u in units if u.kind in kinds), key=lambda u: u.code)
