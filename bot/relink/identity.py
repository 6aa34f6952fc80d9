"""Who the member of a request is: the register rows offered for a reconnect request, and the
identity steps that link a Telegram account to an existing roster entry.

Register look-ups stay inside the home committee's subtree, so a secretary never sees (or
pulls in) a lost-contact member of another committee. A register row is accepted only when
it is one the request's card offers: the offer is computed again on every press, so a
forged button naming any other row changes nothing. A name typed by an unregistered member
that matches the home roster is only a claim; the deciders confirm it (name, date of joining,
original branch) before the account is linked to that person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Principal
from bot.enums import FINAL_STATES, OrgKind, PersonStatus, RequestState, RequestType
from bot.relink.machine import apply
from bot.relink.matching import Candidate, RegisterRow, match_lost_contact
from bot.relink.model import CompleteStep, IdentityConfirmed, Refusal, RefusalCode
from bot.relink.service import (
    Outcome,
    Problem,
    actor_for,
    first_decision,
    may_see,
    perform,
    snapshot_of,
)
from storage import queries, relink_queries
from storage.models import Account, OrgUnit
from storage.models_relink import LostContactEntry, RelinkRequest

# How many register rows a card offers (and the identity step accepts).
OFFERED = 3


@dataclass(frozen=True, slots=True)
class RegisterMatch:
    """A register row that may be the member, with why."""

    entry: LostContactEntry
    candidate: Candidate


async def register_matches(
    session: AsyncSession, row: RelinkRequest, *, limit: int = OFFERED
) -> list[RegisterMatch]:
    """Register rows of the home committee's subtree that may be the member, best first."""
    committee = await relink_queries.home_committee(session, row.home_branch)
    if committee is None:
        return []
    entries = {
        e.id: e for e in await relink_queries.unlinked_register_entries(session, within=committee)
    }
    rows = [
        RegisterRow(person_id=e.id, name=e.name, branch_code=e.branch_code, join_year=e.join_year)
        for e in entries.values()
    ]
    code = row.home_branch.code if row.home_branch.kind is OrgKind.BRANCH else None
    found = match_lost_contact(row.name, code, row.join_year, rows, limit=limit)
    return [RegisterMatch(entries[c.row.person_id], c) for c in found]


async def confirm_register_identity(
    session: AsyncSession,
    *,
    request_id: int,
    entry_id: int | None,
    account: Account,
    principal: Principal,
    now: dt.datetime,
) -> Outcome:
    """Record the reconnect identity step with the register row the deciders chose (None: the
    member is not in the register); any row the card does not offer is refused."""
    row = await relink_queries.request_by_id(session, request_id, lock=True)
    if row is None or not may_see(principal, account.id, row):
        return Outcome(problem=Problem.NOT_FOUND)
    note = f"register #{entry_id}" if entry_id else "not in register"
    step = CompleteStep(IdentityConfirmed(note))
    # The machine first: someone who may not record the step learns nothing about the row.
    checked = apply(
        await snapshot_of(session, row), step, actor_for(principal, account.id, row), now
    )
    if isinstance(checked, Refusal):
        return Outcome(request=row, refusal=checked)
    if entry_id is not None:
        offered = {match.entry.id for match in await register_matches(session, row)}
        if entry_id not in offered:
            return Outcome(request=row, problem=Problem.NOT_OFFERED)
    outcome = await perform(
        session,
        request_id=request_id,
        action=step,
        account=account,
        principal=principal,
        now=now,
        throttle=None,
    )
    if outcome.ok and outcome.request is not None:
        outcome.request.register_entry_id = entry_id
        with first_decision():
            await session.flush()
    return outcome


def may_confirm_claim(principal: Principal, account_id: int, row: RelinkRequest) -> bool:
    """Whether this reader may settle the request's unverified roster match now (a reconnect
    has its own identity step, against the register)."""
    actor = actor_for(principal, account_id, row)
    return (
        row.type is not RequestType.RECONNECT
        and row.claimed_person_id is not None
        and row.person_id is None
        and row.state not in FINAL_STATES
        and row.requester_account_id != account_id
        and (actor.home_side or actor.admin_home)
    )


async def confirm_claimed_identity(
    session: AsyncSession,
    *,
    request_id: int,
    same_person: bool,
    account: Account,
    principal: Principal,
    now: dt.datetime,
) -> Outcome:
    """The deciders say whether the member is the roster entry their name matched: linked to
    it (their account registered as that person), or the match dropped."""
    row = await relink_queries.request_by_id(session, request_id, lock=True)
    if row is None or not may_see(principal, account.id, row):
        return Outcome(problem=Problem.NOT_FOUND)
    if row.requester_account_id == account.id:
        return Outcome(request=row, refusal=Refusal(RefusalCode.OWN_REQUEST))
    if not may_confirm_claim(principal, account.id, row):
        return Outcome(request=row, refusal=Refusal(RefusalCode.NOT_ALLOWED_FOR_ROLE))
    claimed = row.claimed_person
    assert claimed is not None
    if same_person:
        problem = await _link_claimed(session, row)
        if problem is not None:
            return Outcome(request=row, problem=problem)
    else:
        row.claimed_person_id = None
        row.claimed_person = None
    row.version += 1
    row.updated_at = now
    await queries.audit(
        session,
        action="relink.identity_" + ("confirmed" if same_person else "declined"),
        actor=account,
        target_type="relink_request",
        target_id=row.id,
        org_unit_id=row.home_branch_id,
        details={"person": claimed.id},
    )
    with first_decision():
        await session.flush()
    return Outcome(request=row)


async def _link_claimed(session: AsyncSession, row: RelinkRequest) -> Problem | None:
    """Make the claimed roster entry the request's person and the requester's account's."""
    claimed = row.claimed_person
    assert claimed is not None
    if claimed.branch_id != row.home_branch_id:
        return Problem.CHANGED  # moved off the home roster since the request was filed
    holder = await relink_queries.account_of_person(session, claimed.id)
    requester = row.requester
    if (holder is not None and holder.id != requester.id) or requester.person_id not in (
        None,
        claimed.id,
    ):
        return Problem.PERSON_TAKEN
    row.person_id = claimed.id
    row.person = claimed
    requester.person_id = claimed.id
    if row.type is RequestType.MOBILE and row.state is RequestState.ACTIVE:
        claimed.status = PersonStatus.MOBILE
    return None


def unit_choices(units: Sequence[OrgUnit]) -> list[OrgUnit]:
    """Branches and party groups, in code order (where a re-linked member can be assigned)."""
    kinds = (OrgKind.BRANCH, OrgKind.PARTY_GROUP)
    return sorted((u for u in units if u.kind in kinds), key=lambda u: u.code)
