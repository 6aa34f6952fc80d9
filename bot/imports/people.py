"""Importing rosters: people by (branch, name), their roles, status, phone and joining date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import CommitteePost, OrgKind, PersonStatus, Role
from bot.imports.cells import (
    choice,
    date_parser,
    parse_code,
    parse_optional_code,
    parse_person_name,
    parse_phone_cell,
)
from bot.imports.problems import CellError, Problems
from bot.imports.reading import Table
from bot.imports.summary import ImportSummary, finish
from storage import import_queries, planner_queries, queries
from storage.models import OrgUnit, Person
from storage.models_relink import LostContactEntry

PEOPLE_REQUIRED = ("name", "branch")
PEOPLE_COLUMNS = (*PEOPLE_REQUIRED, "role", "status", "phone", "joined_on", "group", "post")

_parse_role = choice(
    {
        r.value: r
        for r in (Role.SECRETARY, Role.DEPUTY, Role.MEMBER, Role.COMMITTEE, Role.GROUP_LEADER)
    },
    default=Role.MEMBER,
    aliases={
        "书记": Role.SECRETARY,
        "支部书记": Role.SECRETARY,
        "副书记": Role.DEPUTY,
        "党员": Role.MEMBER,
        "支部委员": Role.COMMITTEE,
        "委员": Role.COMMITTEE,
        "支委": Role.COMMITTEE,
        "党小组长": Role.GROUP_LEADER,
        "小组长": Role.GROUP_LEADER,
    },
)
_parse_post = choice(
    {p.value: p for p in CommitteePost},
    aliases={
        "组织委员": CommitteePost.ORGANISATION,
        "宣传委员": CommitteePost.PROPAGANDA,
        "纪检委员": CommitteePost.DISCIPLINE,
        "纪律检查委员": CommitteePost.DISCIPLINE,
        "青年委员": CommitteePost.YOUTH,
        "妇女委员": CommitteePost.WOMEN,
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
    # The member's party group (a code), and a committee member's post.
    group: str | None = None
    post: CommitteePost | None = None


def validate_people(
    table: Table,
    org_kinds: Mapping[str, OrgKind],
    *,
    today: dt.date,
    group_branches: Mapping[str, str] | None = None,
) -> list[PersonRow]:
    """Check a roster file; org_kinds are the existing nodes, group_branches the branch of
    each party group (by code). Raises ImportFailed."""
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
        "group": parse_optional_code,
        "post": _parse_post,
    }
    rows: dict[tuple[str, str], PersonRow] = {}
    secretaries: dict[str, PersonRow] = {}
    for row in table.rows:
        values = problems.parse(row, parsers)
        if values is None:
            continue
        person = PersonRow(line=row.line, **values)
        problem = _group_and_post_problem(person, group_branches or {})
        if problem is not None:
            problems.add(row.line, problem[0], problem[1])
            continue
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


def _group_and_post_problem(
    person: PersonRow, group_branches: Mapping[str, str]
) -> tuple[str, str] | None:
    """(column, problem) when the party group or the post does not fit the row."""
    if person.group is not None and group_branches.get(person.group) != person.branch:
        return "group", f"{person.group} is not a party group of {person.branch}"
    if person.role is Role.GROUP_LEADER and person.group is None:
        return "group", "a party group leader needs the party group"
    if person.post is not None and person.role is not Role.COMMITTEE:
        return "post", "a post is for committee members (role committee)"
    return None


async def apply_people(session: AsyncSession, rows: Sequence[PersonRow]) -> ImportSummary:
    """Create or update people by (branch, name) and grant their roles (validated rows).

    Empty cells keep what is stored (a roster without phones doesn't erase known phones),
    and a role missing from the file is not taken away: both are done in the bot. Everyone
    the file leaves lost contact is in the lost-contact register too, which reconnect
    requests are matched against.
    """
    summary = ImportSummary("people")
    branches = await import_queries.units_by_code(session, {r.branch for r in rows})
    groups = await import_queries.units_by_code(session, {r.group for r in rows if r.group})
    branch_ids = [b.id for b in branches.values()]
    people: dict[tuple[int, str], Person] = {}
    for known in await import_queries.people_in_branches(session, branch_ids):
        # Same choice as queries.person_in_branch when a roster already has a duplicate name.
        people.setdefault((known.branch_id or 0, known.name), known)
    granted = await import_queries.roles_in_branches(
        session, [*branch_ids, *(g.id for g in groups.values())]
    )
    to_grant: list[tuple[Person, OrgUnit, Role, CommitteePost | None]] = []
    lost: list[tuple[Person, OrgUnit]] = []
    for row in rows:
        branch = branches[row.branch]
        group = groups.get(row.group) if row.group else None
        # A party group's leader holds the role at the group.
        role_node = group if row.role is Role.GROUP_LEADER and group is not None else branch
        person = people.get((branch.id, row.name))
        if person is None:
            person = Person(
                name=row.name,
                branch_id=branch.id,
                status=row.status or PersonStatus.REGULAR,
                phone=row.phone,
                joined_on=row.joined_on,
                party_group_id=group.id if group else None,
            )
            session.add(person)
            summary.created += 1
        else:
            changed = _update_person(person, row, group)
            if row.role is not Role.MEMBER and (person.id, role_node.id, row.role) not in granted:
                changed = True
            if changed:
                summary.updated += 1
            else:
                summary.unchanged += 1
        if row.role is not Role.MEMBER:
            to_grant.append((person, role_node, row.role, row.post))
        if person.status is PersonStatus.LOST_CONTACT:
            lost.append((person, branch))
    await session.flush()
    for person, node, role, post in to_grant:
        assignment = await queries.grant_role(session, person=person, org_unit=node, role=role)
        if post is not None:
            assignment.post = post
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


def _update_person(person: Person, row: PersonRow, group: OrgUnit | None = None) -> bool:
    changed = False
    if group is not None and person.party_group_id != group.id:
        person.party_group_id = group.id
        changed = True
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
    rows = validate_people(
        table,
        await import_queries.org_kinds(session),
        today=today,
        group_branches=await import_queries.group_branches(session),
    )
    summary = await apply_people(session, rows)
    return await finish(session, summary, table, PEOPLE_COLUMNS, "people.import")
