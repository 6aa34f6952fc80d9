"""Taking access away: a role, the link of a Telegram account to a person, a place on a roster.

Each change is audited in the same transaction and counts from the person's very next update,
because the sender's roles are read from the database on every update (bot.accounts); the
reminders not yet sent to them are dropped (the planner plans again what still applies). Who may
do what is decided by the caller with `Principal.may_revoke` / `may_manage` /
`may_remove_from_branch` (the CLI acts for the organisation department, unrestricted).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import PersonScope
from bot.enums import Role
from storage import access_queries, planner_queries, privacy_queries, queries
from storage.models import Account, OrgUnit, Person, RoleAssignment


async def person_scope(session: AsyncSession, person: Person) -> PersonScope:
    """Where the person sits: their branch, the branch they left, the nodes of their roles."""
    branch = await session.get(OrgUnit, person.branch_id) if person.branch_id else None
    left = await session.get(OrgUnit, person.left_branch_id) if person.left_branch_id else None
    grants = tuple((a.role, a.org_unit.path) for a in await queries.roles_of(session, person.id))
    return PersonScope(
        person_id=person.id,
        branch_path=branch.path if branch else None,
        left_branch_path=left.path if left else None,
        grants=grants,
    )


def _label(actor: Account | None) -> str:
    return "bot" if actor is not None else "cli"


async def _drop_reminders(session: AsyncSession, person_id: int) -> None:
    account = await access_queries.account_of_person(session, person_id)
    if account is not None:
        await privacy_queries.drop_pending_reminders(session, account_id=account.id)
        # What still applies to them is planned again soon, not at the next pass over all.
        await planner_queries.mark_person(session, person_id)


async def revoke_role(
    session: AsyncSession, *, assignment: RoleAssignment, actor: Account | None
) -> None:
    """Take one role back (audited)."""
    details = {"role": assignment.role.value, "org": assignment.org_unit.code}
    person_id, org_id = assignment.person_id, assignment.org_unit_id
    await queries.revoke_role(session, assignment)
    await _drop_reminders(session, person_id)
    await queries.audit(
        session,
        action="role.revoke",
        actor=actor,
        actor_label=_label(actor),
        target_type="person",
        target_id=person_id,
        org_unit_id=org_id,
        details=details,
    )


async def unlink_account(session: AsyncSession, *, person: Person, actor: Account | None) -> bool:
    """Detach the person's Telegram account (the person and their records stay); False when
    no account was linked. Their open conversations are forgotten."""
    account = await access_queries.account_of_person(session, person.id)
    if account is None:
        return False
    account.person_id = None
    account.person = None
    await queries.end_conversations_of(session, account.telegram_id)
    await privacy_queries.drop_pending_reminders(session, account_id=account.id)
    await queries.audit(
        session,
        action="account.unlink",
        actor=actor,
        actor_label=_label(actor),
        target_type="person",
        target_id=person.id,
        org_unit_id=person.branch_id,
        details={"account_id": account.id},
    )
    return True


async def remove_from_branch(
    session: AsyncSession, *, person: Person, actor: Account | None, now: dt.datetime
) -> list[Role]:
    """Take the person off their branch's roster, kept in history (left_branch_id, left_at),
    with the branch's leader roles; returns the roles taken back with it."""
    branch_id = person.branch_id
    if branch_id is None:
        return []
    revoked = []
    for assignment in await queries.roles_of(session, person.id):
        if assignment.org_unit_id == branch_id:
            revoked.append(assignment.role)
            await queries.revoke_role(session, assignment)
    person.branch_id, person.left_branch_id, person.left_at = None, branch_id, now
    person.branch = None
    await _drop_reminders(session, person.id)
    await queries.audit(
        session,
        action="person.remove",
        actor=actor,
        actor_label=_label(actor),
        target_type="person",
        target_id=person.id,
        org_unit_id=branch_id,
        details={"roles": [role.value for role in revoked]},
    )
    return revoked
