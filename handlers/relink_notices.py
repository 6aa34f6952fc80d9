"""Relink notices: what each reader is told when a request moves, with their own card.

`render` is the renderer bot.relink.notifier calls for every recipient, inside its read-only
session; the notifier sends after the session is closed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import ReconnectStep, RequestType
from bot.i18n import Translator
from bot.relink.model import Audience, Event, EventKind
from bot.relink.notifier import Notice, Rendered
from handlers.common import escape
from handlers.relink_cards import build_card
from handlers.relink_texts import EVENT_LABELS, STEP_LABELS, unit_label
from storage.models import OrgUnit
from storage.models_relink import RelinkRequest


def _member_notice(tr: Translator, row: RelinkRequest, event: Event, placed: OrgUnit | None) -> str:
    """What the member is told of an event on their request."""
    text = _decision_notice(tr, row, event) or _progress_notice(tr, row, event, placed)
    if text is not None:
        return text
    return tr._("Your request #{id}: {event}.").format(
        id=row.id, event=tr._(EVENT_LABELS[event.kind])
    )


def _decision_notice(tr: Translator, row: RelinkRequest, event: Event) -> str | None:
    _ = tr._
    details = event.details
    kind = event.kind
    if kind is EventKind.ACCEPTED:
        if row.type is RequestType.MOBILE:
            return _(
                "Your request #{id} was accepted: you are registered as a mobile member of "
                "{home}. Report to your home branch at least once a year, and whenever your "
                "place, employer or contact changes (send /relink)."
            ).format(id=row.id, home=unit_label(tr, row.home_branch))
        return _("Your request #{id} was accepted. Your branch will take the next steps.").format(
            id=row.id
        )
    if kind is EventKind.REJECTED:
        return _("Your request #{id} was rejected. Reason: {reason}").format(
            id=row.id, reason=escape(details.get("reason", ""))
        )
    if kind is EventKind.ASKED_MORE:
        return _(
            "Your branch asks about request #{id}: {question}\n\nPress “Answer” to reply."
        ).format(id=row.id, question=escape(details.get("question", "")))
    if kind is EventKind.REOPENED:
        return _("Your request #{id} was reopened and is being reviewed again.").format(id=row.id)
    if kind is EventKind.CANCELLED:
        return _("Your request #{id} was cancelled. Reason: {reason}").format(
            id=row.id, reason=escape(details.get("reason", ""))
        )
    return None


def _progress_notice(
    tr: Translator, row: RelinkRequest, event: Event, placed: OrgUnit | None
) -> str | None:
    _ = tr._
    details = event.details
    kind = event.kind
    if kind is EventKind.LETTER_ISSUED:
        return _(
            "A transfer letter was issued for your request #{id}: No. {number}, valid until "
            "{date}. Your ties move once the receiving branch accepts it."
        ).format(
            id=row.id,
            number=escape(details.get("number", "")),
            date=tr.datetime(dt.datetime.fromisoformat(details["expires_at"])),
        )
    if kind is EventKind.TRANSFER_ACCEPTED:
        return _(
            "The receiving branch accepted your transfer: your organisational ties are now "
            "with {branch}."
        ).format(branch=unit_label(tr, row.receiving_branch))
    if kind is EventKind.LETTER_EXPIRED:
        return _(
            "Your transfer letter No. {number} expired before the receiving branch accepted "
            "it. Your home branch will follow up."
        ).format(number=escape(details.get("number", "")))
    if kind is EventKind.STEP_RECORDED:
        step = ReconnectStep(details["step"])
        return _("Request #{id}: step recorded: {step}.").format(
            id=row.id, step=_(STEP_LABELS[step])
        )
    if kind is EventKind.COMPLETED and row.type is RequestType.RECONNECT:
        return _(
            "Welcome back! You are re-linked to {branch} and your membership status is "
            "regular again. Send /help to see what you can do."
        ).format(branch=unit_label(tr, placed))
    if kind is EventKind.COMPLETED:
        return _("Your mobile member period is recorded as ended (request #{id}).").format(
            id=row.id
        )
    return None


def _side_notice(tr: Translator, row: RelinkRequest, event: Event) -> str:
    """What a decider of either side is told, above the card."""
    _ = tr._
    if event.kind is EventKind.LETTER_EXPIRED:
        return _(
            "⚠ Pocket member: transfer letter No. {number} for {name} (request #{id}) expired "
            "without being accepted. Please follow up: re-issue the letter or cancel."
        ).format(number=escape(event.details.get("number", "")), name=escape(row.name), id=row.id)
    # The member's answer is on the card below.
    return _("Request #{id}: {event}").format(id=row.id, event=_(EVENT_LABELS[event.kind]))


async def render(session: AsyncSession, notice: Notice) -> Rendered:
    """One recipient's message: a notice in their language, with their own card's buttons."""
    tr, row = notice.tr, notice.row
    card = await build_card(session, tr, row, notice.principal, notice.account.id, notice.now)
    if notice.report_place is not None:
        text = tr._(
            "Mobile member {name} reported to the branch (request #{id}); now in: {place}"
        ).format(name=escape(row.name), id=row.id, place=escape(notice.report_place))
        return text + "\n\n" + card.text, card.markup
    event = notice.event
    assert event is not None
    if notice.audience is Audience.REQUESTER:
        markup = card.markup if event.kind is EventKind.ASKED_MORE else None
        return _member_notice(tr, row, event, notice.placed), markup
    return _side_notice(tr, row, event) + "\n\n" + card.text, card.markup
