"""Importing the organisation tree: nodes by code, the tree's rules checked before any write."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import OrgKind
from bot.imports.cells import choice, optional_text, parse_code, parse_optional_code, required_text
from bot.imports.problems import CellError, Problems
from bot.imports.reading import Table
from bot.imports.summary import ImportSummary, finish
from storage import import_queries, queries

ORG_REQUIRED = ("code", "parent", "kind", "name")
ORG_COLUMNS = (*ORG_REQUIRED, "name_en")

ALLOWED_PARENTS: Mapping[OrgKind, frozenset[OrgKind | None]] = {
    OrgKind.COMMITTEE: frozenset({None, OrgKind.COMMITTEE}),
    OrgKind.GENERAL_BRANCH: frozenset({OrgKind.COMMITTEE}),
    OrgKind.BRANCH: frozenset({OrgKind.COMMITTEE, OrgKind.GENERAL_BRANCH}),
    OrgKind.PARTY_GROUP: frozenset({OrgKind.BRANCH}),
}

_parse_kind = choice(
    {k.value: k for k in OrgKind},
    aliases={
        "党委": OrgKind.COMMITTEE,
        "党总支": OrgKind.GENERAL_BRANCH,
        "总支": OrgKind.GENERAL_BRANCH,
        "党支部": OrgKind.BRANCH,
        "支部": OrgKind.BRANCH,
        "党小组": OrgKind.PARTY_GROUP,
        "小组": OrgKind.PARTY_GROUP,
    },
)


def _required_kind(text: str) -> OrgKind:
    kind = _parse_kind(text)
    if kind is None:
        raise CellError("is empty")
    return kind


@dataclass(frozen=True)
class ExistingUnit:
    """What validation needs to know about a node already in the database."""

    kind: OrgKind
    parent: str | None
    people: int = 0


@dataclass(frozen=True)
class OrgRow:
    """A checked row of an organisation file.

    parent None is the top level (so a file can move a committee to the top); name_en None
    means "leave as it is".
    """

    line: int
    code: str
    parent: str | None
    kind: OrgKind
    name: str
    name_en: str | None


def _kind_names(kinds: Iterable[OrgKind | None]) -> str:
    return " or ".join(sorted(k.value if k else "top level" for k in kinds))


def validate_org(table: Table, existing: Mapping[str, ExistingUnit]) -> list[OrgRow]:
    """Check an organisation file against itself and the existing tree; raise ImportFailed."""
    problems = Problems(table)
    problems.require_columns(ORG_REQUIRED)
    problems.raise_if_any()
    parsers: dict[str, Callable[[str], object]] = {
        "code": parse_code,
        "parent": parse_optional_code,
        "kind": _required_kind,
        "name": required_text(200),
        "name_en": optional_text(200),
    }
    rows: dict[str, OrgRow] = {}
    # Codes of rows that are bad for another reason: their children get no second problem.
    mentioned = {row["code"] for row in table.rows}
    for row in table.rows:
        values = problems.parse(row, parsers)
        if values is None:
            continue
        parsed = OrgRow(line=row.line, **values)
        if parsed.code in rows:
            problems.add(
                row.line, "code", f"{parsed.code} is already on line {rows[parsed.code].line}"
            )
            continue
        rows[parsed.code] = parsed

    # The tree as it will be: the database, overridden by the file.
    parent_of = {code: unit.parent for code, unit in existing.items()}
    kind_of = {code: unit.kind for code, unit in existing.items()}
    for r in rows.values():
        parent_of[r.code] = r.parent
        kind_of[r.code] = r.kind

    for r in rows.values():
        _check_parent(problems, r, parent_of, kind_of, mentioned)
        _check_kind_change(problems, r, existing, kind_of, rows)
    problems.raise_if_any()
    return list(rows.values())


def _check_parent(
    problems: Problems,
    row: OrgRow,
    parent_of: Mapping[str, str | None],
    kind_of: Mapping[str, OrgKind],
    mentioned: set[str],
) -> None:
    if row.parent is not None and row.parent not in kind_of:
        if row.parent not in mentioned:
            problems.add(row.line, "parent", f"no node {row.parent} in this file or the database")
        return
    cycle = _cycle_through(row.code, parent_of)
    if cycle:
        problems.add(row.line, "parent", "cycle: " + " → ".join(cycle))
        return
    parent_kind = kind_of[row.parent] if row.parent is not None else None
    if parent_kind not in ALLOWED_PARENTS[row.kind]:
        where = f"under {row.parent}, a {parent_kind.value}" if parent_kind else "at the top"
        problems.add(
            row.line,
            "parent",
            f"a {row.kind.value} can't be {where} "
            f"(allowed: {_kind_names(ALLOWED_PARENTS[row.kind])})",
        )


def _cycle_through(code: str, parent_of: Mapping[str, str | None]) -> list[str]:
    # The chain from code upwards if it comes back to code, else [].
    chain = [code]
    seen = {code}
    current = parent_of.get(code)
    while current is not None:
        chain.append(current)
        if current == code:
            return chain
        if current in seen:
            return []  # a cycle above this node, reported on its own rows
        seen.add(current)
        current = parent_of.get(current)
    return []


def _check_kind_change(
    problems: Problems,
    row: OrgRow,
    existing: Mapping[str, ExistingUnit],
    kind_of: Mapping[str, OrgKind],
    rows: Mapping[str, OrgRow],
) -> None:
    old = existing.get(row.code)
    if old is None or old.kind is row.kind:
        return
    if old.kind is OrgKind.BRANCH and old.people:
        who = "1 person" if old.people == 1 else f"{old.people} people"
        problems.add(
            row.line, "kind", f"{row.code} has {who} on its roster, so it must stay a branch"
        )
    # Children not in the file keep their kind and must still fit under the new one.
    children = [c for c, unit in existing.items() if unit.parent == row.code and c not in rows]
    for child in children:
        if row.kind not in ALLOWED_PARENTS[kind_of[child]]:
            problems.add(
                row.line,
                "kind",
                f"{child}, a {kind_of[child].value}, is under {row.code} "
                f"and can't be under a {row.kind.value}",
            )


async def existing_units(session: AsyncSession) -> dict[str, ExistingUnit]:
    """Every node's kind, parent code and roster size, by code."""
    units = await import_queries.all_units(session)
    code_of = {u.id: u.code for u in units}
    counts = await import_queries.roster_sizes(session)
    return {
        u.code: ExistingUnit(
            kind=u.kind,
            parent=code_of.get(u.parent_id) if u.parent_id is not None else None,
            people=counts.get(u.id, 0),
        )
        for u in units
    }


async def apply_org(session: AsyncSession, rows: Sequence[OrgRow]) -> ImportSummary:
    """Create missing nodes and update changed ones (validated rows); never deletes."""
    summary = ImportSummary("org")
    units = await import_queries.all_units(session)
    by_code = {u.code: u for u in units}
    code_of = {u.id: u.code for u in units}
    parent_of: dict[str, str | None] = {
        u.code: code_of[u.parent_id] if u.parent_id is not None else None for u in units
    }
    parent_of.update({r.code: r.parent for r in rows})

    def depth(code: str) -> int:
        n = 0
        parent = parent_of.get(code)
        while parent is not None:
            n += 1
            parent = parent_of.get(parent)
        return n

    # Parents first in the new tree, so a node is never moved under its own current
    # descendant (move_org_unit rewrites the paths of the subtree it finds under the node).
    for row in sorted(rows, key=lambda r: (depth(r.code), r.line)):
        parent = by_code[row.parent] if row.parent is not None else None
        unit = by_code.get(row.code)
        if unit is None:
            by_code[row.code] = await queries.add_org_unit(
                session,
                code=row.code,
                kind=row.kind,
                name=row.name,
                name_en=row.name_en,
                parent=parent,
            )
            summary.created += 1
            continue
        changed = False
        if unit.name != row.name:
            unit.name = row.name
            changed = True
        if row.name_en is not None and unit.name_en != row.name_en:
            unit.name_en = row.name_en
            changed = True
        if unit.kind is not row.kind:
            unit.kind = row.kind
            changed = True
        if unit.parent_id != (parent.id if parent else None):
            await queries.move_org_unit(session, unit, parent)
            changed = True
        if changed:
            summary.updated += 1
        else:
            summary.unchanged += 1
    return summary


async def import_org(session: AsyncSession, table: Table) -> ImportSummary:
    """Validate and apply an organisation file in the caller's transaction, with audit."""
    rows = validate_org(table, await existing_units(session))
    summary = await apply_org(session, rows)
    return await finish(session, summary, table, ORG_COLUMNS, "org.import")
