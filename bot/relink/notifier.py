"""Telling everyone a relink outcome concerns, each in their own language, after the commit.

What each reader sees (the text, and the buttons of their own card) is the Telegram layer's
business: it hands in a `Render`. This module gathers who is told and in what capacity, lets
the renderer compose each message inside one read-only session, closes it, and only then
sends: no transaction is open while Telegram is called.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup
from telegram.error import TelegramError
from telegram.ext import Application

from bot.access import Principal
from bot.accounts import principal_of, translator_for
from bot.context import SERVICES_KEY, Services
from bot.i18n import Translator
from bot.relink.model import Audience, Event
from bot.relink.service import Outcome
from storage import queries, relink_queries
from storage.models import Account, OrgUnit
from storage.models_relink import RelinkRequest

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]
# Where the composition root keeps the renderer for jobs that notify (bot/app.py sets it).
RENDER_KEY = "zhibu.relink.render"


@dataclass(frozen=True, slots=True)
class Notice:
    """One reader's side of an outcome: what the renderer needs to compose their message."""

    row: RelinkRequest
    event: Event | None
    audience: Audience | None  # None: an admin above the branches
    account: Account
    principal: Principal
    tr: Translator
    placed: OrgUnit | None  # the branch the member is on now
    now: dt.datetime
    report_place: str | None  # a mobile member's report: where they are


Rendered = tuple[str, InlineKeyboardMarkup | None]
Render = Callable[[AsyncSession, Notice], Awaitable[Rendered]]


async def send_notices(
    application: AnyApp,
    outcome: Outcome,
    render: Render | None = None,
    *,
    report_place: str | None = None,
) -> None:
    """Tell every recipient of the outcome (render None: the one the application holds)."""
    if outcome.request is None or not outcome.recipients:
        return
    render = render or application.bot_data[RENDER_KEY]
    services: Services = application.bot_data[SERVICES_KEY]
    messages: list[tuple[int, Rendered]] = []
    async with services.db() as session:
        row = await relink_queries.request_by_id(session, outcome.request.id)
        assert row is not None
        placed = None
        if row.person is not None and row.person.branch_id is not None:
            placed = await queries.org_by_id(session, row.person.branch_id)
        for recipient in outcome.recipients:
            account = await queries.account_by_telegram_id(session, recipient.account.telegram_id)
            assert account is not None
            notice = Notice(
                row=row,
                event=outcome.event,
                audience=recipient.audience,
                account=account,
                principal=await principal_of(session, account),
                tr=translator_for(account, services.settings, None),
                placed=placed,
                now=services.settings.now(),
                report_place=report_place,
            )
            messages.append((account.telegram_id, await render(session, notice)))
    for chat_id, (text, markup) in messages:
        try:
            await application.bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramError as exc:
            log.warning("relink notice of request %s to chat %s failed: %s", row.id, chat_id, exc)
