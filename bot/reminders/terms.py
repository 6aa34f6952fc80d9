"""Branch terms (换届) from the command line: when the committee was elected, and for how long.

    python -m bot.reminders.terms set --org DEMO-B1 --started 2024-01-31 [--category village]
        [--years 5]
    python -m bot.reminders.terms show --org DEMO-B1

Without --years the term is 3 years, 5 for village and community branches (ZHIBU_TERM_YEARS,
ZHIBU_TERM_YEARS_VILLAGE_COMMUNITY). The planner warns 6 and 2 months before the term ends.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Sequence

from bot.config import Settings, SettingsError, load_settings
from bot.enums import BranchCategory
from bot.reminders.planner import add_months
from storage import queries
from storage import reminder_queries as rq
from storage.db import create_engine, session_factory
from storage.models_reminders import BranchTerm


def term_years(term: BranchTerm, settings: Settings) -> int:
    """The term's length: its own, or the default for its category."""
    if term.term_years:
        return term.term_years
    if term.category in (BranchCategory.VILLAGE, BranchCategory.COMMUNITY):
        return settings.term_years_village_community
    return settings.term_years


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.reminders.terms", description="Branch terms (换届)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    set_cmd = sub.add_parser("set", help="record when a branch's current term started")
    set_cmd.add_argument("--org", required=True, help="code of the branch")
    set_cmd.add_argument("--started", required=True, type=dt.date.fromisoformat)
    set_cmd.add_argument("--category", choices=[c.value for c in BranchCategory])
    set_cmd.add_argument("--years", type=int, choices=range(1, 11), metavar="1-10")
    show = sub.add_parser("show", help="a branch's term and when it ends")
    show.add_argument("--org", required=True)
    return parser


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    db = session_factory(engine)
    try:
        async with db.begin() as session:
            org = await queries.org_by_code(session, args.org)
            if org is None:
                print(f"no organisation node with code {args.org!r}", file=sys.stderr)
                return 1
            if args.command == "set":
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
                    actor=None,
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
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    return asyncio.run(_run(args, settings))


if __name__ == "__main__":
    sys.exit(main())
