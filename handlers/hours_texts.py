"""The study-hours lines of /training (a person's year against the yearly target)."""

from __future__ import annotations

from bot.context import BotContext
from bot.dues.hours import PersonYear


def year_lines(context: BotContext, year: PersonYear) -> list[str]:
    """Class hours against the target, then the Party lectures counted."""
    who = (
        context._("the target for secretaries and committee members")
        if year.leader
        else context._("the target for members")
    )
    lines = [
        context._("<b>Your study in {year}</b>: {hours} of {target} class hours ({who}).").format(
            year=year.year, hours=year.hours, target=year.target, who=who
        )
    ]
    if year.lectures:
        lines.append(
            context.tr.ngettext(
                "Party lectures of your branch: {count} ({hours} class hours).",
                "Party lectures of your branch: {count} ({hours} class hours).",
                len(year.lectures),
            ).format(count=len(year.lectures), hours=sum(h for _, h in year.lectures))
        )
    return lines
