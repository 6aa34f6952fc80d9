"""/reminders: which optional reminders to get, quiet hours and the weekly digest's day."""

from __future__ import annotations

from typing import Literal, get_args

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.enums import ReminderKind, Role
from bot.i18n import N_, Translator
from bot.reminders.quiet import format_clock, parse_clock
from bot.reminders.render import KIND_NAMES
from handlers.buttons import Button, family_pattern
from handlers.common import Refused, edit_or_answer, in_rows, keyboard, sender
from storage import calendar_queries as cq
from storage import planner_queries, queries
from storage import reminder_queries as rq
from storage.models_reminders import ReminderSettings

Quiet = Literal["22-08", "23-07", "21-09", "off"]
# Quiet-hour choices (start, end) in local HH:MM; "off" sends at any hour.
QUIET_CHOICES: dict[Quiet, tuple[int, int]] = {
    "22-08": (22 * 60, 8 * 60),
    "23-07": (23 * 60, 7 * 60),
    "21-09": (21 * 60, 9 * 60),
}
WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
# Pressing the digest time moves it to the next of these hours.
DIGEST_HOURS = (7, 8, 9, 10, 12, 14, 17, 18, 20)
LEADER_KINDS = (
    ReminderKind.CALENDAR,
    ReminderKind.TERM,
    ReminderKind.GRADING,
    ReminderKind.RECTIFICATION,
    ReminderKind.DIGEST,
    ReminderKind.DUES_COLLECTION,
    ReminderKind.LAPSE,
    ReminderKind.LOST_CONTACT,
)
ADMIN_KINDS = (ReminderKind.ESCALATION,)
EVERYONE_KINDS = (
    ReminderKind.TRAINING,
    ReminderKind.INDUCTION,
    ReminderKind.MOBILE_REPORT,
    ReminderKind.DUES,
)
# Meetings' reminders reach anyone invited; a branch's own dates, its leaders; and deputies
# may turn the branch's calendar reminders off altogether.
MEETING_KINDS = (ReminderKind.MEETING,)
BRANCH_DATE_KINDS = (ReminderKind.PREPARATION, ReminderKind.THEMED_DAY)
DEPUTY_KINDS = (ReminderKind.DEPUTY_CALENDAR,)


class ToggleKind(Button, prefix="rem:t"):
    """Mute or unmute one kind of reminder (one the presser is offered)."""

    kind: ReminderKind


class QuietHoursChoice(Button, prefix="rem:q"):
    """Choose quiet hours, or none."""

    choice: Quiet


class DigestDay(Button, prefix="rem:d"):
    """Move the weekly digest to this ISO weekday."""

    weekday: int


# Time zones offered in /reminders: the organisation's own and where members commonly work
# away from it (a mobile member in Europe wants reminders at their own morning).
Zone = Literal[
    "Asia/Shanghai",
    "Asia/Urumqi",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Dubai",
    "Europe/Moscow",
    "Europe/Berlin",
    "Europe/London",
    "Africa/Nairobi",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
]


class TimeZoneChoice(Button, prefix="rem:z"):
    """Show the time zones (no zone), or set the presser's own time zone."""

    zone: Zone | None = None


class DigestHour(Button, prefix="rem:h"):
    """Move the weekly digest to this local hour."""

    hour: int


def _kinds(context: BotContext) -> list[ReminderKind]:
    roles = context.principal.roles()
    kinds = list(EVERYONE_KINDS) + list(MEETING_KINDS)
    if roles & {Role.SECRETARY, Role.DEPUTY, Role.ADMIN}:
        kinds += LEADER_KINDS
    if roles & {Role.SECRETARY, Role.DEPUTY}:
        kinds += BRANCH_DATE_KINDS
    if Role.DEPUTY in roles:
        kinds += DEPUTY_KINDS
    if Role.ADMIN in roles:
        kinds += ADMIN_KINDS
    return kinds


def _reads_digest(context: BotContext) -> bool:
    # The weekly digest goes to branch secretaries (see bot.reminders.sources).
    return Role.SECRETARY in context.principal.roles()


def _view(context: BotContext, prefs: ReminderSettings) -> tuple[str, list[list[tuple[str, str]]]]:
    settings = context.settings
    start = prefs.quiet_start
    end = prefs.quiet_end
    if start is None or end is None:
        start, end = (
            parse_clock(settings.reminder_quiet_start),
            parse_clock(settings.reminder_quiet_end),
        )
    weekday = prefs.digest_weekday or settings.reminder_digest_weekday
    hour = settings.reminder_digest_hour if prefs.digest_hour is None else prefs.digest_hour
    if start == end:
        quiet = context._("Quiet hours: off.")
    else:
        quiet = context._("Quiet hours: {start}–{end} ({zone}).").format(
            start=format_clock(start), end=format_clock(end), zone=context.tr.time_zone
        )
    digest = _reads_digest(context)
    lines = [
        context._("<b>Your reminders</b>"),
        context._("Press a kind to turn it on or off."),
        quiet,
    ]
    if digest:
        lines.append(
            context._("Weekly digest: {day} at {hour}:00.").format(
                day=context._(WEEKDAYS[weekday - 1]), hour=f"{hour:02d}"
            )
        )
    lines += [
        "",
        context._(
            "Deadlines within 24 hours always reach you, even during quiet hours or when muted."
        ),
    ]
    text = "\n".join(lines)
    rows = [
        [
            (
                ("🔕 " if kind.value in prefs.muted else "🔔 ") + context._(KIND_NAMES[kind]),
                ToggleKind(kind).data,
            )
        ]
        for kind in _kinds(context)
    ]
    quiet_row = [
        (
            ("• " if (start, end) == value else "") + key.replace("-", "–"),
            QuietHoursChoice(key).data,
        )
        for key, value in QUIET_CHOICES.items()
    ]
    quiet_row.append(
        (("• " if start == end else "") + context._("no quiet hours"), QuietHoursChoice("off").data)
    )
    rows.append(quiet_row)
    rows.append(
        [
            (
                context._("Time zone: {zone}").format(zone=context.tr.time_zone),
                TimeZoneChoice().data,
            )
        ]
    )
    if not digest:
        return text, rows
    later = next((h for h in DIGEST_HOURS if h > hour), DIGEST_HOURS[0])
    rows.append(
        [
            (
                context._("Digest day: {day}").format(day=context._(WEEKDAYS[weekday - 1])),
                DigestDay(weekday % 7 + 1).data,
            ),
            (
                context._("Digest time: {hour}:00").format(hour=f"{hour:02d}"),
                DigestHour(later).data,
            ),
        ]
    )
    return text, rows


@sender(registered=True)
async def show(update: Update, context: BotContext) -> None:
    """Show the reminder settings with their buttons."""
    async with context.db.begin() as session:
        prefs = await rq.settings_of(session, context.actor_id)
        text, rows = _view(context, prefs)
    await edit_or_answer(update, context, text, keyboard(rows))


def _apply(context: BotContext, prefs: ReminderSettings, data: str | None) -> None:
    """Change the presser's own settings as the button says; Refused for a choice they are
    not offered (a kind they do not get, the digest of a non-secretary, an odd value)."""
    if (kind := ToggleKind.parse(data)) is not None:
        if kind.kind not in _kinds(context):
            raise Refused()
        prefs.muted = sorted(set(prefs.muted) ^ {kind.kind.value})
    elif (quiet := QuietHoursChoice.parse(data)) is not None:
        if quiet.choice == "off":
            prefs.quiet_start, prefs.quiet_end = 0, 0
        else:
            prefs.quiet_start, prefs.quiet_end = QUIET_CHOICES[quiet.choice]
    elif (day := DigestDay.parse(data)) is not None:
        if not _reads_digest(context) or not 1 <= day.weekday <= 7:
            raise Refused()
        prefs.digest_weekday = day.weekday
    elif (hour := DigestHour.parse(data)) is not None:
        if not _reads_digest(context) or hour.hour not in DIGEST_HOURS:
            raise Refused()
        prefs.digest_hour = hour.hour
    else:
        raise Refused()


def _zones(context: BotContext) -> list[list[tuple[str, str]]]:
    zones = list(get_args(Zone))
    current = context.tr.time_zone
    pairs = [(("• " if z == current else "") + z, TimeZoneChoice(z).data) for z in zones]
    return in_rows(pairs, 2)


@sender(registered=True)
async def pressed(update: Update, context: BotContext) -> None:
    """Toggle a kind, choose quiet hours or move the digest (the presser's own settings)."""
    data = update.callback_query.data if update.callback_query else None
    if (zone := TimeZoneChoice.parse(data)) is not None:
        await _zone_pressed(update, context, zone.zone)
        return
    async with context.db.begin() as session:
        prefs = await rq.settings_of(session, context.actor_id)
        _apply(context, prefs, data)
        deputy_of = [g.org_id for g in context.principal.grants if g.role is Role.DEPUTY]
        if ReminderKind.DEPUTY_CALENDAR.value in prefs.muted:
            # Opted out: what was planned for the deputy's branches goes too.
            await cq.withdraw_branch_calendar(
                session, account_id=context.actor_id, branch_ids=deputy_of
            )
        else:
            # Perhaps opted back in: the branches are planned again, the deputy with them.
            await planner_queries.mark_branches(session, deputy_of)
        text, rows = _view(context, prefs)
    await edit_or_answer(update, context, text, keyboard(rows))


async def _zone_pressed(update: Update, context: BotContext, zone: str | None) -> None:
    """List the time zones, or store the presser's own and show the settings in it."""
    if zone is None:
        text = context._("Choose your time zone: reminders, quiet hours and the digest follow it.")
        await edit_or_answer(update, context, text, keyboard(_zones(context)))
        return
    async with context.db.begin() as session:
        await queries.set_time_zone(session, context.actor_id, zone)
        context.use_translator(Translator(context.tr.locale, zone))
        prefs = await rq.settings_of(session, context.actor_id)
        text, rows = _view(context, prefs)
    await edit_or_answer(update, context, text, keyboard(rows))


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The /reminders command and its buttons."""
    return [
        CommandHandler("reminders", show),
        CallbackQueryHandler(
            pressed,
            pattern=family_pattern(
                ToggleKind, QuietHoursChoice, DigestDay, DigestHour, TimeZoneChoice
            ),
        ),
    ]
