"""Data access for the organisation, people, accounts, roles and the audit log.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.enums import OrgKind, PersonStatus, Role
from storage import planner_queries
from storage.models import (
    Account,
    AuditEntry,
    ConversationRecord,
    OrgUnit,
    Person,
    RoleAssignment,
    utcnow,
)
from storage.tree import subtree_of

# ---- organisation tree -------------------------------------------------------------------


async def org_by_code(session: AsyncSession, code: str) -> OrgUnit | None:
    """The node with this code."""
    return await session.scalar(select(OrgUnit).where(OrgUnit.code == code))


async def org_by_id(session: AsyncSession, org_id: int) -> OrgUnit | None:
    """The node with this id."""
    return await session.get(OrgUnit, org_id)


async def add_org_unit(
    session: AsyncSession,
    *,
    code: str,
    kind: OrgKind,
    name: str,
    name_en: str | None = None,
    parent: OrgUnit | None = None,
) -> OrgUnit:
    """Create a node under its parent and compute its materialised path."""
    unit = OrgUnit(
        code=code,
        kind=kind,
        name=name,
        name_en=name_en,
        parent_id=parent.id if parent else None,
        path="",
    )
    session.add(unit)
    await session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


async def move_org_unit(session: AsyncSession, unit: OrgUnit, new_parent: OrgUnit | None) -> None:
    """Re-parent a node and rewrite the paths of its whole subtree."""
    if new_parent is not None and new_parent.path.startswith(unit.path):
        raise ValueError(f"cannot move {unit.code} under its own subtree ({new_parent.code})")
    old_prefix = unit.path
    new_prefix = f"{new_parent.path if new_parent else '/'}{unit.id}/"
    unit.parent_id = new_parent.id if new_parent else None
    for node in await subtree(session, unit):
        node.path = new_prefix + node.path[len(old_prefix) :]


async def subtree(
    session: AsyncSession, root: OrgUnit, *, kind: OrgKind | None = None
) -> list[OrgUnit]:
    """The node and everything below it, optionally of one kind, ordered by code."""
    query = select(OrgUnit).where(subtree_of(OrgUnit.path, root.path))
    if kind is not None:
        query = query.where(OrgUnit.kind == kind)
    return list(await session.scalars(query.order_by(OrgUnit.code)))


async def search_org_units(
    session: AsyncSession,
    text: str,
    *,
    within: OrgUnit | None = None,
    kinds: Iterable[OrgKind] = (),
    limit: int = 10,
) -> list[OrgUnit]:
    """Nodes whose code or name (Chinese or English) contains the text."""
    pattern = f"%{text.strip()}%"
    query = select(OrgUnit).where(
        OrgUnit.code.ilike(pattern) | OrgUnit.name.ilike(pattern) | OrgUnit.name_en.ilike(pattern)
    )
    if within is not None:
        query = query.where(subtree_of(OrgUnit.path, within.path))
    kinds = list(kinds)
    if kinds:
        query = query.where(OrgUnit.kind.in_(kinds))
    return list(await session.scalars(query.order_by(OrgUnit.code).limit(limit)))


# ---- people and accounts -------------------------------------------------------------------


async def person_in_branch(session: AsyncSession, *, branch: OrgUnit, name: str) -> Person | None:
    """The person of that name on the branch roster."""
    return await session.scalar(
        select(Person)
        .where(Person.branch_id == branch.id, Person.name == name)
        .order_by(Person.id)
        .limit(1)
    )


async def roster(session: AsyncSession, branch: OrgUnit) -> list[Person]:
    """Everyone on the branch roster, by name."""
    return list(
        await session.scalars(
            select(Person).where(Person.branch_id == branch.id).order_by(Person.name, Person.id)
        )
    )


async def roster_size(session: AsyncSession, branch: OrgUnit) -> int:
    """How many people are on the branch roster (lost-contact members excluded)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Person)
        .where(Person.branch_id == branch.id, Person.status != PersonStatus.LOST_CONTACT)
    )
    return int(count or 0)


async def set_time_zone(session: AsyncSession, account_id: int, zone: str) -> None:
    """Store an account's own time zone (an IANA name)."""
    await session.execute(update(Account).where(Account.id == account_id).values(time_zone=zone))


async def account_by_telegram_id(session: AsyncSession, telegram_id: int) -> Account | None:
    """The account of a Telegram user, with its person and branch loaded."""
    return await session.scalar(
        select(Account)
        .where(Account.telegram_id == telegram_id)
        # One query: this runs for every update the bot handles.
        .options(joinedload(Account.person).joinedload(Person.branch))
    )


async def account_for_update(
    session: AsyncSession, *, telegram_id: int, language_code: str | None, username: str | None
) -> Account | None:
    """The sender's account, refreshed from the update; None for someone who never agreed to
    the privacy notice (nothing is stored about them, not even an account row)."""
    account = await account_by_telegram_id(session, telegram_id)
    if account is not None:
        account.telegram_language = language_code
        account.username = username
        # Someone who writes to the bot can be reached again (they unblocked it).
        account.unreachable_since = None
    return account


async def create_account(
    session: AsyncSession,
    *,
    telegram_id: int,
    language_code: str | None,
    username: str | None,
    consented_at: dt.datetime,
) -> Account:
    """The account of someone who has just agreed to the privacy notice."""
    account = Account(
        telegram_id=telegram_id,
        telegram_language=language_code,
        username=username,
        consented_at=consented_at,
    )
    session.add(account)
    await session.flush()
    account.person = None
    return account


async def set_reachable(
    session: AsyncSession, *, telegram_id: int, reachable: bool, now: dt.datetime
) -> None:
    """Record that a user blocked (or unblocked) the bot, as Telegram reports it."""
    account = await account_by_telegram_id(session, telegram_id)
    if account is None:
        return
    if reachable:
        account.unreachable_since = None
    elif account.unreachable_since is None:
        account.unreachable_since = now


async def roles_of(session: AsyncSession, person_id: int) -> list[RoleAssignment]:
    """A person's role assignments with their nodes."""
    return list(
        await session.scalars(
            select(RoleAssignment)
            .where(RoleAssignment.person_id == person_id)
            .options(joinedload(RoleAssignment.org_unit))
            .order_by(RoleAssignment.id)
        )
    )


async def role_assignment(session: AsyncSession, assignment_id: int) -> RoleAssignment | None:
    """One role assignment with its node."""
    return await session.scalar(
        select(RoleAssignment)
        .where(RoleAssignment.id == assignment_id)
        .options(joinedload(RoleAssignment.org_unit))
    )


async def revoke_role(session: AsyncSession, assignment: RoleAssignment) -> None:
    """Take a role back (the audit log keeps that it was held)."""
    await session.delete(assignment)
    await session.flush()


async def grant_role(
    session: AsyncSession, *, person: Person, org_unit: OrgUnit, role: Role
) -> RoleAssignment:
    """Give a role (idempotent)."""
    existing = await session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.person_id == person.id,
            RoleAssignment.org_unit_id == org_unit.id,
            RoleAssignment.role == role,
        )
    )
    if existing is not None:
        return existing
    assignment = RoleAssignment(person_id=person.id, org_unit_id=org_unit.id, role=role)
    session.add(assignment)
    await session.flush()
    if org_unit.kind is OrgKind.BRANCH:
        # A new leader or member: the branch's reminders are planned again, now with them.
        await planner_queries.mark_branches(session, [org_unit.id])
    return assignment


# ---- audit ---------------------------------------------------------------------------------


async def audit(
    session: AsyncSession,
    *,
    action: str,
    actor: Account | None = None,
    actor_label: str = "bot",
    target_type: str | None = None,
    target_id: int | None = None,
    org_unit_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record an administrative action in the same transaction as the action itself."""
    entry = AuditEntry(
        action=action,
        actor_account_id=actor.id if actor else None,
        actor_label=actor_label if actor is None else "account",
        target_type=target_type,
        target_id=target_id,
        org_unit_id=org_unit_id,
        details=details or {},
    )
    session.add(entry)
    return entry


async def audit_entries(
    session: AsyncSession, *, action: str | None = None
) -> Sequence[AuditEntry]:
    """Audit entries, oldest first (for reports and tests)."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(await session.scalars(query))


# ---- conversations -----------------------------------------------------------------------


async def load_conversation(
    session: AsyncSession, *, name: str, chat_id: int, user_id: int
) -> ConversationRecord | None:
    """A stored conversation."""
    return await session.get(ConversationRecord, (name, chat_id, user_id))


async def conversation_states(session: AsyncSession, name: str) -> list[ConversationRecord]:
    """All stored states of one conversation handler (read once at start-up)."""
    return list(
        await session.scalars(select(ConversationRecord).where(ConversationRecord.name == name))
    )


async def conversations_of(
    session: AsyncSession, *, names: list[str], chat_id: int, user_id: int
) -> list[ConversationRecord]:
    """The stored drafts of one chat and user, in the named conversations (read before each
    of their updates; the names let the primary key serve the look-up)."""
    return list(
        await session.scalars(
            select(ConversationRecord).where(
                ConversationRecord.name.in_(names),
                ConversationRecord.chat_id == chat_id,
                ConversationRecord.user_id == user_id,
            )
        )
    )


async def save_conversation(
    session: AsyncSession,
    *,
    name: str,
    chat_id: int,
    user_id: int,
    state: str,
    data: dict[str, Any],
    recent_updates: list[int],
) -> ConversationRecord:
    """Insert or replace a conversation's state and answers."""
    record = await session.get(ConversationRecord, (name, chat_id, user_id))
    if record is None:
        record = ConversationRecord(name=name, chat_id=chat_id, user_id=user_id)
        session.add(record)
    record.state = state
    # A new dict, so SQLAlchemy sees the JSON column change.
    record.data = dict(data)
    record.recent_updates = list(recent_updates)
    record.updated_at = utcnow()
    return record


async def set_conversation_keyboard(
    session: AsyncSession, *, name: str, chat_id: int, user_id: int, message_id: int | None
) -> None:
    """Remember which message of an open draft still shows buttons (None: none).

    Bookkeeping written after the step's reply, not the user's activity: the draft's age (its
    idle limit) stays that of the step, and a draft ended meanwhile stays ended.
    """
    await session.execute(
        update(ConversationRecord)
        .where(
            ConversationRecord.name == name,
            ConversationRecord.chat_id == chat_id,
            ConversationRecord.user_id == user_id,
        )
        .values(keyboard_message_id=message_id, updated_at=ConversationRecord.updated_at)
    )


async def end_conversations_of(session: AsyncSession, telegram_id: int) -> None:
    """Forget every open conversation of a Telegram user (their access changed)."""
    await session.execute(
        delete(ConversationRecord).where(ConversationRecord.user_id == telegram_id)
    )


async def end_conversation(session: AsyncSession, *, name: str, chat_id: int, user_id: int) -> None:
    """Forget a finished or cancelled conversation."""
    await session.execute(
        delete(ConversationRecord).where(
            ConversationRecord.name == name,
            ConversationRecord.chat_id == chat_id,
            ConversationRecord.user_id == user_id,
        )
    )
