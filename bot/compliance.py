"""The compliance calendar over the database: rules in force, per branch and per subtree.

Admins override a rule for their subtree with `zhibu rules set --org DEMO --rule lecture
--period half` (and see the rules in force with `zhibu rules show --org DEMO-B1`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules.calendar import (
    DEFAULT_RULES,
    ActivityFact,
    CalendarRule,
    ObligationStatus,
    PeriodKind,
    RuleOverride,
    Scope,
    compliance,
    compliance_many,
    effective_rules,
    parse_leads,
)
from bot.rules.kinds import ActivityKind
from bot.rules.quorum import short_of_quorum_text
from storage import activity_queries, queries
from storage.models import Account, OrgUnit
from storage.models_activity import CalendarRuleOverride

RULE_KEYS = tuple(rule.key for rule in DEFAULT_RULES)
# Beyond this many rows or branches, parsing and judging run in a thread (a small subtree's
# report is faster without the hand-over).
IN_THREAD_ABOVE = 2000
_KIND_VALUES = frozenset(kind.value for kind in ActivityKind)


def path_ids(path: str) -> list[int]:
    """The node ids of a materialised path, root first."""
    return [int(part) for part in path.strip("/").split("/") if part]


def _as_override(row: CalendarRuleOverride) -> RuleOverride:
    return RuleOverride(
        node_id=row.org_unit_id,
        key=row.rule_key,
        period=PeriodKind(row.period) if row.period else None,
        min_count=row.min_count,
        scope=Scope(row.scope) if row.scope else None,
        only_quarter=row.only_quarter,
        enabled=row.enabled,
        lead_days=_stored_leads(row.lead_days),
        quorum=row.quorum,
        prepare_from=row.prepare_from,
    )


def _stored_leads(text: str | None) -> tuple[int, ...] | None:
    """Lead days as stored ("21,7,1"; "" goes back to the period's, as an empty tuple)."""
    if text is None:
        return None
    try:
        return parse_leads(text) if text else ()
    except ValueError:
        return None


class RuleBook:
    """Every override, grouped by node, turned into the rules in force for a path."""

    def __init__(self, rows: Iterable[CalendarRuleOverride]) -> None:
        self.by_node: dict[int, list[RuleOverride]] = {}
        for row in rows:
            self.by_node.setdefault(row.org_unit_id, []).append(_as_override(row))
        self._cache: dict[tuple[int, ...], list[CalendarRule]] = {}

    def rules_for(self, path: str) -> list[CalendarRule]:
        """The rules in force at the node of `path` (the nearest override wins)."""
        levels = tuple(node for node in path_ids(path) if node in self.by_node)
        rules = self._cache.get(levels)
        if rules is None:
            rules = effective_rules(DEFAULT_RULES, [self.by_node[node] for node in levels])
            self._cache[levels] = rules
        return rules


async def rule_book(session: AsyncSession, path: str | None = None) -> RuleBook:
    """The overrides that can apply at `path` (all of them when None)."""
    ids = None if path is None else path_ids(path)
    return RuleBook(await activity_queries.rule_overrides(session, ids))


def _parse_day(raw: dt.date | str) -> dt.date:
    return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(raw[:10])


def _parse_kinds(raw: str | Sequence[str]) -> frozenset[ActivityKind]:
    values = json.loads(raw) if isinstance(raw, str) else raw
    return frozenset(ActivityKind(value) for value in values if value in _KIND_VALUES)


async def facts_by_branch(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    branch_id: int | None = None,
    subtree_path: str | None = None,
    since_by_kind: Mapping[ActivityKind, dt.date] | None = None,
) -> dict[int, list[ActivityFact]]:
    """The activities that count between start and end, as ActivityFacts per branch.

    `since_by_kind` (see `earliest_windows`) skips what no rule's window can count.
    """
    since = None
    if since_by_kind is not None:
        since = {kind.value: day for kind, day in since_by_kind.items()}
    rows = await activity_queries.activity_facts_raw(
        session,
        start=start,
        end=end,
        branch_id=branch_id,
        subtree_path=subtree_path,
        since_by_kind=since,
    )
    if len(rows) < IN_THREAD_ABOVE:
        return _facts(rows)
    # A city's hundreds of thousands of rows take seconds: in a thread, so the bot goes on
    # answering other users meanwhile.
    return await asyncio.to_thread(_facts, rows)


def _facts(rows: Sequence[Sequence[Any]]) -> dict[int, list[ActivityFact]]:
    # Hundreds of thousands of rows share a few hundred days and a few kind lists: parse each
    # distinct value once (this loop is most of the time of a large subtree's report).
    days: dict[Any, dt.date] = {}
    kinds: dict[Any, frozenset[ActivityKind]] = {}
    found: dict[int, list[ActivityFact]] = {}
    for branch, activity_id, raw_day, raw_kinds, group_id, raw_quorum in rows:
        day = days.get(raw_day)
        if day is None:
            day = days[raw_day] = _parse_day(raw_day)
        key = raw_kinds if isinstance(raw_kinds, str) else tuple(raw_kinds)
        kind_set = kinds.get(key)
        if kind_set is None:
            kind_set = kinds[key] = _parse_kinds(raw_kinds)
        fact = ActivityFact(
            activity_id, day, kind_set, group_id, short_of_quorum=short_of_quorum_text(raw_quorum)
        )
        bucket = found.get(branch)
        if bucket is None:
            found[branch] = [fact]
        else:
            bucket.append(fact)
    return found


def earliest_windows(
    rule_sets: Iterable[Iterable[CalendarRule]], on: dt.date
) -> dict[ActivityKind, dt.date]:
    """For each kind some enabled rule counts, the earliest start of its windows around `on`."""
    since: dict[ActivityKind, dt.date] = {}
    for rules in rule_sets:
        for rule in rules:
            if not rule.enabled:
                continue
            start = rule.window(on).start
            if rule.kind not in since or start < since[rule.kind]:
                since[rule.kind] = start
    return since


def year_bounds(on: dt.date) -> tuple[dt.date, dt.date]:
    """Every rule window containing `on` lies in its calendar year."""
    return dt.date(on.year, 1, 1), dt.date(on.year, 12, 31)


async def branch_compliance(
    session: AsyncSession, branch: OrgUnit, *, on: dt.date, today: dt.date
) -> list[ObligationStatus]:
    """How one branch stands on its enabled rules in the periods containing `on`."""
    book = await rule_book(session, branch.path)
    rules = book.rules_for(branch.path)
    start, end = year_bounds(on)
    found = await facts_by_branch(
        session,
        start=start,
        end=end,
        branch_id=branch.id,
        since_by_kind=earliest_windows([rules], on),
    )
    activities = found.get(branch.id, [])
    groups = [row[0] for row in await activity_queries.party_groups(session, branch_id=branch.id)]
    return compliance(rules, activities, groups, on, today=today)


@dataclass(frozen=True, slots=True)
class BranchRow:
    """One branch of a subtree report with its obligations."""

    branch: OrgUnit
    statuses: list[ObligationStatus]


async def subtree_compliance(
    session: AsyncSession, root: OrgUnit, *, on: dt.date, today: dt.date
) -> list[BranchRow]:
    """Every branch of the subtree with its obligations, ordered by branch code."""
    branches = await activity_queries.branches_in_subtree(session, root.path)
    book = await rule_book(session)
    rules = {branch.id: book.rules_for(branch.path) for branch in branches}
    distinct = {id(branch_rules): branch_rules for branch_rules in rules.values()}
    start, end = year_bounds(on)
    activities = await facts_by_branch(
        session,
        start=start,
        end=end,
        subtree_path=root.path,
        since_by_kind=earliest_windows(distinct.values(), on),
    )
    groups: dict[int, list[int]] = {}
    for group_id, parent_id, *_ in await activity_queries.party_groups(
        session, subtree_path=root.path
    ):
        if parent_id is not None:
            groups.setdefault(parent_id, []).append(group_id)
    if len(branches) < IN_THREAD_ABOVE:
        judged = compliance_many(rules, activities, groups, on, today=today)
    else:
        judged = await asyncio.to_thread(
            compliance_many, rules, activities, groups, on, today=today
        )
    return [BranchRow(branch, judged[branch.id]) for branch in branches]


def merge_subtrees(roots: Sequence[OrgUnit]) -> list[OrgUnit]:
    """The roots that are not inside another root (an admin of two nested nodes)."""
    ordered = sorted(roots, key=lambda unit: len(unit.path))
    kept: list[OrgUnit] = []
    for unit in ordered:
        if not any(unit.path.startswith(other.path) for other in kept):
            kept.append(unit)
    return kept


class OverrideError(ValueError):
    """An override that would not make a valid rule."""


async def set_override(
    session: AsyncSession,
    *,
    org: OrgUnit,
    rule_key: str,
    fields: Mapping[str, object],
    actor: Account | None = None,
    actor_label: str = "cli",
) -> CalendarRuleOverride:
    """Validate and store an override of one rule for the subtree of `org`, with an audit entry.

    Fields given as None keep what an earlier override at this node set (`reset_override`
    removes it); the result is checked against the rule before anything is stored.
    """
    rule = {rule.key: rule for rule in DEFAULT_RULES}.get(rule_key)
    if rule is None:
        raise OverrideError(f"unknown rule {rule_key!r}; known: {', '.join(RULE_KEYS)}")
    existing = {
        row.rule_key: row for row in await activity_queries.rule_overrides(session, [org.id])
    }.get(rule_key)
    if existing is not None:
        kept = {
            "period": existing.period,
            "min_count": existing.min_count,
            "scope": existing.scope,
            "only_quarter": existing.only_quarter,
            "enabled": existing.enabled,
            "lead_days": existing.lead_days,
            "quorum": existing.quorum,
            "prepare_from": existing.prepare_from,
        }
        fields = {**kept, **{k: v for k, v in fields.items() if v is not None}}
    enabled = fields.get("enabled")
    quorum = fields.get("quorum")
    leads = fields.get("lead_days")
    try:
        override = RuleOverride(
            node_id=org.id,
            key=rule_key,
            period=PeriodKind(str(fields["period"])) if fields.get("period") else None,
            min_count=_optional_int(fields.get("min_count")),
            scope=Scope(str(fields["scope"])) if fields.get("scope") else None,
            only_quarter=_optional_int(fields.get("only_quarter")),
            enabled=enabled if isinstance(enabled, bool) else None,
            lead_days=None if leads is None else parse_leads(str(leads)) if leads != "" else (),
            quorum=quorum if isinstance(quorum, bool) else None,
            prepare_from=_optional_int(fields.get("prepare_from")),
        )
        override.apply(rule)
    except (ValueError, TypeError) as exc:
        raise OverrideError(str(exc)) from None
    row = await activity_queries.save_rule_override(
        session,
        org_unit_id=org.id,
        rule_key=rule_key,
        period=override.period.value if override.period else None,
        min_count=override.min_count,
        scope=override.scope.value if override.scope else None,
        only_quarter=override.only_quarter,
        enabled=override.enabled,
        lead_days=None
        if override.lead_days is None
        else ",".join(str(day) for day in override.lead_days),
        quorum=override.quorum,
        prepare_from=override.prepare_from,
        created_by=actor.id if actor else None,
    )
    await queries.audit(
        session,
        action="calendar.rule_override",
        actor=actor,
        actor_label=actor_label,
        target_type="calendar_rule_override",
        target_id=row.id,
        org_unit_id=org.id,
        details={"rule": rule_key, **{k: v for k, v in fields.items() if v is not None}},
    )
    return row


async def reset_override(
    session: AsyncSession,
    *,
    org: OrgUnit,
    rule_key: str,
    actor: Account | None = None,
    actor_label: str = "cli",
) -> bool:
    """Remove the override of one rule at `org` (audited); False when there was none."""
    removed = await activity_queries.delete_rule_override(
        session, org_unit_id=org.id, rule_key=rule_key
    )
    if removed:
        await queries.audit(
            session,
            action="calendar.rule_override_removed",
            actor=actor,
            actor_label=actor_label,
            target_type="calendar_rule_override",
            org_unit_id=org.id,
            details={"rule": rule_key},
        )
    return removed


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    return int(str(value))
