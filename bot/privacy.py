"""Privacy by default: consent before anything is stored, a person's data on request, and
deletion on request (confirmed by an admin of their branch).

Nothing is stored about someone who writes to the bot until they agree to the privacy notice
(then their account is created, with the date). `/mydata` gives a person everything stored
about them; `/forgetme` files a deletion request: confirmed, the person's name and contacts
are erased everywhere, while the records Party rules require (attendance, requests, surveys
taken part in) stay, naming only an anonymous placeholder.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import export
from bot.enums import DeletionState
from bot.revocation import remove_from_branch
from storage import access_queries, meeting_queries, privacy_queries, queries
from storage.models import Account, DeletionRequest, Person


def erased_name(person_id: int) -> str:
    """What stands for an erased person's name in the records that are kept."""
    return f"#{person_id}"


async def consent(
    session: AsyncSession,
    *,
    telegram_id: int,
    language_code: str | None,
    username: str | None,
    now: dt.datetime,
) -> Account:
    """Record that the sender agreed to the privacy notice: their account starts here."""
    account = await queries.account_by_telegram_id(session, telegram_id)
    if account is None:
        account = await queries.create_account(
            session,
            telegram_id=telegram_id,
            language_code=language_code,
            username=username,
            consented_at=now,
        )
    elif account.consented_at is None:
        account.consented_at = now
    # The account's consented_at is the record (the audit log is for administrative acts).
    return account


async def personal_data(
    session: AsyncSession, account: Account, now: dt.datetime
) -> dict[str, Any]:
    """Everything stored about the account's holder, as one document (audited)."""
    document = await export.personal_data(session, account, now)
    await queries.audit(
        session,
        action="privacy.export",
        actor=account,
        target_type="account",
        target_id=account.id,
    )
    return document


class DeletionProblem(enum.Enum):
    """Why a deletion request can't be filed or decided."""

    NO_DECIDER = enum.auto()  # the person is on no roster and holds no role
    DECIDED = enum.auto()  # someone decided it already


@dataclass(frozen=True, slots=True)
class Filed:
    """A deletion request, and whether it was filed just now (False: it was open already)."""

    request: DeletionRequest
    new: bool


async def request_deletion(
    session: AsyncSession, *, account: Account, person: Person, now: dt.datetime
) -> Filed | DeletionProblem:
    """File the person's deletion request with the admins of their branch (once)."""
    existing = await access_queries.open_deletion_request_of(session, person.id)
    if existing is not None:
        return Filed(existing, new=False)
    org_id = person.branch_id
    if org_id is None:
        roles = await queries.roles_of(session, person.id)
        org_id = roles[0].org_unit_id if roles else None
    if org_id is None:
        return DeletionProblem.NO_DECIDER
    request = DeletionRequest(
        person_id=person.id, org_unit_id=org_id, state=DeletionState.OPEN, requested_at=now
    )
    session.add(request)
    await session.flush()
    await queries.audit(
        session,
        action="privacy.deletion_request",
        actor=account,
        target_type="person",
        target_id=person.id,
        org_unit_id=org_id,
        details={"request_id": request.id},
    )
    return Filed(request, new=True)


async def decide_deletion(
    session: AsyncSession,
    *,
    request: DeletionRequest,
    confirm: bool,
    actor: Account | None,
    now: dt.datetime,
) -> DeletionProblem | None:
    """Confirm (erase the person) or decline an open deletion request (audited)."""
    if request.state is not DeletionState.OPEN:
        return DeletionProblem.DECIDED
    request.state = DeletionState.DONE if confirm else DeletionState.DECLINED
    request.decided_at, request.decided_by = now, actor.id if actor else None
    await queries.audit(
        session,
        action="privacy.deletion_done" if confirm else "privacy.deletion_declined",
        actor=actor,
        actor_label="cli",
        target_type="person",
        target_id=request.person_id,
        org_unit_id=request.org_unit_id,
        details={"request_id": request.id},
    )
    if confirm:
        person = await access_queries.person_by_id(session, request.person_id)
        assert person is not None  # FK guarantees it
        await erase_person(session, person=person, actor=actor, now=now)
    return None


async def erase_person(
    session: AsyncSession, *, person: Person, actor: Account | None, now: dt.datetime
) -> None:
    """Erase a person's name and contacts everywhere, end their roles, roster place and account
    link; keep the records Party rules require, naming only a placeholder."""
    placeholder = erased_name(person.id)
    branch_ids = [b for b in (person.branch_id, person.left_branch_id) if b is not None]
    await remove_from_branch(session, person=person, actor=actor, now=now)
    for assignment in await queries.roles_of(session, person.id):
        await queries.revoke_role(session, assignment)
    account = await access_queries.account_of_person(session, person.id)
    await privacy_queries.erase_relink_details(
        session,
        person_id=person.id,
        account_id=account.id if account else None,
        placeholder=placeholder,
    )
    await privacy_queries.erase_from_absences(
        session, person_id=person.id, branch_ids=branch_ids, placeholder=placeholder
    )
    await meeting_queries.erase_notes(session, person.id)
    await privacy_queries.revoke_invites_naming(session, person_id=person.id, now=now)
    person.name, person.phone, person.joined_on = placeholder, None, None
    if account is not None:
        await queries.end_conversations_of(session, account.telegram_id)
        await privacy_queries.forget_account_traces(session, account_id=account.id)
        # The row stays (notices and requests point at it) but no longer names anyone:
        # Telegram's ids are positive, so this one can never be matched again.
        account.telegram_id = -account.id
        account.person_id = None
        account.person = None
        account.username = account.telegram_language = account.locale = None
        account.time_zone = account.consented_at = None
        account.unreachable_since = now
    await queries.audit(
        session,
        action="privacy.erase",
        actor=actor,
        actor_label="cli",
        target_type="person",
        target_id=person.id,
    )
