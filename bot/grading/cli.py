"""`zhibu grading start`: start a campaign from the command line and notify the secretaries."""

from __future__ import annotations

import datetime as dt

from bot.config import Settings
from bot.errors import CommandError
from bot.grading import service
from bot.grading.announce import start_and_announce
from bot.grading.questionnaire import shipped
from storage import queries
from storage.db import transaction


def parse_bands(text: str) -> tuple[float, float, float]:
    """`90,80,60`: the lowest scores of good, fairly good and ordinary."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise CommandError(f"bands must be three numbers like 90,80,60, not {text!r}") from None
    if len(values) != 3:
        raise CommandError(f"bands must be three numbers like 90,80,60, not {text!r}")
    return values[0], values[1], values[2]


def parse_deadline(text: str, settings: Settings) -> dt.datetime:
    """A YYYY-MM-DD deadline: the end of that day in the organisation's time zone, as UTC."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"the deadline must be a date like 2026-12-31, not {text!r}") from None
    return dt.datetime.combine(day, dt.time(23, 59), tzinfo=settings.tz).astimezone(dt.UTC)


async def start_from_cli(
    settings: Settings,
    *,
    org_code: str,
    deadline: str,
    year: int | None = None,
    self_weight: float = 0.4,
    superior_weight: float = 0.6,
    bands: str = "90,80,60",
    member_target: float = 1.0,
    mass_target: float = 0.1,
    satisfaction_floor: float | None = None,
    questionnaire: str | None = None,
) -> str:
    """Start the campaign and return a one-line summary.

    `questionnaire` is `ID` or `ID@VERSION` of a shipped questionnaire (default: the default).
    """
    try:
        chosen = shipped().resolve(questionnaire) if questionnaire else shipped().default
    except LookupError as exc:
        raise CommandError(str(exc.args[0])) from None
    try:
        config = service.make_config(
            self_weight=self_weight,
            superior_weight=superior_weight,
            bands=parse_bands(bands),
            member_target=member_target,
            mass_target_ratio=mass_target,
            satisfaction_floor=satisfaction_floor,
        )
    except service.CampaignError as exc:
        raise CommandError(str(exc)) from None
    async with transaction(settings.database_url) as session:
        org = await queries.org_by_code(session, org_code)
        if org is None:
            raise CommandError(f"no organisation node with code {org_code!r}")
        # The leaders are told by the running bot's reminder engine (its next tick), in each
        # reader's language and within the bot's flood limits, not by a second Bot here.
        try:
            started = await start_and_announce(
                session,
                root=org,
                deadline=parse_deadline(deadline, settings),
                config=config,
                now=settings.now(),
                year=year,
                questionnaire=chosen,
            )
        except service.CampaignError as exc:
            raise CommandError(str(exc)) from None
    campaign = started.campaign
    return (
        f"campaign {campaign.id} started for {started.branches} branch(es) under {org_code} "
        f"with questionnaire {chosen.id}@{chosen.version}, "
        f"deadline {campaign.deadline.isoformat()}; {started.leaders} secretary account(s) "
        "will be notified by the running bot"
    )
