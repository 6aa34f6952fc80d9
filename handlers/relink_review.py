"""Deciding relink requests: request cards, every button on them, notices when a request moves.

Each card shows only the buttons the machine would accept from its reader, and every press is
checked again by the machine (a forged or stale button gets the machine's refusal, explained).
Actions that need words (a reason, a question, a letter number, the education talk) go through
one small crash-safe conversation, "relink_act", that remembers which request and action it is
answering. Notices go to each reader in their own language after the decision is committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.access import Principal
from bot.accounts import principal_of, translator_for
from bot.config import Settings
from bot.context import SERVICES_KEY, BotContext, Services
from bot.enums import ReconnectStep, RequestState, RequestType
from bot.i18n import N_, Translator
from bot.relink import service
from bot.relink import (
    MAX_LETTER_DAYS,
    Accept,
    AcceptTransfer,
    Action,
    Actor,
    Answer,
    AskMore,
    AssignedTo,
    Audience,
    Cancel,
    Complete,
    CompleteStep,
    DuesSettled,
    EducationTalkHeld,
    Event,
    EventKind,
    IdentityConfirmed,
    IssueLetter,
    Refusal,
    RefusalCode,
    Reject,
    Reopen,
    RequestSnapshot,
    SystemFlagCleared,
    Transition,
    Withdraw,
    apply,
)
from bot.rules.dates import parse_activity_date
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    answer,
    clean_text,
    edit_or_answer,
    escape,
    keyboard,
    refuse,
    sender,
)
from handlers.flow import Flow
from storage import queries, relink_queries
from storage.models import Account, OrgUnit
from storage.models_relink import LostContactEntry, RelinkRequest

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]

FLOW = Flow("relink_act")
TEXT, LETTER_DAYS, TALK_BY = "text", "letter_days", "talk_by"
LONG_TEXT = 300


def _letter_day_choices(default: int) -> list[int]:
    """Buttons for a letter's validity: the city's 10 days, the configured default, the maximum."""
    return sorted({10, default, MAX_LETTER_DAYS})


CARD_PATTERN = r"^rl:[a-z]{1,4}:\d{1,12}(?::\d{1,12})?$"

TYPE_LABELS = {
    RequestType.MOBILE: N_("mobile member report"),
    RequestType.TRANSFER: N_("transfer of organisational ties"),
    RequestType.RECONNECT: N_("reconnecting after losing contact"),
}
STATE_LABELS = {
    RequestState.SUBMITTED: N_("waiting for review"),
    RequestState.NEEDS_INFO: N_("more information requested"),
    RequestState.REJECTED: N_("rejected"),
    RequestState.ACCEPTED: N_("accepted"),
    RequestState.ACTIVE: N_("active: managed by both branches"),
    RequestState.LETTER_ISSUED: N_("transfer letter issued"),
    RequestState.LETTER_EXPIRED: N_("transfer letter expired (pocket member)"),
    RequestState.COMPLETED: N_("completed"),
    RequestState.WITHDRAWN: N_("withdrawn"),
    RequestState.CANCELLED: N_("cancelled"),
}
STEP_LABELS = {
    ReconnectStep.IDENTITY: N_("identity confirmed"),
    ReconnectStep.EDUCATION_TALK: N_("education talk held"),
    ReconnectStep.DUES: N_("dues arrears settled"),
    ReconnectStep.ASSIGNMENT: N_("assigned to a branch or party group"),
    ReconnectStep.SYSTEM_FLAG: N_("lost-contact flag cleared in the national system"),
}
EVENT_LABELS = {
    EventKind.SUBMITTED: N_("new request to review"),
    EventKind.ACCEPTED: N_("accepted"),
    EventKind.REJECTED: N_("rejected"),
    EventKind.ASKED_MORE: N_("more information requested"),
    EventKind.ANSWERED: N_("the member answered"),
    EventKind.REOPENED: N_("reopened"),
    EventKind.LETTER_ISSUED: N_("transfer letter issued"),
    EventKind.LETTER_EXPIRED: N_("transfer letter expired"),
    EventKind.TRANSFER_ACCEPTED: N_("transfer accepted by the receiving branch"),
    EventKind.STEP_RECORDED: N_("step recorded"),
    EventKind.COMPLETED: N_("completed"),
    EventKind.WITHDRAWN: N_("withdrawn by the member"),
    EventKind.CANCELLED: N_("cancelled"),
}
REFUSALS = {
    RefusalCode.FINAL_STATE: N_("This request is already closed. Nothing was changed."),
    RefusalCode.WRONG_TYPE: N_("That does not apply to this kind of request. Nothing was changed."),
    RefusalCode.OWN_REQUEST: N_(
        "You cannot decide on your own request: the branch decides. Nothing was changed."
    ),
    RefusalCode.NOT_ALLOWED_FOR_ROLE: N_(
        "This is not yours to do for this request. Nothing was changed."
    ),
    RefusalCode.ISSUING_BRANCH_CANNOT_ACCEPT: N_(
        "The branch that issued the transfer letter cannot accept it; the receiving "
        "branch does. Nothing was changed."
    ),
    RefusalCode.REJECTED_NEEDS_REOPEN: N_(
        "This request was rejected. Reopen it first to decide again. Nothing was changed."
    ),
    RefusalCode.NOT_ALLOWED_IN_STATE: N_(
        "That is not possible while the request is: {state}. Nothing was changed."
    ),
    RefusalCode.LETTER_EXPIRED: N_(
        "The transfer letter has expired; the home branch must issue a new one. "
        "Nothing was changed."
    ),
    RefusalCode.LETTER_NOT_EXPIRED: N_("The transfer letter is still valid."),
    RefusalCode.STEPS_INCOMPLETE: N_("Some steps are still missing: {steps}."),
    RefusalCode.REASON_REQUIRED: N_("Please write a reason."),
    RefusalCode.QUESTION_REQUIRED: N_("Please write your question."),
    RefusalCode.ANSWER_REQUIRED: N_("Please write your answer."),
    RefusalCode.LETTER_NUMBER_REQUIRED: N_("Please write the letter's number."),
    RefusalCode.INVALID_VALIDITY: N_("The validity must be 1 to {days} days."),
    RefusalCode.INVALID_DETAILS: N_(
        "Those details can't be right (a date in the future, or something missing)."
    ),
    RefusalCode.RECEIVING_BRANCH_REQUIRED: N_("A transfer needs the branch you are moving to."),
    RefusalCode.SAME_BRANCH: N_("The other branch must not be your home branch."),
}


# ---- texts ---------------------------------------------------------------------------------


def refusal_text(tr: Translator, refusal: Refusal, snapshot: RequestSnapshot | None) -> str:
    """A machine refusal in the reader's words."""
    text = tr._(REFUSALS[refusal.code])
    state = tr._(STATE_LABELS[snapshot.state]) if snapshot else ""
    steps = ", ".join(tr._(STEP_LABELS[s]) for s in snapshot.missing_steps) if snapshot else ""
    return text.format(state=state, steps=steps, days=MAX_LETTER_DAYS)


def problem_text(tr: Translator, problem: service.Problem) -> str:
    """A service problem in the reader's words."""
    if problem is service.Problem.ALREADY_OPEN:
        return tr._("You already have an open request. Send /relink to see it.")
    if problem is service.Problem.CHANGED:
        return tr._("Someone else changed this request just now. Please look at it again.")
    return tr._("This request does not exist or is not visible to you.")


def _unit(tr: Translator, unit: OrgUnit | None) -> str:
    if unit is None:
        return tr._("(none)")
    return escape(f"{unit.display_name(tr.locale)} ({unit.code})")


@dataclass(frozen=True, slots=True)
class CardView:
    """What a reader sees of a request: the text and the buttons they may press."""

    text: str
    markup: InlineKeyboardMarkup | None


def card_text(
    tr: Translator,
    row: RelinkRequest,
    snapshot: RequestSnapshot,
    *,
    for_member: bool,
    matches: list[service.RegisterMatch] | None = None,
) -> str:
    """The request as text; contact details only for the deciders."""
    _ = tr._
    lines = [
        _("<b>Request #{id}</b>: {type}").format(id=row.id, type=_(TYPE_LABELS[row.type])),
        _("State: {state}").format(state=_(STATE_LABELS[row.state])),
        _("Name: {name}").format(name=escape(row.name))
        + (_("; joined the Party in {year}").format(year=row.join_year) if row.join_year else ""),
        _("Home branch: {branch}").format(branch=_unit(tr, row.home_branch)),
    ]
    if row.receiving_branch is not None:
        label = (
            _("Receiving branch: {branch}")
            if row.type is RequestType.TRANSFER
            else _("Takes part in Party life at: {branch}")
        )
        lines.append(label.format(branch=_unit(tr, row.receiving_branch)))
    place = row.city + (f", {row.employer}" if row.employer else "")
    lines.append(_("Now in: {place}").format(place=escape(place)))
    if not for_member:
        telegram = f'<a href="tg://user?id={row.requester.telegram_id}">Telegram</a>'
        if row.requester.username:
            telegram = "@" + escape(row.requester.username)
        contact = telegram + (f" · {escape(row.phone)}" if row.phone else "")
        lines.append(_("Contact: {contact}").format(contact=contact))
    lines.append(_("Submitted: {date}").format(date=tr.datetime(row.submitted_at, "short")))
    if row.type is RequestType.MOBILE and row.last_report_at is not None:
        lines.append(
            _("Last report to the home branch: {date}").format(
                date=tr.date(row.last_report_at.astimezone(tr.tz).date())
            )
        )
    if snapshot.question:
        lines.append(_("Question: {question}").format(question=escape(snapshot.question)))
    if snapshot.reason and row.state in (RequestState.REJECTED, RequestState.CANCELLED):
        lines.append(_("Reason: {reason}").format(reason=escape(snapshot.reason)))
    if snapshot.letter is not None:
        lines.append(
            _("Transfer letter No. {number}, valid until {date}").format(
                number=escape(snapshot.letter.number),
                date=tr.datetime(snapshot.letter.expires_at, "short"),
            )
        )
    if row.type is RequestType.RECONNECT and row.state is not RequestState.SUBMITTED:
        done = {record.detail.step for record in snapshot.steps}
        for step in ReconnectStep:
            mark = "✓" if step in done else "·"
            lines.append(f"{mark} {_(STEP_LABELS[step])}")
    if matches is not None and not for_member:
        if matches:
            lines.append(_("Possible matches in the lost-contact register:"))
            lines.extend("– " + escape(entry_label(match.entry)) for match in matches)
        else:
            lines.append(_("No match in the lost-contact register."))
    return "\n".join(lines)


def entry_label(entry: LostContactEntry) -> str:
    """A register row as the secretary recognises it: name · original branch · joining year."""
    return " · ".join((entry.name, entry.branch_code or "?", str(entry.join_year or "?")))


# Every button a card can carry: (verb, a representative action, its label).
_BUTTONS: tuple[tuple[str, Action, str], ...] = (
    ("acc", Accept(), N_("Accept")),
    ("ask", AskMore("?"), N_("Ask for more")),
    ("rej", Reject("?"), N_("Reject")),
    ("reo", Reopen(), N_("Reopen")),
    ("let", IssueLetter("?"), N_("Issue transfer letter")),
    ("xfr", AcceptTransfer(), N_("Accept the transfer")),
    ("idn", CompleteStep(IdentityConfirmed()), N_("Identity confirmed")),
    ("tlk", CompleteStep(EducationTalkHeld(dt.date(2000, 1, 1), "?")), N_("Education talk")),
    ("due", CompleteStep(DuesSettled(0)), N_("Dues settled")),
    ("asg", CompleteStep(AssignedTo("?")), N_("Assign to branch")),
    ("sys", CompleteStep(SystemFlagCleared()), N_("System flag cleared")),
    ("fin", Complete(), N_("Complete")),
    ("can", Cancel("?"), N_("Cancel request")),
    ("ans", Answer("?"), N_("Answer")),
    ("wd", Withdraw(), N_("Withdraw")),
)


def card_buttons(
    tr: Translator, row: RelinkRequest, snapshot: RequestSnapshot, actor: Actor, now: dt.datetime
) -> InlineKeyboardMarkup | None:
    """The buttons whose actions the machine would accept from this reader now."""
    rows: list[list[tuple[str, str]]] = []
    done = {record.detail.step for record in snapshot.steps}
    for verb, action, label in _BUTTONS:
        if not isinstance(apply(snapshot, action, actor, now), Transition):
            continue
        text = tr._(label)
        if isinstance(action, CompleteStep) and action.detail.step in done:
            text = "✓ " + text
        if verb == "fin" and row.type is RequestType.MOBILE:
            text = tr._("End the mobile period")
        rows.append([(text, f"rl:{verb}:{row.id}")])
    is_member = actor.person_id == row.requester_account_id
    if is_member and row.type is RequestType.MOBILE and row.state is RequestState.ACTIVE:
        rows.insert(0, [(tr._("Report to my home branch"), f"rl:rep:{row.id}")])
    return keyboard(rows) if rows else None


async def build_card(
    session: AsyncSession,
    tr: Translator,
    row: RelinkRequest,
    principal: Principal,
    account_id: int,
    now: dt.datetime,
) -> CardView:
    """A reader's card of a request."""
    snapshot = await service.snapshot_of(session, row)
    actor = service.actor_for(principal, account_id, row)
    for_member = account_id == row.requester_account_id
    matches = None
    if row.type is RequestType.RECONNECT and not for_member:
        matches = await service.register_matches(session, row, limit=3)
    text = card_text(tr, row, snapshot, for_member=for_member, matches=matches)
    return CardView(text, card_buttons(tr, row, snapshot, actor, now))


# ---- notices -------------------------------------------------------------------------------


def _member_notice(tr: Translator, row: RelinkRequest, event: Event, placed: OrgUnit | None) -> str:
    _ = tr._
    details = event.details
    kind = event.kind
    if kind is EventKind.ACCEPTED:
        if row.type is RequestType.MOBILE:
            return _(
                "Your request #{id} was accepted: you are registered as a mobile member of "
                "{home}. Report to your home branch at least once a year, and whenever your "
                "place, employer or contact changes (send /relink)."
            ).format(id=row.id, home=_unit(tr, row.home_branch))
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
    if kind is EventKind.LETTER_ISSUED:
        return _(
            "A transfer letter was issued for your request #{id}: No. {number}, valid until "
            "{date}. Your ties move once the receiving branch accepts it."
        ).format(
            id=row.id,
            number=escape(details.get("number", "")),
            date=tr.datetime(dt.datetime.fromisoformat(details["expires_at"]), "short"),
        )
    if kind is EventKind.TRANSFER_ACCEPTED:
        return _(
            "The receiving branch accepted your transfer: your organisational ties are now "
            "with {branch}."
        ).format(branch=_unit(tr, row.receiving_branch))
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
        ).format(branch=_unit(tr, placed))
    if kind is EventKind.COMPLETED:
        return _("Your mobile member period is recorded as ended (request #{id}).").format(
            id=row.id
        )
    if kind is EventKind.CANCELLED:
        return _("Your request #{id} was cancelled. Reason: {reason}").format(
            id=row.id, reason=escape(details.get("reason", ""))
        )
    return _("Your request #{id}: {event}.").format(id=row.id, event=_(EVENT_LABELS[kind]))


def _side_notice(tr: Translator, row: RelinkRequest, event: Event) -> str:
    _ = tr._
    if event.kind is EventKind.LETTER_EXPIRED:
        return _(
            "⚠ Pocket member: transfer letter No. {number} for {name} (request #{id}) expired "
            "without being accepted. Please follow up: re-issue the letter or cancel."
        ).format(number=escape(event.details.get("number", "")), name=escape(row.name), id=row.id)
    head = _("Request #{id}: {event}").format(id=row.id, event=_(EVENT_LABELS[event.kind]))
    if event.kind is EventKind.ANSWERED:
        head += "\n" + _("Answer: {answer}").format(answer=escape(event.details.get("answer", "")))
    return head


async def send_notices(
    context: BotContext | AnyApp,
    outcome: service.Outcome,
    *,
    report_place: str | None = None,
) -> None:
    """Tell everyone the outcome concerns, each in their language, with their own buttons."""
    if outcome.request is None or not outcome.recipients:
        return
    application = context.application if isinstance(context, BotContext) else context
    services: Services = application.bot_data[SERVICES_KEY]
    settings: Settings = services.settings
    now = settings.now()
    messages: list[tuple[int, str, InlineKeyboardMarkup | None]] = []
    async with services.db() as session:
        row = await relink_queries.request_by_id(session, outcome.request.id)
        assert row is not None
        placed = None
        if row.person is not None and row.person.branch_id is not None:
            placed = await session.get(OrgUnit, row.person.branch_id)
        for recipient in outcome.recipients:
            account = await queries.account_by_telegram_id(session, recipient.account.telegram_id)
            assert account is not None
            tr = translator_for(account, settings, None)
            principal = await principal_of(session, account)
            card = await build_card(session, tr, row, principal, account.id, now)
            if report_place is not None:
                text = tr._(
                    "Mobile member {name} reported to the branch (request #{id}); now in: {place}"
                ).format(name=escape(row.name), id=row.id, place=escape(report_place))
                messages.append((account.telegram_id, text + "\n\n" + card.text, card.markup))
                continue
            event = outcome.event
            assert event is not None
            if recipient.audience is Audience.REQUESTER:
                text = _member_notice(tr, row, event, placed)
                markup = card.markup if event.kind is EventKind.ASKED_MORE else None
                messages.append((account.telegram_id, text, markup))
            else:
                text = _side_notice(tr, row, event) + "\n\n" + card.text
                messages.append((account.telegram_id, text, card.markup))
    for chat_id, text, markup in messages:
        try:
            await application.bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramError as exc:
            log.warning("relink notice to %s failed: %s", chat_id, exc)


# ---- acting --------------------------------------------------------------------------------


async def _account(session: AsyncSession, context: BotContext) -> Account:
    account = await session.get(Account, context.account.id) if context.account else None
    assert account is not None
    return account


async def decide(update: Update, context: BotContext, request_id: int, action: Action) -> bool:
    """Apply an action for the sender, show the new card, tell the others. True when done."""
    now = context.settings.now()
    try:
        async with context.db.begin() as session:
            account = await _account(session, context)
            outcome = await service.perform(
                session,
                request_id=request_id,
                action=action,
                account=account,
                principal=context.principal,
                now=now,
            )
            snapshot = None
            if outcome.refusal is not None and outcome.request is not None:
                snapshot = await service.snapshot_of(session, outcome.request)
    except StaleDataError:
        outcome, snapshot = service.Outcome(problem=service.Problem.CHANGED), None
    if outcome.problem is not None:
        await refuse(update, context, problem_text(context.tr, outcome.problem))
        return False
    if outcome.refusal is not None:
        await refuse(update, context, refusal_text(context.tr, outcome.refusal, snapshot))
        return False
    await show_card(update, context, request_id, prefix=_done_text(context, outcome))
    await send_notices(context, outcome)
    return True


def _done_text(context: BotContext, outcome: service.Outcome) -> str:
    assert outcome.event is not None
    return context._("Done: {event}.").format(event=context._(EVENT_LABELS[outcome.event.kind]))


async def show_card(
    update: Update, context: BotContext, request_id: int, *, prefix: str = "", edit: bool = True
) -> bool:
    """Show the sender the request's card (editing the pressed message when there is one)."""
    account_id = context.account.id if context.account else 0
    async with context.db() as session:
        row = await relink_queries.request_by_id(session, request_id)
        if row is None or not service.may_see(context.principal, account_id, row):
            await refuse(update, context, problem_text(context.tr, service.Problem.NOT_FOUND))
            return False
        card = await build_card(
            session, context.tr, row, context.principal, account_id, context.settings.now()
        )
    text = f"{prefix}\n\n{card.text}" if prefix else card.text
    if edit:
        await edit_or_answer(update, context, text, card.markup)
    else:
        await answer(update, context, text, card.markup)
    return True


def _parse(update: Update) -> tuple[str, int, int | None]:
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    extra = int(parts[3]) if len(parts) > 3 else None
    return parts[1], int(parts[2]), extra


INSTANT: dict[str, Action] = {
    "acc": Accept(),
    "reo": Reopen(),
    "xfr": AcceptTransfer(),
    "sys": CompleteStep(SystemFlagCleared()),
    "fin": Complete(),
    "wd": Withdraw(),
}
# Verbs answered with text, and the question asked for each.
ASKS = {
    "rej": N_("Why is the request rejected? The member will read your reason."),
    "ask": N_("What do you need to know? The member will read your question."),
    "can": N_("Why is the request cancelled? The member will read your reason."),
    "ans": N_("Please write your answer to the branch's question."),
    "let": N_("The transfer letter's number (for example (2026) No. 12):"),
    "tlk": N_("When was the education talk held? (for example 2026-11-20, or today)"),
    "due": N_("How many months of dues arrears were settled? (0 if none)"),
    "rep": N_(
        "Where are you now (city, employer or school)? Send the same place if nothing changed."
    ),
}


@sender(registered=False)
async def pressed(update: Update, context: BotContext) -> str | int | None:
    """Any button of a request card."""
    verb, request_id, extra = _parse(update)
    if verb == "v":
        await show_card(update, context, request_id, edit=False)
        return ConversationHandler.END
    if verb in INSTANT:
        await _end_pending(update, context)
        await decide(update, context, request_id, INSTANT[verb])
        return ConversationHandler.END
    if verb == "idn":
        return await _identity(update, context, request_id, extra)
    if verb in ("asg", "asu"):
        return await _assign(update, context, request_id, extra if verb == "asu" else None)
    if verb in ASKS:
        return await _ask(update, context, request_id, verb)
    await refuse(update, context)
    return None


async def _end_pending(update: Update, context: BotContext) -> None:
    async with context.db.begin() as session:
        await FLOW.end(session, update)


async def _visible_row(context: BotContext, request_id: int) -> RelinkRequest | None:
    account_id = context.account.id if context.account else 0
    async with context.db() as session:
        row = await relink_queries.request_by_id(session, request_id)
    if row is None or not service.may_see(context.principal, account_id, row):
        return None
    return row


async def _precheck(
    update: Update, context: BotContext, request_id: int, action: Action
) -> RelinkRequest | None:
    """Refuse before asking for words the machine would refuse anyway."""
    row = await _visible_row(context, request_id)
    if row is None:
        await refuse(update, context, problem_text(context.tr, service.Problem.NOT_FOUND))
        return None
    async with context.db() as session:
        snapshot = await service.snapshot_of(session, row)
    account_id = context.account.id if context.account else 0
    result = apply(
        snapshot,
        action,
        service.actor_for(context.principal, account_id, row),
        context.settings.now(),
    )
    if isinstance(result, Refusal):
        await refuse(update, context, refusal_text(context.tr, result, snapshot))
        return None
    return row


_PROBE: dict[str, Action] = {
    "rej": Reject("?"),
    "ask": AskMore("?"),
    "can": Cancel("?"),
    "ans": Answer("?"),
    "let": IssueLetter("?"),
    "tlk": CompleteStep(EducationTalkHeld(dt.date(2000, 1, 1), "?")),
    "due": CompleteStep(DuesSettled(0)),
}


async def _ask(update: Update, context: BotContext, request_id: int, verb: str) -> str | None:
    if verb == "rep":
        row = await _visible_row(context, request_id)
        account_id = context.account.id if context.account else 0
        if (
            row is None
            or row.requester_account_id != account_id
            or row.type is not RequestType.MOBILE
            or row.state is not RequestState.ACTIVE
        ):
            await refuse(update, context)
            return None
    elif await _precheck(update, context, request_id, _PROBE[verb]) is None:
        return None
    async with context.db.begin() as session:
        await FLOW.save(session, update, state=TEXT, data={"request_id": request_id, "verb": verb})
    await answer(update, context, context._(ASKS[verb]))
    return TEXT


@sender(registered=False)
async def text_received(update: Update, context: BotContext) -> str | int | None:
    """The words an action was waiting for."""
    message = update.effective_message
    text = clean_text(message.text if message else None, limit=LONG_TEXT)
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    if draft.seen(update):
        return draft.state
    verb = str(draft.data.get("verb", ""))
    request_id = int(draft.data.get("request_id", 0))
    if text is None:
        await answer(
            update,
            context,
            context._("Please send text, at most {limit} characters.").format(limit=LONG_TEXT),
        )
        return None
    if draft.state == TALK_BY:
        held_on = dt.date.fromisoformat(str(draft.data["held_on"]))
        talk = CompleteStep(EducationTalkHeld(held_on, text))
        return await _finish_action(update, context, request_id, talk)
    if verb == "let":
        number = text[:64]
        async with context.db.begin() as session:
            await FLOW.save(
                session, update, state=LETTER_DAYS, data={**draft.data, "number": number}
            )
        rows = [
            [
                (context._("{days} days").format(days=days), f"rlx:days:{days}")
                for days in _letter_day_choices(context.settings.relink_letter_days)
            ]
        ]
        await answer(
            update,
            context,
            context._(
                "How long is the letter valid? Usually {default} days; or type a number of "
                "days (1 to {max})."
            ).format(default=context.settings.relink_letter_days, max=MAX_LETTER_DAYS),
            keyboard(rows),
        )
        return LETTER_DAYS
    if verb == "tlk":
        today = context.settings.now().astimezone(context.settings.tz).date()
        parsed = parse_activity_date(text, today)
        if parsed.value is None:
            await answer(
                update,
                context,
                context._("That is not a date up to today, like 2026-11-20 or today."),
            )
            return None
        async with context.db.begin() as session:
            await FLOW.save(
                session,
                update,
                state=TALK_BY,
                data={**draft.data, "held_on": parsed.value.isoformat()},
            )
        await answer(update, context, context._("Who held the education talk?"))
        return TALK_BY
    if verb == "due":
        if not re.fullmatch(r"\d{1,3}", text):
            await answer(update, context, context._("Please send a number of months, like 6."))
            return None
        dues = CompleteStep(DuesSettled(int(text)))
        return await _finish_action(update, context, request_id, dues)
    if verb == "rep":
        return await _report(update, context, request_id, text)
    actions: dict[str, Action] = {
        "rej": Reject(text),
        "ask": AskMore(text),
        "can": Cancel(text),
        "ans": Answer(text),
    }
    if verb not in actions:
        await _end_pending(update, context)
        return ConversationHandler.END
    return await _finish_action(update, context, request_id, actions[verb])


async def _finish_action(
    update: Update, context: BotContext, request_id: int, action: Action
) -> int | None:
    await _end_pending(update, context)
    await decide(update, context, request_id, action)
    return ConversationHandler.END


@sender(registered=False)
async def letter_days(update: Update, context: BotContext) -> int | None:
    """The validity of the transfer letter, pressed or typed."""
    if update.callback_query is not None and update.callback_query.data:
        days_text = update.callback_query.data.rsplit(":", 1)[1]
    else:
        message = update.effective_message
        days_text = (message.text or "").strip() if message else ""
    if not re.fullmatch(r"\d{1,3}", days_text) or not 1 <= int(days_text) <= MAX_LETTER_DAYS:
        await answer(
            update,
            context,
            context._("The validity must be 1 to {days} days.").format(days=MAX_LETTER_DAYS),
        )
        return None
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    if draft.state != LETTER_DAYS:
        return ConversationHandler.END
    number = str(draft.data.get("number", ""))
    request_id = int(draft.data.get("request_id", 0))
    return await _finish_action(
        update, context, request_id, IssueLetter(number, valid_days=int(days_text))
    )


async def _report(update: Update, context: BotContext, request_id: int, place: str) -> int:
    now = context.settings.now()
    async with context.db.begin() as session:
        account = await _account(session, context)
        outcome = await service.record_mobile_report(
            session, request_id=request_id, account=account, place=place, now=now
        )
        await FLOW.end(session, update)
    if outcome.problem is not None or outcome.refusal is not None:
        await refuse(update, context)
        return ConversationHandler.END
    await answer(
        update,
        context,
        context._(
            "Thank you: your home branch was told that you are now in {place}. Report "
            "again at least once a year, or whenever your place changes."
        ).format(place=escape(place)),
    )
    await send_notices(context, outcome, report_place=place)
    return ConversationHandler.END


async def _identity(
    update: Update, context: BotContext, request_id: int, entry_id: int | None
) -> int | None:
    """Identity confirmed: first choose the register row (or none), then record it."""
    row = await _precheck(update, context, request_id, CompleteStep(IdentityConfirmed()))
    if row is None:
        return None
    if entry_id is None:
        async with context.db() as session:
            matches = await service.register_matches(session, row, limit=3)
        if matches:
            rows = [[(entry_label(m.entry), f"rl:idn:{row.id}:{m.entry.id}")] for m in matches]
            rows.append([(context._("Not in the register"), f"rl:idn:{row.id}:0")])
            await edit_or_answer(
                update,
                context,
                context._(
                    "Which register entry is this member? (checked name, joining year, branch)"
                ),
                keyboard(rows),
            )
            return None
        entry_id = 0
    async with context.db.begin() as session:
        fresh = await relink_queries.request_by_id(session, request_id)
        assert fresh is not None
        entry = await service.confirm_register_entry(session, row=fresh, entry_id=entry_id or None)
        if entry_id and entry is None:
            await refuse(update, context)
            return None
    note = f"register #{entry_id}" if entry_id else "not in register"
    await decide(update, context, request_id, CompleteStep(IdentityConfirmed(note)))
    return ConversationHandler.END


async def _assign(
    update: Update, context: BotContext, request_id: int, unit_id: int | None
) -> int | None:
    """Assign to a branch or party group: choose among the home branch's subtree."""
    row = await _precheck(update, context, request_id, CompleteStep(AssignedTo("?")))
    if row is None:
        return None
    async with context.db() as session:
        units = service.unit_choices(await queries.subtree(session, row.home_branch))
    if unit_id is None:
        rows = [
            [(f"{u.code} {u.display_name(context.tr.locale)}"[:60], f"rl:asu:{row.id}:{u.id}")]
            for u in units[:20]
        ]
        await edit_or_answer(
            update,
            context,
            context._("Assign the member to which branch or party group?"),
            keyboard(rows),
        )
        return None
    chosen = next((u for u in units if u.id == unit_id), None)
    if chosen is None:
        await refuse(update, context)
        return None
    await decide(update, context, request_id, CompleteStep(AssignedTo(chosen.code)))
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    verb = str(draft.data.get("verb", ""))
    if draft.state == TALK_BY:
        await answer(update, context, context._("Who held the education talk?"))
    elif draft.state == LETTER_DAYS:
        await answer(
            update,
            context,
            context._("The validity must be 1 to {days} days.").format(days=MAX_LETTER_DAYS),
        )
    elif verb in ASKS:
        await answer(update, context, context._(ASKS[verb]))


# ---- pocket members (scheduled) -------------------------------------------------------------


async def check_pocket_members(application: AnyApp, now: dt.datetime) -> int:
    """Flag expired, unaccepted transfer letters and tell both secretaries and the admins."""
    services: Services = application.bot_data[SERVICES_KEY]
    async with services.db.begin() as session:
        outcomes = await service.flag_pocket_members(session, now=now)
    for outcome in outcomes:
        await send_notices(application, outcome)
    return len(outcomes)


async def pocket_member_job(context: BotContext) -> None:
    """The JobQueue callback: the clock is Settings.now(), which tests replace."""
    await check_pocket_members(context.application, context.settings.now())


POCKET_CHECK_INTERVAL = dt.timedelta(hours=1)


def schedule(application: AnyApp) -> None:
    """Run the pocket-member check every hour (first a minute after start-up)."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            pocket_member_job,
            interval=POCKET_CHECK_INTERVAL,
            first=dt.timedelta(minutes=1),
            name="relink.pocket_members",
        )


def build() -> ConversationHandler[BotContext]:
    """Buttons of request cards, and the words some of them ask for."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(pressed, pattern=CARD_PATTERN)],
        states={
            TEXT: [MessageHandler(text, text_received)],
            TALK_BY: [MessageHandler(text, text_received)],
            LETTER_DAYS: [
                CallbackQueryHandler(letter_days, pattern=r"^rlx:days:\d{1,3}$"),
                MessageHandler(text, letter_days),
            ],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="rlx"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
