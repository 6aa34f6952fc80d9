"""Helpers for meeting tests: extra members, calling a meeting through /meet, waiting for a
message that says something, a clock the bot reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select, text

from bot.enums import OrgKind, PersonStatus, Role
from bot.fake_telegram.client import FakeMessage, FakeUser
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person


async def add_members(
    db: SessionFactory,
    branch_code: str,
    people: Iterable[tuple[str, int | None, str]],
    *,
    status: dict[str, PersonStatus] | None = None,
    group: str | None = None,
) -> dict[str, int]:
    """Add (name, telegram id or None, language) members to a branch; their person ids."""
    found = {}
    async with db.begin() as session:
        branch = await queries.org_by_code(session, branch_code)
        assert branch is not None
        group_unit = await queries.org_by_code(session, group) if group else None
        for name, telegram_id, language in people:
            person = Person(
                name=name,
                branch_id=branch.id,
                status=(status or {}).get(name, PersonStatus.REGULAR),
                party_group_id=group_unit.id if group_unit else None,
            )
            session.add(person)
            await session.flush()
            if telegram_id is not None:
                session.add(
                    Account(
                        telegram_id=telegram_id, person_id=person.id, telegram_language=language
                    )
                )
            found[name] = person.id
    return found


async def add_party_group(db: SessionFactory, branch_code: str, code: str, name: str) -> int:
    """A party group under a branch; its id."""
    async with db.begin() as session:
        branch = await queries.org_by_code(session, branch_code)
        assert branch is not None
        unit = await queries.add_org_unit(
            session, code=code, kind=OrgKind.PARTY_GROUP, name=name, name_en=name, parent=branch
        )
        return unit.id


async def grant(db: SessionFactory, person_name: str, org_code: str, role: Role) -> None:
    """Give a person (by name) a role at a node."""
    async with db.begin() as session:
        org = await queries.org_by_code(session, org_code)
        assert org is not None
        person = await session.scalar(select(Person).where(Person.name == person_name))
        assert person is not None
        await queries.grant_role(session, person=person, org_unit=org, role=role)


async def until(
    user: FakeUser,
    check: Callable[[FakeMessage], bool],
    *,
    edits: bool = True,
    within: float = 15.0,
) -> FakeMessage:
    """The next message (or edit) to the user that passes `check`, skipping others."""
    while True:
        message = await (user.wait_edit_or_reply(within) if edits else user.wait_reply(within))
        if check(message):
            return message


def has(*words: str) -> Callable[[FakeMessage], bool]:
    """A check: the message's text contains every word."""
    return lambda message: all(word in message.text for word in words)


async def call_meeting(
    user: FakeUser,
    *,
    kinds: tuple[str, ...],
    when: str,
    place: str,
    agenda: str,
    audience: str = "branch",
    group_label: str | None = None,
    reason: bool = True,
    decides: bool | None = None,
) -> FakeMessage:
    """Drive /meet by button data (in any language) up to the preview; return the preview."""
    await user.send("/meet")
    question = await user.wait_reply()
    for kind in kinds:
        await user.press(question, data=f"meet:k:{kind}")
        question = await user.wait_edit()
    await user.press(question, data="meet:k:ok")
    await user.wait_edit()
    for answer in (when, place, agenda):
        await user.send(answer)
        question = await user.wait_reply()
    await user.press(question, data=f"meet:aud:{audience}")
    question = await user.wait_edit()
    if group_label is not None:
        await user.press(question, group_label)
        question = await user.wait_edit()
    await user.press(question, data=f"meet:rsn:{int(reason)}")
    question = await user.wait_edit()
    if decides is not None:
        await user.press(question, data=f"meet:dec:{int(decides)}")
        question = await user.wait_edit()
    return question


async def snapshot(db: SessionFactory) -> dict[str, list[tuple[str, ...]]]:
    """Every row a forged meeting, calendar or committee button could change."""
    tables = {
        "meetings": "SELECT id, starts_at, cancelled_at, version, card_message_id, "
        "activity_id FROM meetings",
        "invitees": "SELECT id, rsvp, reason, note, signed_in_at FROM meeting_invitees",
        "activities": "SELECT id, kinds, quorum FROM activities",
        "reminders": "SELECT id, state, due_at FROM reminders",
        "calendars": "SELECT org_unit_id, themed_day FROM branch_calendars",
        "steps": "SELECT branch_id, step, done_on FROM preparation_records",
        "roles": "SELECT person_id, org_unit_id, role, post FROM role_assignments",
        "drafts": "SELECT name, chat_id, user_id, state, data FROM conversations",
        "audit": "SELECT id, action FROM audit_log",
    }
    found = {}
    async with db() as session:
        for name, query in tables.items():
            rows = await session.execute(text(query))
            found[name] = sorted(tuple(str(value) for value in row) for row in rows)
    return found
