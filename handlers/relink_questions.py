"""The questions of /relink: their order, their words and buttons, and the summary to send.

Which question comes next depends only on the answers so far (`next_state`); each question is
a text and its buttons, built from the draft without touching the conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.context import BotContext
from bot.enums import OrgKind, RequestType
from handlers.common import escape, keyboard
from handlers.relink_buttons import RequestKind, SendRequest, SkipQuestion, StopRequest
from handlers.relink_texts import TYPE_LABELS
from storage import queries

TYPE, NAME, HOME, YEAR, CITY, EMPLOYER, PHONE, OTHER, CONFIRM = (
    "type",
    "name",
    "home",
    "year",
    "city",
    "employer",
    "phone",
    "other",
    "confirm",
)
ORDER = (TYPE, NAME, HOME, YEAR, CITY, EMPLOYER, PHONE, OTHER)
DATA_KEYS = {
    TYPE: "type",
    NAME: "name",
    HOME: "home_id",
    YEAR: "join_year",
    CITY: "city",
    EMPLOYER: "employer",
    PHONE: "phone",
    OTHER: "other_id",
}
OPTIONAL = (CITY, EMPLOYER, PHONE, OTHER)
SEARCH_RESULTS = 8
HOME_KINDS = (OrgKind.COMMITTEE, OrgKind.GENERAL_BRANCH)
Question = tuple[str, InlineKeyboardMarkup | None]


def next_state(data: dict[str, Any]) -> str:
    """The first question not answered yet (a reconnect has no other branch), or the summary."""
    for state in ORDER:
        if state == OTHER and data.get("type") == RequestType.RECONNECT.value:
            continue
        if DATA_KEYS[state] not in data:
            return state
    return CONFIRM


def _skip(context: BotContext) -> InlineKeyboardMarkup:
    return keyboard([[(context._("Skip"), SkipQuestion().data)]])


def _ask_type(context: BotContext, data: dict[str, Any]) -> Question:
    _ = context._
    text = _(
        "What do you need?\n\n"
        "1. <b>Mobile member</b>: you are away for a while (studying, working elsewhere) "
        "and your ties stay with your home branch.\n"
        "2. <b>Transfer</b>: you have lived or worked at a fixed place for 6 months or "
        "more, and your ties should move to a branch there.\n"
        "3. <b>Reconnect</b>: you lost contact with your branch and want to return to "
        "Party life."
    )
    rows = [
        [(_("1. Report as a mobile member"), RequestKind(RequestType.MOBILE).data)],
        [(_("2. Transfer my ties"), RequestKind(RequestType.TRANSFER).data)],
        [(_("3. Reconnect after losing contact"), RequestKind(RequestType.RECONNECT).data)],
    ]
    return text, keyboard(rows)


def _ask_name(context: BotContext, data: dict[str, Any]) -> Question:
    return context._("Your full name, as on your branch's roster:"), None


def _ask_home(context: BotContext, data: dict[str, Any]) -> Question:
    return (
        context._(
            "Which Party branch did you belong to? Type part of its name or its code; "
            "I will search."
        ),
        None,
    )


def _ask_year(context: BotContext, data: dict[str, Any]) -> Question:
    return context._("In which year did you join the Party? (for example 2008)"), None


def _ask_city(context: BotContext, data: dict[str, Any]) -> Question:
    text = context._(
        "Where are you now? City (and district), optional: only those handling your request "
        "(the branches involved and their Party committee) see it, to arrange Party life "
        "near you."
    )
    return text, _skip(context)


def _ask_employer(context: BotContext, data: dict[str, Any]) -> Question:
    text = context._(
        "Your employer or school there (optional): only those handling your request see it; "
        "it helps them find the Party organisation closest to you."
    )
    return text, _skip(context)


def _ask_phone(context: BotContext, data: dict[str, Any]) -> Question:
    text = context._(
        "A phone number where the branch can reach you (optional; your Telegram account is enough):"
    )
    return text, _skip(context)


def _ask_other(context: BotContext, data: dict[str, Any]) -> Question:
    if data.get("type") == RequestType.TRANSFER.value:
        return context._("Which branch are you moving to? Type part of its name or its code."), None
    text = context._(
        "Do you take part in Party life at a branch where you are now? Type part of its name "
        "or its code, or skip."
    )
    return text, _skip(context)


QUESTIONS: dict[str, Callable[[BotContext, dict[str, Any]], Question]] = {
    TYPE: _ask_type,
    NAME: _ask_name,
    HOME: _ask_home,
    YEAR: _ask_year,
    CITY: _ask_city,
    EMPLOYER: _ask_employer,
    PHONE: _ask_phone,
    OTHER: _ask_other,
}


async def question(
    session: AsyncSession, context: BotContext, state: str, data: dict[str, Any]
) -> Question:
    """The question of a state (the summary for CONFIRM), in the reader's language."""
    if state == CONFIRM:
        return await _confirmation(session, context, data)
    return QUESTIONS[state](context, data)


async def _confirmation(
    session: AsyncSession, context: BotContext, data: dict[str, Any]
) -> Question:
    _ = context._
    locale = context.tr.locale
    home = await queries.org_by_id(session, int(data["home_id"]))
    other_id = data.get("other_id")
    other = await queries.org_by_id(session, int(other_id)) if other_id else None
    kind = RequestType(data["type"])
    place = context._(", ").join(p for p in (data.get("city"), data.get("employer")) if p)
    lines = [
        _("<b>Please check your request</b>"),
        _("Request: {type}").format(type=_(TYPE_LABELS[kind])),
        _("Name: {name}").format(name=escape(str(data["name"]))),
        _("Home branch: {branch}").format(
            branch=escape(home.display_name(locale) if home else "?")
        ),
        _("Joined the Party in: {year}").format(year=data.get("join_year") or "?"),
        _("Now in: {place}").format(place=escape(place) if place else _("(none)")),
        _("Phone: {phone}").format(phone=escape(str(data.get("phone") or _("(none)")))),
    ]
    if other is not None:
        label = (
            _("Receiving branch: {branch}")
            if kind is RequestType.TRANSFER
            else _("Takes part in Party life at: {branch}")
        )
        lines.append(label.format(branch=escape(other.display_name(locale))))
    rows = [[(_("Send the request"), SendRequest().data)], [(_("Cancel"), StopRequest().data)]]
    return "\n".join(lines), keyboard(rows)
