"""`zhibu rules` (calendar rule overrides for a subtree) and `zhibu terms` (branch terms)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from typing import Any

from bot.cli.common import fail, prepare_database
from bot.compliance import RULE_KEYS, OverrideError, rule_book, set_override
from bot.config import Settings
from bot.dues.local import SettingRefused, period_of, set_dues_period
from bot.enums import BranchCategory
from bot.reminders.planner import add_months
from bot.reminders.terms import term_years
from bot.rules.calendar import PeriodKind
from bot.rules.dues import DUES_RULE_KEY
from storage import queries
from storage import reminder_queries as rq
from storage.db import transaction
from storage.models_reminders import BranchTerm


def add_parsers(sub: Any) -> None:
    """`rules` and `terms`."""
    rules = sub.add_parser("rules", help="calendar rules for a subtree")
    actions = rules.add_subparsers(dest="action", required=True)
    set_cmd = actions.add_parser("set", help="override a rule for the subtree of a node")
    set_cmd.add_argument("--org", required=True, help="code of the organisation node")
    set_cmd.add_argument("--rule", required=True, choices=(*RULE_KEYS, DUES_RULE_KEY))
    set_cmd.add_argument("--period", choices=[p.value for p in PeriodKind])
    set_cmd.add_argument("--min-count", type=int)
    set_cmd.add_argument("--only-quarter", type=int, choices=[0, 1, 2, 3, 4])
    set_cmd.add_argument("--enabled", choices=["yes", "no"])
    set_cmd.add_argument(
        "--lead",
        help='days before the period ends that reminders come, e.g. "21,7,1" '
        '("default": by the period)',
    )
    set_cmd.add_argument(
        "--quorum", choices=["yes", "no"], help="more than half of the body must be present"
    )
    set_cmd.add_argument(
        "--prepare-from",
        type=int,
        choices=range(13),
        metavar="0-12",
        help="month the preparation steps are reminded from (0: none)",
    )
    set_cmd.set_defaults(handler=rules_command)
    show = actions.add_parser("show", help="the rules in force at a node")
    show.add_argument("--org", required=True)
    show.set_defaults(handler=rules_command)

    terms = sub.add_parser(
        "terms",
        help="branch terms (换届); without --years: ZHIBU_TERM_YEARS, or "
        "ZHIBU_TERM_YEARS_VILLAGE_COMMUNITY for village and community branches",
    )
    actions = terms.add_subparsers(dest="action", required=True)
    set_term = actions.add_parser("set", help="record when a branch's current term started")
    set_term.add_argument("--org", required=True, help="code of the branch")
    set_term.add_argument("--started", required=True, type=dt.date.fromisoformat)
    set_term.add_argument("--category", choices=[c.value for c in BranchCategory])
    set_term.add_argument("--years", type=int, choices=range(1, 11), metavar="1-10")
    set_term.set_defaults(handler=terms_command)
    show_term = actions.add_parser("show", help="a branch's term and when it ends")
    show_term.add_argument("--org", required=True)
    show_term.set_defaults(handler=terms_command)


def rules_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu rules set|show`: change (audited) and print the rules in force at a node."""

    async def run() -> int:
        async with transaction(settings.database_url) as session:
            org = await queries.org_by_code(session, args.org)
            if org is None:
                return fail(f"no organisation node with code {args.org!r}")
            if args.action == "set" and args.rule == DUES_RULE_KEY:
                try:
                    await set_dues_period(
                        session, org=org, period=PeriodKind(args.period) if args.period else None
                    )
                except SettingRefused as exc:
                    return fail(f"refused: {exc}")
            elif args.action == "set":
                enabled = None if args.enabled is None else args.enabled == "yes"
                fields = {
                    "period": args.period,
                    "min_count": args.min_count,
                    "only_quarter": args.only_quarter,
                    "enabled": enabled,
                    "lead_days": "" if args.lead == "default" else args.lead,
                    "quorum": None if args.quorum is None else args.quorum == "yes",
                    "prepare_from": args.prepare_from,
                }
                try:
                    await set_override(session, org=org, rule_key=args.rule, fields=fields)
                except OverrideError as exc:
                    return fail(f"refused: {exc}")
            book = await rule_book(session, org.path)
            print(f"{DUES_RULE_KEY}: collected every {period_of(book, org.path).value}")
            for rule in book.rules_for(org.path):
                quarter = f" in Q{rule.only_quarter}" if rule.only_quarter else ""
                state = "" if rule.enabled else " (disabled)"
                extra = ", reminded " + ",".join(str(d) for d in rule.leads()) + " days before"
                if rule.quorum:
                    extra += ", quorum: more than half"
                if rule.prepare_from:
                    extra += f", prepared from month {rule.prepare_from}"
                print(
                    f"{rule.key}: {rule.min_count} per {rule.period.value}{quarter}{state}{extra}"
                )
        return 0

    prepare_database(settings)
    return asyncio.run(run())


def terms_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu terms set|show`: a branch's term (changes audited) and when it ends."""

    async def run() -> int:
        async with transaction(settings.database_url) as session:
            org = await queries.org_by_code(session, args.org)
            if org is None:
                return fail(f"no organisation node with code {args.org!r}")
            if args.action == "set":
                term = await rq.set_branch_term(
                    session,
                    org_unit_id=org.id,
                    started_on=args.started,
                    category=BranchCategory(args.category) if args.category else None,
                    years=args.years,
                )
                await queries.audit(
                    session,
                    action="branch.term",
                    actor_label="cli",
                    target_type="org_unit",
                    target_id=org.id,
                    org_unit_id=org.id,
                    details={
                        "started_on": args.started.isoformat(),
                        "category": term.category,
                        "years": args.years,
                    },
                )
            else:
                found = await session.get(BranchTerm, org.id)
                if found is None:
                    print(f"{org.code}: no term recorded")
                    return 0
                term = found
            years = term_years(term, settings)
            ends = add_months(term.term_started_on, 12 * years)
            print(
                f"{org.code}: {term.category} branch, term of {years} years from "
                f"{term.term_started_on.isoformat()}, ends {ends.isoformat()}"
            )
        return 0

    prepare_database(settings)
    return asyncio.run(run())
