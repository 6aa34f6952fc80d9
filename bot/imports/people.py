"""Importing rosters: people by (branch, name), their roles, status, phone and joining date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import OrgKind, PersonStatus, Role
from bot.imports.cells import choice, date_parser, parse_code, parse_person_name, parse_phone_cell
from bot.imports.problems import CellError, Problems
from bot.imports.reading import Table
from bot.imports.summary import ImportSummary, finish
from storage import import_queries, planner_queries, queries
from storage.models import OrgUnit, Person
from storage.models_relink import LostContactEntry

PEOPLE_REQUIRED = ("name", "branch")
PEOPLE_COLUMNS = (*PEOPLE_REQUIRED, "role", "status", "phone", "joined_on")

_parse_role = choice(
    {r.value: r for r in (Role.SECRETARY, Role.DEPUTY, Role.MEMBER)},
    default=Role.MEMBER,
    aliases={
        "书记": Role.SECRETARY,
        "支部书记": Role.SECRETARY,
        "副书记": Role.DEPUTY,
        "党员": Role.MEMBER,
    },
)
_parse_status = choice(
    {s.value: s for s in PersonStatus},
    aliases={
        "正常": PersonStatus.REGULAR,
        "流动": PersonStatus.MOBILE,
        "流动党员": PersonStatus.MOBILE,
        "失联": PersonStatus.LOST_CONTACT,
        "失联党员": PersonStatus.LOST_CONTACT,
    },
)


@dataclass(frozen=True)
class PersonRow:
    """A checked roster row; None in status/phone/joined_on means "leave as it is"."""

    line: int
    name: str
    branch: str
    role: Role
    status: PersonStatus | None
    phone: str | None
    joined_on: dt.date | None


def validate_people(
    table: Table, org_kinds: Mapping[str, OrgKind], *, today: dt.date
) -> list[PersonRow]:
    """Check a roster file; org_kinds are the existing nodes. Raises ImportFailed."""
    problems = Problems(table)
    problems.require_columns(PEOPLE_REQUIRED)
    problems.raise_if_any()

    def parse_branch(text: str) -> str:
        code = parse_code(text)
        kind = org_kinds.get(code)
        if kind is None:
            raise CellError(f"no node {code} in the database (import the organisation first)")
        if kind is not OrgKind.BRANCH:
            raise CellError(f"{code} is a {kind.value}, not a branch")
        return code

    parsers: dict[str, Callable[[str], object]] = {
        "name": parse_person_name,
        "branch": parse_branch,
        "role": _parse_role,
        "status": _parse_status,
        "phone": parse_phone_cell,
        "joined_on": date_parser(today),
    }
    rows: dict[tuple[str, str], PersonRow] = {}
    secretaries: dict[str, PersonRow] = {}
    for row in table.rows:
        values = problems.parse(row, parsers)
        if values is None:
            continue
        person = PersonRow(line=row.line, **values)
        key = (person.branch, person.name)
        if key in rows:
            problems.add(
                row.line,
                "name",
                f"{person.name} in {person.branch} is already on line {rows[key].line}",
            )
            continue
        rows[key] = person
        if person.role is Role.SECRETARY:
            other = secretaries.setdefault(person.branch, person)
            if other is not person:
                problems.add(
                    row.line,
                    "role",
                    f"{person.branch} already has secretary {other.name} on line {other.line}",
                )
    problems.raise_if_any()
    return list(rows.values())


async def apply_people(session: AsyncSession, rows: Sequence[PersonRow]) -> ImportSummary:
    """Create or update people by (branch, name) and grant their roles (validated rows).

    Empty cells keep what is stored (a roster without phones doesn't erase known phones),
    and a role missing from the file is not taken away: both are done in the bot. Everyone
    the file leaves lost contact is in the lost-contact register too, which reconnect
    requests are matched against.
    """
    summary = ImportSummary("people")
    branches = await import_queries.units_by_code(session, {r.branch for r in rows})
    branch_ids = [b.id for b in branches.values()]
    people: dict[tuple[int, str], Person] = {}
    for known in await import_queries.people_in_branches(session, branch_ids):
        # Same choice as queries.person_in_branch when a roster already has a duplicate name.
        people.setdefault((known.branch_id or 0, known.name), known)
    granted = await import_queries.roles_in_branches(session, branch_ids)
    to_grant: list[tuple[Person, OrgUnit, Role]] = []
    lost: list[tuple[Person, OrgUnit]] = []
    for row in rows:
        branch = branches[row.branch]
        person = people.get((branch.id, row.name))
        if person is None:
            person = Person(
                name=row.name,
                branch_id=branch.id,
                status=row.status or PersonStatus.REGULAR,
                phone=row.phone,
                joined_on=row.joined_on,
            )
            session.add(person)
            summary.created += 1
        else:
            changed = _update_person(person, row)
            if row.role is not Role.MEMBER and (person.id, branch.id, row.role) not in granted:
                changed = True
            if changed:
                summary.updated += 1
            else:
                summary.unchanged += 1
        if row.role is not Role.MEMBER:
            to_grant.append((person, branch, row.role))
        if person.status is PersonStatus.LOST_CONTACT:
            lost.append((person, branch))
    await session.flush()
    for person, branch, role in to_grant:
        await queries.grant_role(session, person=person, org_unit=branch, role=role)
    await _register_lost_contact(session, lost)
    # New members, leaders and statuses change what these branches' reminders are.
    await planner_queries.mark_branches(session, branch_ids)
    return summary


async def _register_lost_contact(
    session: AsyncSession, lost: Sequence[tuple[Person, OrgUnit]]
) -> None:
    """Put lost-contact people in the register (keyed like the register import: name and
    branch), linked to their roster entry; someone lost again is offered again."""
    if not lost:
        return
    entries = {(e.name, e.branch_code): e for e in await import_queries.register_entries(session)}
    for person, branch in lost:
        entry = entries.get((person.name, branch.code))
        if entry is None:
            entry = LostContactEntry(
                name=person.name,
                branch_code=branch.code,
                join_year=person.joined_on.year if person.joined_on else None,
                phone=person.phone,
            )
            session.add(entry)
            entries[(person.name, branch.code)] = entry
        entry.branch_id = branch.id
        entry.person_id = person.id
        entry.relinked_at = None
    await session.flush()


def _update_person(person: Person, row: PersonRow) -> bool:
    changed = False
    if row.status is not None and person.status is not row.status:
        person.status = row.status
        changed = True
    if row.phone is not None and person.phone != row.phone:
        person.phone = row.phone
        changed = True
    if row.joined_on is not None and person.joined_on != row.joined_on:
        person.joined_on = row.joined_on
        changed = True
    return changed


async def import_people(session: AsyncSession, table: Table, *, today: dt.date) -> ImportSummary:
    """Validate and apply a roster file in the caller's transaction, with audit."""
    rows = validate_people(table, await import_queries.org_kinds(session), today=today)
    summary = await apply_people(session, rows)
    return await finish(session, summary, table, PEOPLE_COLUMNS, "people.import")
