"""A relink request's card: what one reader sees of it, and only the buttons they may press.

Each card shows the buttons whose actions the machine would accept from its reader now; every
press is checked again when it arrives (handlers.relink_review), so a card is a convenience,
never the authority.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.access import Principal
from bot.enums import ReconnectStep, RequestState, RequestType
from bot.i18n import N_, Translator
from bot.relink import identity, service
from bot.relink.machine import apply
from bot.relink.model import (
    Accept,
    AcceptTransfer,
    Action,
    Actor,
    Answer,
    AskMore,
    AssignedTo,
    Cancel,
    Complete,
    CompleteStep,
    DuesSettled,
    EducationTalkHeld,
    IdentityConfirmed,
    IssueLetter,
    Reject,
    Reopen,
    RequestSnapshot,
    SystemFlagCleared,
    Transition,
    Withdraw,
)
from handlers import relink_buttons as rb
from handlers.buttons import Button
from handlers.common import escape, keyboard
from handlers.relink_texts import STATE_LABELS, STEP_LABELS, TYPE_LABELS, entry_label, unit_label
from storage import relink_queries
from storage.models_relink import RelinkRequest


@dataclass(frozen=True, slots=True)
class CardView:
    """What a reader sees of a request: the text and the buttons they may press."""

    text: str
    markup: InlineKeyboardMarkup | None


# Every button a card can carry: its family, a representative action, its label.
CARD_BUTTONS: tuple[tuple[Callable[[int], Button], Action, str], ...] = (
    (rb.AcceptRequest, Accept(), N_("Accept")),
    (rb.AskMoreRequest, AskMore("?"), N_("Ask for more")),
    (rb.RejectRequest, Reject("?"), N_("Reject")),
    (rb.ReopenRequest, Reopen(), N_("Reopen")),
    (rb.IssueLetterRequest, IssueLetter("?"), N_("Issue transfer letter")),
    (rb.AcceptTransferRequest, AcceptTransfer(), N_("Accept the transfer")),
    (rb.IdentityStep, CompleteStep(IdentityConfirmed()), N_("Identity confirmed")),
    (rb.TalkStep, CompleteStep(EducationTalkHeld(dt.date(2000, 1, 1), "?")), N_("Education talk")),
    (rb.DuesStep, CompleteStep(DuesSettled(0)), N_("Dues settled")),
    (rb.AssignStep, CompleteStep(AssignedTo("?")), N_("Assign to branch")),
    (rb.SystemFlagStep, CompleteStep(SystemFlagCleared()), N_("System flag cleared")),
    (rb.CompleteRequest, Complete(), N_("Complete")),
    (rb.CancelRequest, Cancel("?"), N_("Cancel request")),
    (rb.AnswerRequest, Answer("?"), N_("Answer")),
    (rb.WithdrawRequest, Withdraw(), N_("Withdraw")),
)


def _contact(row: RelinkRequest) -> str:
    telegram = f'<a href="tg://user?id={row.requester.telegram_id}">Telegram</a>'
    if row.requester.username:
        telegram = "@" + escape(row.requester.username)
    return telegram + (f" · {escape(row.phone)}" if row.phone else "")


def _unverified(tr: Translator, row: RelinkRequest, claim_taken: bool) -> list[str]:
    """A name that matches the home roster is only a claim until the deciders confirm it."""
    claimed = row.claimed_person
    if claimed is None or row.person_id is not None:
        return []
    values = {"name": escape(claimed.name), "branch": unit_label(tr, row.home_branch)}
    if claim_taken:
        return [
            tr._(
                "⚠ Unverified: the name matches {name} on the roster of {branch}, who already "
                "uses another Telegram account."
            ).format(**values)
        ]
    return [
        tr._(
            "⚠ Unverified: the name matches {name} on the roster of {branch}. Confirm the "
            "identity (name, date of joining, original branch) before this Telegram account "
            "is linked to that person."
        ).format(**values)
    ]


def _header(tr: Translator, row: RelinkRequest, for_member: bool) -> list[str]:
    _ = tr._
    lines = [
        _("<b>Request #{id}</b>: {type}").format(id=row.id, type=_(TYPE_LABELS[row.type])),
        _("State: {state}").format(state=_(STATE_LABELS[row.state])),
        _("Name: {name}").format(name=escape(row.name))
        + (_("; joined the Party in {year}").format(year=row.join_year) if row.join_year else ""),
        _("Home branch: {branch}").format(branch=unit_label(tr, row.home_branch)),
    ]
    if row.receiving_branch is not None:
        label = (
            _("Receiving branch: {branch}")
            if row.type is RequestType.TRANSFER
            else _("Takes part in Party life at: {branch}")
        )
        lines.append(label.format(branch=unit_label(tr, row.receiving_branch)))
    place = tr._(", ").join(p for p in (row.city, row.employer) if p)
    if place:
        lines.append(_("Now in: {place}").format(place=escape(place)))
    if not for_member:
        lines.append(_("Contact: {contact}").format(contact=_contact(row)))
    lines.append(_("Submitted: {date}").format(date=tr.datetime(row.submitted_at)))
    if row.type is RequestType.MOBILE and row.last_report_at is not None:
        lines.append(
            _("Last report to the home branch: {date}").format(
                date=tr.date(row.last_report_at.astimezone(tr.tz).date())
            )
        )
    return lines


def _progress(
    tr: Translator,
    row: RelinkRequest,
    snapshot: RequestSnapshot,
    answered: dict[str, str] | None = None,
) -> list[str]:
    _ = tr._
    lines = []
    if snapshot.question:
        lines.append(_("Question: {question}").format(question=escape(snapshot.question)))
    elif answered is not None:
        # The member's answer stays on the card the deciders review again.
        lines.append(
            _("Question: {question}").format(question=escape(answered.get("question", "")))
        )
        lines.append(_("Answer: {answer}").format(answer=escape(answered.get("answer", ""))))
    if snapshot.reason and row.state in (RequestState.REJECTED, RequestState.CANCELLED):
        lines.append(_("Reason: {reason}").format(reason=escape(snapshot.reason)))
    if snapshot.letter is not None:
        lines.append(
            _("Transfer letter No. {number}, valid until {date}").format(
                number=escape(snapshot.letter.number),
                date=tr.datetime(snapshot.letter.expires_at),
            )
        )
    if row.type is RequestType.RECONNECT and row.state is not RequestState.SUBMITTED:
        done = {record.detail.step for record in snapshot.steps}
        for step in ReconnectStep:
            mark = "✓" if step in done else "·"
            lines.append(f"{mark} {_(STEP_LABELS[step])}")
    return lines


def card_text(
    tr: Translator,
    row: RelinkRequest,
    snapshot: RequestSnapshot,
    *,
    for_member: bool,
    matches: list[identity.RegisterMatch] | None = None,
    claim_taken: bool = False,
    answered: dict[str, str] | None = None,
) -> str:
    """The request as text; contact details and identity matches only for the deciders."""
    lines = _header(tr, row, for_member) + _progress(tr, row, snapshot, answered)
    if not for_member:
        lines += _unverified(tr, row, claim_taken)
    if matches is not None and not for_member:
        if matches:
            lines.append(tr._("Possible matches in the lost-contact register:"))
            lines.extend("– " + escape(entry_label(match.entry)) for match in matches)
        else:
            lines.append(tr._("No match in the lost-contact register."))
    return "\n".join(lines)


def card_buttons(
    tr: Translator,
    row: RelinkRequest,
    snapshot: RequestSnapshot,
    actor: Actor,
    now: dt.datetime,
    *,
    may_settle_claim: bool = False,
) -> InlineKeyboardMarkup | None:
    """The buttons whose actions the machine would accept from this reader now."""
    rows: list[list[tuple[str, str]]] = []
    done = {record.detail.step for record in snapshot.steps}
    for family, action, label in CARD_BUTTONS:
        if not isinstance(apply(snapshot, action, actor, now), Transition):
            continue
        text = tr._(label)
        if isinstance(action, CompleteStep) and action.detail.step in done:
            text = "✓ " + text
        if family is rb.CompleteRequest and row.type is RequestType.MOBILE:
            text = tr._("End the mobile period")
        rows.append([(text, family(row.id).data)])
    if may_settle_claim:
        rows.insert(0, [(tr._("Confirm identity"), rb.ClaimedIdentity(row.id).data)])
    is_member = actor.person_id == row.requester_account_id
    if is_member and row.type is RequestType.MOBILE and row.state is RequestState.ACTIVE:
        rows.insert(0, [(tr._("Report to my home branch"), rb.ReportPlace(row.id).data)])
    return keyboard(rows) if rows else None


async def build_card(
    session: AsyncSession,
    tr: Translator,
    row: RelinkRequest,
    principal: Principal,
    account_id: int,
    now: dt.datetime,
) -> CardView:
    """A reader's card of a request (who may see it at all is the caller's check)."""
    snapshot = await service.snapshot_of(session, row)
    actor = service.actor_for(principal, account_id, row)
    for_member = account_id == row.requester_account_id
    matches = None
    if row.type is RequestType.RECONNECT and not for_member:
        matches = await identity.register_matches(session, row)
    claim_taken = False
    if row.claimed_person_id is not None and row.person_id is None and not for_member:
        holder = await relink_queries.account_of_person(session, row.claimed_person_id)
        claim_taken = holder is not None and holder.id != row.requester_account_id
    text = card_text(
        tr,
        row,
        snapshot,
        for_member=for_member,
        matches=matches,
        claim_taken=claim_taken,
        answered=await service.last_answer(session, row),
    )
    settle = not claim_taken and identity.may_confirm_claim(principal, account_id, row)
    markup = card_buttons(tr, row, snapshot, actor, now, may_settle_claim=settle)
    return CardView(text, markup)


async def visible_card(
    session: AsyncSession,
    tr: Translator,
    request_id: int,
    principal: Principal,
    account_id: int,
    now: dt.datetime,
) -> CardView | None:
    """The card of a request the reader may see; None for any other id, existing or not."""
    row = await service.visible_request(session, request_id, principal, account_id)
    if row is None:
        return None
    return await build_card(session, tr, row, principal, account_id, now)
