"""/reminders: which optional reminders to get, quiet hours and the weekly digest's day."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.enums import ReminderKind, Role
from bot.i18n import N_
from bot.reminders.quiet import format_clock, parse_clock
from bot.reminders.render import KIND_NAMES
from handlers.common import edit_or_answer, keyboard, refuse, sender
from storage import reminder_queries as rq
from storage.models_reminders import ReminderSettings

# Quiet-hour choices (start, end) in local HH:MM; "off" sends at any hour.
QUIET_CHOICES = {"22-08": (22 * 60, 8 * 60), "23-07": (23 * 60, 7 * 60), "21-09": (21 * 60, 9 * 60)}
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
)
ADMIN_KINDS = (ReminderKind.ESCALATION,)
EVERYONE_KINDS = (ReminderKind.TRAINING, ReminderKind.INDUCTION, ReminderKind.MOBILE_REPORT)


def _kinds(context: BotContext) -> list[ReminderKind]:
    roles = context.principal.roles()
    kinds = list(EVERYONE_KINDS)
    if roles & {Role.SECRETARY, Role.DEPUTY, Role.ADMIN}:
        kinds += LEADER_KINDS
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
                f"rem:t:{kind.value}",
            )
        ]
        for kind in _kinds(context)
    ]
    quiet_row = [
        (("• " if (start, end) == value else "") + key.replace("-", "–"), f"rem:q:{key}")
        for key, value in QUIET_CHOICES.items()
    ]
    quiet_row.append((("• " if start == end else "") + context._("no quiet hours"), "rem:q:off"))
    rows.append(quiet_row)
    if not digest:
        return text, rows
    later = next((h for h in DIGEST_HOURS if h > hour), DIGEST_HOURS[0])
    rows.append(
        [
            (
                context._("Digest day: {day}").format(day=context._(WEEKDAYS[weekday - 1])),
                f"rem:d:{weekday % 7 + 1}",
            ),
            (context._("Digest time: {hour}:00").format(hour=f"{hour:02d}"), f"rem:h:{later}"),
        ]
    )
    return text, rows


@sender(registered=True)
async def show(update: Update, context: BotContext) -> None:
    """Show the reminder settings with their buttons."""
    assert context.account is not None
    async with context.db.begin() as session:
        prefs = await rq.settings_of(session, context.account.id)
    text, rows = _view(context, prefs)
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True)
async def pressed(update: Update, context: BotContext) -> None:
    """Toggle a kind, choose quiet hours or move the digest to the next weekday."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.account is not None
    _, what, value = query.data.split(":")
    async with context.db.begin() as session:
        prefs = await rq.settings_of(session, context.account.id)
        if what == "t" and value in {kind.value for kind in _kinds(context)}:
            muted = set(prefs.muted)
            muted ^= {value}
            prefs.muted = sorted(muted)
        elif what == "q" and value == "off":
            prefs.quiet_start, prefs.quiet_end = 0, 0
        elif what == "q" and value in QUIET_CHOICES:
            prefs.quiet_start, prefs.quiet_end = QUIET_CHOICES[value]
        elif what == "d" and _reads_digest(context) and value.isdigit() and 1 <= int(value) <= 7:
            prefs.digest_weekday = int(value)
        elif what == "h" and _reads_digest(context) and value in {str(h) for h in DIGEST_HOURS}:
            prefs.digest_hour = int(value)
        else:
            await refuse(update, context)
            return
    text, rows = _view(context, prefs)
    await edit_or_answer(update, context, text, keyboard(rows))


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The /reminders command and its buttons."""
    return [
        CommandHandler("reminders", show),
        CallbackQueryHandler(
            pressed, pattern=r"^rem:(t:[a-z_]{1,24}|q:[0-9a-z-]{1,8}|d:[1-7]|h:\d{1,2})$"
        ),
    ]
