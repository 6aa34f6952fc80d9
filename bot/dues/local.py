"""What nodes chose for themselves: the dues rule, the collection day, the study targets.

- The `dues` calendar rule is monthly; a branch (or a node above it) that decided to collect
  quarterly says so with an override of the rule, stored with the other calendar overrides
  (`zhibu rules set --org B1 --rule dues --period quarter`, or `/report rules dues quarter`).
- The collection day is the branch's own (`zhibu dues day --org B1 --day 15`), else
  ZHIBU_DUES_COLLECTION_DAY.
- The yearly study targets are set for a subtree (`zhibu hours target --org C1 --leaders 56
  --members 32`): the nearest node that set one wins, else the ZHIBU_STUDY_HOURS_* defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.compliance import RuleBook, path_ids, rule_book
from bot.config import Settings
from bot.enums import OrgKind
from bot.rules.calendar import PeriodKind
from bot.rules.dues import DUES_RULE_KEY, collection_period
from storage import activity_queries, queries
from storage import dues_queries as dq
from storage.models import Account, OrgUnit
from storage.models_dues import LocalSetting

DUES_PERIODS = (PeriodKind.MONTH, PeriodKind.QUARTER)


def period_of(book: RuleBook, path: str) -> PeriodKind:
    """The collection period in force at a node (from the calendar overrides)."""
    levels = [book.by_node[node] for node in path_ids(path) if node in book.by_node]
    return collection_period(levels)


async def dues_period(session: AsyncSession, branch: OrgUnit) -> PeriodKind:
    """Whether the branch collects monthly or quarterly."""
    return period_of(await rule_book(session, branch.path), branch.path)


@dataclass(frozen=True, slots=True)
class Targets:
    """Yearly class hours: for secretaries and committee members, and for members."""

    leader: int
    member: int


class LocalBook:
    """Every node's own choices, resolved for a path with the settings' defaults."""

    def __init__(self, rows: Iterable[LocalSetting], settings: Settings) -> None:
        self.by_node: Mapping[int, LocalSetting] = {row.org_unit_id: row for row in rows}
        self.settings = settings

    def dues_day(self, branch_id: int) -> int:
        """The branch's collection day."""
        row = self.by_node.get(branch_id)
        if row is not None and row.dues_day is not None:
            return row.dues_day
        return self.settings.dues_collection_day

    def targets(self, path: str) -> Targets:
        """The study targets in force at a node: the nearest choice wins, field by field."""
        leader, member = self.settings.study_hours_leader, self.settings.study_hours_member
        for node in path_ids(path):
            row = self.by_node.get(node)
            if row is None:
                continue
            leader = row.study_hours_leader if row.study_hours_leader is not None else leader
            member = row.study_hours_member if row.study_hours_member is not None else member
        return Targets(leader, member)


async def local_book(
    session: AsyncSession, settings: Settings, path: str | None = None
) -> LocalBook:
    """The choices that can apply at `path` (every node's when None)."""
    ids = None if path is None else path_ids(path)
    return LocalBook(await dq.local_settings(session, ids), settings)


class SettingRefused(ValueError):
    """A choice that is not possible (a collection day for a node that is not a branch...)."""


async def set_dues_period(
    session: AsyncSession,
    *,
    org: OrgUnit,
    period: PeriodKind | None,
    actor: Account | None = None,
    actor_label: str = "cli",
) -> None:
    """Record that a node collects monthly or quarterly (None: inherit again); audited."""
    if period is None:
        await activity_queries.delete_rule_override(
            session, org_unit_id=org.id, rule_key=DUES_RULE_KEY
        )
    elif period not in DUES_PERIODS:
        raise SettingRefused("dues are collected monthly or quarterly")
    else:
        await activity_queries.save_rule_override(
            session,
            org_unit_id=org.id,
            rule_key=DUES_RULE_KEY,
            period=period.value,
            created_by=actor.id if actor else None,
        )
    await queries.audit(
        session,
        action="dues.period",
        actor=actor,
        actor_label=actor_label,
        target_type="org_unit",
        target_id=org.id,
        org_unit_id=org.id,
        details={"period": period.value if period else None},
    )


async def set_local(
    session: AsyncSession,
    *,
    org: OrgUnit,
    changes: Mapping[str, int | None],
    actor: Account | None = None,
    actor_label: str = "cli",
) -> LocalSetting:
    """Change a node's own choices (a value of None goes back to the inherited one); audited."""
    if "dues_day" in changes and org.kind is not OrgKind.BRANCH:
        raise SettingRefused("the collection day is a branch's own")
    row = await dq.save_local_setting(session, org.id, **changes)
    await queries.audit(
        session,
        action="local.settings",
        actor=actor,
        actor_label=actor_label,
        target_type="org_unit",
        target_id=org.id,
        org_unit_id=org.id,
        details=dict(changes),
    )
    return row
