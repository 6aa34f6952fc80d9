"""The keyboards of notices: under each reader's copy, under the admin's status, on previews.

bot.app hands `KEYBOARDS` to the delivery worker, which puts them under the copies it sends
and the progress it reports; the handlers use the same functions for their own replies.
"""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardMarkup

from bot.i18n import Translator
from bot.notices import NoticeAction, NoticeKeyboards
from handlers.common import keyboard
from handlers.notice_buttons import Acknowledge, Acknowledged, PreviewAck, ResendNotice, StopNotice


def ack_keyboard(tr: Translator, delivery_id: int) -> InlineKeyboardMarkup:
    """The acknowledge button under a reader's copy."""
    return keyboard([[(tr._("Acknowledge"), Acknowledge(delivery_id).data)]])


def acked_keyboard(tr: Translator, delivery_id: int, at: dt.datetime) -> InlineKeyboardMarkup:
    """The button once pressed: it shows when."""
    label = tr._("✓ Acknowledged {time}").format(time=tr.datetime(at))
    return keyboard([[(label, Acknowledged(delivery_id).data)]])


def preview_keyboard(tr: Translator) -> InlineKeyboardMarkup:
    """The acknowledge button as readers will see it, on the admin's preview."""
    return keyboard([[(tr._("Acknowledge"), PreviewAck().data)]])


def status_keyboard(
    tr: Translator, notice_id: int, action: NoticeAction | None
) -> InlineKeyboardMarkup | None:
    """Stop while it goes out; re-send to non-acknowledgers once it has."""
    if action is NoticeAction.STOP:
        return keyboard([[(tr._("Cancel this notice"), StopNotice(notice_id).data)]])
    if action is NoticeAction.RESEND:
        label = tr._("Re-send to those who have not acknowledged")
        return keyboard([[(label, ResendNotice(notice_id).data)]])
    return None


class _Keyboards:
    """The notice keyboards, as the delivery worker asks for them."""

    def copy(self, tr: Translator, delivery_id: int) -> InlineKeyboardMarkup:
        return ack_keyboard(tr, delivery_id)

    def status(
        self, tr: Translator, notice_id: int, action: NoticeAction | None
    ) -> InlineKeyboardMarkup | None:
        return status_keyboard(tr, notice_id, action)


KEYBOARDS: NoticeKeyboards = _Keyboards()
