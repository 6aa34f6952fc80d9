"""One line per dues, lapse and lost-contact reminder, in the reader's language (bot.reminders
.render sends them, alone, coalesced or in the digest)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.enums import ReminderKind
from bot.i18n import N_, Translator
from bot.reminders.payloads import (
    DuesAccountPayload,
    DuesCollectionPayload,
    DuesPayload,
    LapsePayload,
    LostContactPayload,
    Payload,
)
from bot.rules.calendar import PeriodKind, period_from_key
from bot.rules.dues import first_day, format_amount, parse_month

if TYPE_CHECKING:
    from bot.reminders.render import Names

DUES_KIND_NAMES: dict[ReminderKind, str] = {
    ReminderKind.DUES: N_("Party dues"),
    ReminderKind.DUES_COLLECTION: N_("Party dues collection"),
    ReminderKind.LAPSE: N_("members without organisational life or dues"),
    ReminderKind.LOST_CONTACT: N_("lost-contact register deadlines"),
}


def month_label(tr: Translator, key: str | None) -> str:
    """November 2026 / 2026年11月 for `2026-11`."""
    month = parse_month(key or "")
    if month is None:
        return "?"
    return tr.month(first_day(month))


def period_label(tr: Translator, key: str) -> str:
    """A collection period: a month, or `Q4 2026`."""
    period = period_from_key(key)
    if period is None:
        return "?"
    if period.kind is PeriodKind.QUARTER:
        quarter = (period.start.month + 2) // 3
        return tr._("Q{quarter} {year}").format(quarter=quarter, year=period.start.year)
    return month_label(tr, key)


def yuan(tr: Translator, fen: int) -> str:
    """An amount with its unit: 12.50 yuan / 12.50 元."""
    return tr._("{amount} yuan").format(amount=format_amount(fen))


def _dues(tr: Translator, p: DuesPayload, names: Names) -> str:
    text = tr._("Party dues for {month}: {amount}, to be paid to your branch, {branch}.").format(
        month=month_label(tr, p.month),
        amount=yuan(tr, p.amount_fen),
        branch=names.branch(tr, p.branch_id),
    )
    if p.months_owed:
        text += " " + tr.ngettext(
            "{count} earlier month is not paid yet either.",
            "{count} earlier months are not paid yet either.",
            p.months_owed,
        ).format(count=p.months_owed)
    return text


def _collection(tr: Translator, p: DuesCollectionPayload, names: Names) -> str:
    values = {
        "branch": names.branch(tr, p.branch_id),
        "period": period_label(tr, p.period),
        "date": tr.date(p.due_day) if p.due_day is not None else "?",
    }
    if p.overdue:
        return tr._(
            "{branch}: the Party dues for {period} were not all recorded by {date}. See /dues."
        ).format(**values)
    if p.days == 1:
        return tr._(
            "{branch}: today is the last day to collect the Party dues for {period}. See /dues."
        ).format(**values)
    return tr._(
        "{branch}: the Party dues for {period} are not all recorded yet; due by {date}."
    ).format(**values)


def _account(tr: Translator, p: DuesAccountPayload, names: Names) -> str:
    return tr._(
        "{branch}: the Party dues account for {year}. Collected: {amount}. Members who paid: "
        "{payers} of {members}. Months in arrears: {arrears}. No individual amounts are "
        "published."
    ).format(
        branch=names.branch(tr, p.branch_id),
        year=p.year,
        amount=yuan(tr, p.collected_fen),
        payers=p.payers,
        members=p.members,
        arrears=p.arrears_months,
    )


def _lapse(tr: Translator, p: LapsePayload, names: Names) -> str:
    values = {
        "name": names.person(p.person_id),
        "branch": names.branch(tr, p.branch_id),
        "since": month_label(tr, p.since),
    }
    head = tr.ngettext(
        "{name} ({branch}) has had no organisational life and no Party dues for {months} "
        "whole month, since {since}.",
        "{name} ({branch}) has had no organisational life and no Party dues for {months} "
        "whole months, since {since}.",
        p.months,
    ).format(months=p.months, **values)
    part = (
        tr._("Last took part in organisational life: {month}.").format(
            month=month_label(tr, p.last_part)
        )
        if p.last_part
        else tr._("No organisational life of theirs is recorded since {month}.").format(
            month=month_label(tr, p.since)
        )
    )
    paid = (
        tr._("Dues paid up to: {month}.").format(month=month_label(tr, p.last_paid))
        if p.last_paid
        else tr._("No dues of theirs are recorded.")
    )
    if p.mobile:
        advice = tr._(
            "They are a mobile member: reach them through the mobile-member channel (the "
            "branch where they now take part, or /relink) and hear how they are."
        )
    else:
        advice = tr._("Suggestion: have a heart-to-heart talk with them soon.")
    lines = [head, part, paid, advice]
    if p.escalated:
        lines.append(tr._("The branch secretary was told earlier."))
    lines.append(
        tr._("Six months in a row would count as leaving the Party; the branch decides, not Zhibu.")
    )
    return "\n".join(lines)


def _lost_contact(tr: Translator, p: LostContactPayload, names: Names) -> str:
    who = (
        names.person(p.person_id)
        if p.person_id is not None
        else tr._("a member on the lost-contact register (No. {entry})").format(entry=p.entry_id)
    )
    return tr._(
        "{who} ({branch}) lost contact on {date}, {months} months ago: the branch and the "
        "organisation department decide now (see /report relink)."
    ).format(
        who=who, branch=names.branch(tr, p.branch_id), date=tr.date(p.lost_on), months=p.months
    )


DUES_LINES: dict[type[Any], Callable[[Translator, Any, Names], str]] = {
    DuesPayload: _dues,
    DuesCollectionPayload: _collection,
    DuesAccountPayload: _account,
    LapsePayload: _lapse,
    LostContactPayload: _lost_contact,
}


def dues_icon(payload: Payload) -> str | None:
    """The mark of a dues reminder sent on its own (None: the usual one)."""
    if isinstance(payload, LapsePayload | LostContactPayload):
        return "⚠️ "
    if isinstance(payload, DuesAccountPayload):
        return "📒 "
    return None
