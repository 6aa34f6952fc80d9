"""Deciding relink requests: every button of a request card, and the words some of them ask for.

Every press loads the request and checks it against the presser on the spot: only the member,
the two branches involved and the admins above them see a request at all (anyone else is told
it does not exist), and the machine then accepts or refuses the action for that reader. A
refused press changes nothing. Actions that need words (a reason, a question, a letter number,
the education talk, a mobile member's report) go through one small crash-safe conversation,
"relink_act", that remembers which request and action it is answering; its words are handled
in handlers.relink_words. Notices go to each reader in their own language after the commit.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.context import BotContext
from bot.enums import RequestState, RequestType
from bot.i18n import N_
from bot.relink import identity, service
from bot.relink.model import (
    Accept,
    AcceptTransfer,
    Action,
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
    Refusal,
    RefusalCode,
    Reject,
    Reopen,
    SystemFlagCleared,
    Withdraw,
)
from handlers import relink_buttons as rb
from handlers.cancel import conversation_fallbacks
from handlers.common import Refused, escape, keyboard
from handlers.flow import State, Step
from handlers.relink_cards import build_card
from handlers.relink_decide import (
    FLOW,
    LETTER_DAYS,
    TALK_BY,
    TEXT,
    changed_concurrently,
    conclude,
    decide,
    precheck,
    presser_id,
    probe_date,
    visible,
)
from handlers.relink_texts import entry_label, problem_text, refusal_text, unit_label
from handlers.relink_words import (
    ASKS,
    days_pressed,
    days_typed,
    letter_day_choices,
    reprompt,
    talk_by_typed,
    words_typed,
)
from storage import queries

# Kept for the settings test that checks the configured default is offered.
_letter_day_choices = letter_day_choices


# ---- showing a card ------------------------------------------------------------------------


@FLOW.step(entry=True)
async def view_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Show a request's card to whoever may see it."""
    row = await visible(context, step, rb.ViewRequest.read(update).request_id)
    card = await build_card(
        step.session, context.tr, row, context.principal, context.actor_id, context.settings.now()
    )
    step.reply(card.text, card.markup)
    return ConversationHandler.END


# ---- decisions taken with one press -----------------------------------------------------------


@FLOW.step(entry=True)
async def accept_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Accept a request (home side)."""
    return await decide(context, step, rb.AcceptRequest.read(update).request_id, Accept())


@FLOW.step(entry=True)
async def reopen_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Reopen a rejected request (home side)."""
    return await decide(context, step, rb.ReopenRequest.read(update).request_id, Reopen())


@FLOW.step(entry=True)
async def transfer_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Accept the transfer letter (receiving side): the member moves."""
    request_id = rb.AcceptTransferRequest.read(update).request_id
    return await decide(context, step, request_id, AcceptTransfer())


@FLOW.step(entry=True)
async def system_flag_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Record that the national system's lost-contact flag was cleared."""
    request_id = rb.SystemFlagStep.read(update).request_id
    return await decide(context, step, request_id, CompleteStep(SystemFlagCleared()))


@FLOW.step(entry=True)
async def complete_pressed(update: Update, context: BotContext, step: Step) -> State:
    """End a mobile period, or finish a reconnect whose steps are all recorded."""
    return await decide(context, step, rb.CompleteRequest.read(update).request_id, Complete())


@FLOW.step(entry=True)
async def withdraw_pressed(update: Update, context: BotContext, step: Step) -> State:
    """The member withdraws their request."""
    return await decide(context, step, rb.WithdrawRequest.read(update).request_id, Withdraw())


# ---- decisions that need words ----------------------------------------------------------------


async def _ask_words(
    context: BotContext, step: Step, request_id: int, verb: str, probe: Action
) -> State:
    """Refuse now what the machine would refuse anyway; else ask for the words."""
    await precheck(context, step, request_id, probe)
    step.data.update(request_id=request_id, verb=verb)
    step.reply(context._(ASKS[verb]))
    return TEXT


@FLOW.step(entry=True)
async def reject_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask why the request is rejected."""
    request_id = rb.RejectRequest.read(update).request_id
    return await _ask_words(context, step, request_id, "rej", Reject("?"))


@FLOW.step(entry=True)
async def ask_more_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask what the branch wants to know."""
    request_id = rb.AskMoreRequest.read(update).request_id
    return await _ask_words(context, step, request_id, "ask", AskMore("?"))


@FLOW.step(entry=True)
async def cancel_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask why the request is cancelled."""
    request_id = rb.CancelRequest.read(update).request_id
    return await _ask_words(context, step, request_id, "can", Cancel("?"))


@FLOW.step(entry=True)
async def answer_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask the member for their answer to the branch's question."""
    request_id = rb.AnswerRequest.read(update).request_id
    return await _ask_words(context, step, request_id, "ans", Answer("?"))


@FLOW.step(entry=True)
async def letter_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask for the transfer letter's number."""
    request_id = rb.IssueLetterRequest.read(update).request_id
    return await _ask_words(context, step, request_id, "let", IssueLetter("?"))


@FLOW.step(entry=True)
async def talk_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask when the education talk was held."""
    request_id = rb.TalkStep.read(update).request_id
    talk = CompleteStep(EducationTalkHeld(probe_date(), "?"))
    return await _ask_words(context, step, request_id, "tlk", talk)


@FLOW.step(entry=True)
async def dues_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask how many months of dues arrears were settled."""
    request_id = rb.DuesStep.read(update).request_id
    return await _ask_words(context, step, request_id, "due", CompleteStep(DuesSettled(0)))


@FLOW.step(entry=True)
async def report_pressed(update: Update, context: BotContext, step: Step) -> State:
    """A mobile member reports where they are: only their own, active request."""
    request_id = rb.ReportPlace.read(update).request_id
    row = await visible(context, step, request_id)
    own_active_mobile = (
        row.requester_account_id == context.actor_id
        and row.type is RequestType.MOBILE
        and row.state is RequestState.ACTIVE
    )
    if not own_active_mobile:
        raise Refused(problem_text(context.tr, service.Problem.NOT_FOUND))
    step.data.update(request_id=request_id, verb="rep")
    step.reply(context._(ASKS["rep"]))
    return TEXT


# ---- identity and assignment: choices shown on the card ---------------------------------------


@FLOW.step(entry=True)
async def identity_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Reconnect identity: choose the register row offered (or none), then record the step."""
    button = rb.IdentityStep.read(update)
    row = await precheck(context, step, button.request_id, CompleteStep(IdentityConfirmed()))
    if button.entry_id is None:
        matches = await identity.register_matches(step.session, row)
        if matches:
            rows = [
                [(entry_label(m.entry), rb.IdentityStep(row.id, m.entry.id).data)] for m in matches
            ]
            rows.append([(context._("Not in the register"), rb.IdentityStep(row.id, 0).data)])
            step.edit(
                context._(
                    "Check the member's name, date of joining and original branch against "
                    "the register. Which entry is this member?"
                ),
                keyboard(rows),
            )
            return ConversationHandler.END
    assert context.account is not None
    with changed_concurrently(context):
        outcome = await identity.confirm_register_identity(
            step.session,
            request_id=row.id,
            entry_id=button.entry_id or None,
            account=context.account,
            principal=context.principal,
            now=context.settings.now(),
        )
    return await conclude(context, step, outcome)


@FLOW.step(entry=True)
async def assign_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Offer the branches and party groups under the home node."""
    request_id = rb.AssignStep.read(update).request_id
    row = await precheck(context, step, request_id, CompleteStep(AssignedTo("?")))
    units = identity.unit_choices(await queries.subtree(step.session, row.home_branch))
    locale = context.tr.locale
    rows = [
        [(f"{u.code} {u.display_name(locale)}"[:60], rb.AssignUnit(row.id, u.id).data)]
        for u in units[:20]
    ]
    step.edit(context._("Assign the member to which branch or party group?"), keyboard(rows))
    return ConversationHandler.END


@FLOW.step(entry=True)
async def unit_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Record the assignment to a unit under the home node (any other is refused)."""
    button = rb.AssignUnit.read(update)
    row = await precheck(context, step, button.request_id, CompleteStep(AssignedTo("?")))
    units = identity.unit_choices(await queries.subtree(step.session, row.home_branch))
    chosen = next((u for u in units if u.id == button.unit_id), None)
    if chosen is None:
        raise Refused()
    return await decide(context, step, row.id, CompleteStep(AssignedTo(chosen.code)))


# ---- an unverified roster match ---------------------------------------------------------------


@FLOW.step(entry=True)
async def claim_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask the deciders whether the member is the roster entry their name matched; record it."""
    button = rb.ClaimedIdentity.read(update)
    if button.same_person is None:
        return await _ask_claim(context, step, button.request_id)
    presser_id(context)  # someone with no account gets the refusal a missing request gets
    assert context.account is not None
    with changed_concurrently(context):
        outcome = await identity.confirm_claimed_identity(
            step.session,
            request_id=button.request_id,
            same_person=button.same_person,
            account=context.account,
            principal=context.principal,
            now=context.settings.now(),
        )
    done = (
        N_("Identity confirmed: this Telegram account is now linked to that roster entry.")
        if button.same_person
        else N_("The roster match was dropped: the member is not that person.")
    )
    return await conclude(context, step, outcome, done=context._(done))


async def _ask_claim(context: BotContext, step: Step, request_id: int) -> State:
    row = await visible(context, step, request_id)
    if not identity.may_confirm_claim(context.principal, context.actor_id, row):
        not_yours = Refusal(RefusalCode.NOT_ALLOWED_FOR_ROLE)
        raise Refused(refusal_text(context.tr, not_yours, None))
    claimed = row.claimed_person
    assert claimed is not None
    tr = context.tr
    joined = tr.date(claimed.joined_on) if claimed.joined_on else "?"
    text = context._(
        "The member says they are {name}, joined the Party in {year}, of {home}.\n"
        "The roster of {home} has {person}, joined the Party on {joined}.\n\n"
        "Check the name, the date of joining and the original branch with the member (for "
        "example by phone) before you confirm: their Telegram account will then be linked "
        "to this roster entry."
    ).format(
        name=escape(row.name),
        year=row.join_year or "?",
        home=unit_label(tr, row.home_branch),
        person=escape(claimed.name),
        joined=joined,
    )
    rows = [
        [(context._("Yes, the same person"), rb.ClaimedIdentity(row.id, True).data)],
        [(context._("No, someone else"), rb.ClaimedIdentity(row.id, False).data)],
    ]
    step.edit(text, keyboard(rows))
    return ConversationHandler.END


def build() -> ConversationHandler[BotContext]:
    """Buttons of request cards, and the words some of them ask for."""
    text = filters.TEXT & ~filters.COMMAND
    presses = (
        (view_pressed, rb.ViewRequest),
        (accept_pressed, rb.AcceptRequest),
        (ask_more_pressed, rb.AskMoreRequest),
        (reject_pressed, rb.RejectRequest),
        (reopen_pressed, rb.ReopenRequest),
        (letter_pressed, rb.IssueLetterRequest),
        (transfer_pressed, rb.AcceptTransferRequest),
        (identity_pressed, rb.IdentityStep),
        (talk_pressed, rb.TalkStep),
        (dues_pressed, rb.DuesStep),
        (assign_pressed, rb.AssignStep),
        (unit_pressed, rb.AssignUnit),
        (system_flag_pressed, rb.SystemFlagStep),
        (complete_pressed, rb.CompleteRequest),
        (cancel_pressed, rb.CancelRequest),
        (answer_pressed, rb.AnswerRequest),
        (withdraw_pressed, rb.WithdrawRequest),
        (report_pressed, rb.ReportPlace),
        (claim_pressed, rb.ClaimedIdentity),
    )
    return ConversationHandler(
        entry_points=[
            CallbackQueryHandler(step, pattern=family.pattern) for step, family in presses
        ],
        states={
            TEXT: [MessageHandler(text, words_typed)],
            TALK_BY: [MessageHandler(text, talk_by_typed)],
            LETTER_DAYS: [
                CallbackQueryHandler(days_pressed, pattern=rb.LetterDays.pattern),
                MessageHandler(text, days_typed),
            ],
        },
        fallbacks=conversation_fallbacks(FLOW, reprompt, button_prefix="rlx"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
