"""/relink: a member reports as mobile, asks to transfer ties, or reconnects after losing contact.

Anyone may start it, registered or not: a lost-contact member has no invite. The member says
what they need, who they are (what the roster already knows is not asked again), where they
are (optional, with why it is asked) and how to reach them; each answer and the next question
are committed before the bot replies (crash-safe Flow steps). Sent again later, /relink shows
the request's state; to secretaries and admins it lists the requests of their branches and
subtrees. Filing is limited per account (ZHIBU_RELINK_REQUEST_LIMIT a window).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.enums import OrgKind, RequestType
from bot.imports import PARTY_FOUNDED_YEAR
from bot.relink import service
from bot.relink.notifier import send_notices
from bot.rules.phones import InvalidPhone, looks_like_id_number, parse_phone
from handlers.cancel import conversation_fallbacks
from handlers.common import Refused, answer, clean_text, escape, keyboard, phone_problem_text
from handlers.flow import Flow, State, Step
from handlers.relink_buttons import (
    HomeBranch,
    OtherBranch,
    RequestKind,
    SendRequest,
    SkipQuestion,
    StartRequest,
    StopRequest,
)
from handlers.relink_cards import build_card
from handlers.relink_list import leads, list_page
from handlers.relink_notices import render
from handlers.relink_questions import (
    CITY,
    CONFIRM,
    DATA_KEYS,
    EMPLOYER,
    HOME,
    HOME_KINDS,
    NAME,
    OTHER,
    PHONE,
    SEARCH_RESULTS,
    TYPE,
    YEAR,
    next_state,
    question,
)
from handlers.relink_texts import STATE_LABELS, TYPE_LABELS, problem_text, refusal_text
from storage import queries, relink_queries

FLOW = Flow("relink")


# ---- entry: state of an open request, the leaders' list, or a new request -----------------


@FLOW.step(entry=True)
async def relink(update: Update, context: BotContext, step: Step) -> State:
    """Show the leaders' list or the member's open request; otherwise start a new request."""
    if leads(context):
        step.reply(*await list_page(step.session, context, 0))
        return ConversationHandler.END
    own = await relink_queries.open_request_of(step.session, context.actor_id)
    if own is not None:
        now = context.settings.now()
        card = await build_card(
            step.session, context.tr, own, context.principal, context.actor_id, now
        )
        step.reply(card.text, card.markup)
        return ConversationHandler.END
    return await _start_new(context, step)


@FLOW.step(entry=True)
async def new_pressed(update: Update, context: BotContext, step: Step) -> State:
    """A leader starts a request of their own."""
    if context.account is None:
        # Nothing is stored before the privacy notice, which /relink shows first.
        raise Refused()
    return await _start_new(context, step)


async def _start_new(context: BotContext, step: Step) -> State:
    session, account = step.session, context.account
    assert account is not None
    if await relink_queries.open_request_of(session, account.id) is not None:
        step.reply(problem_text(context.tr, service.Problem.ALREADY_OPEN))
        return ConversationHandler.END
    now = context.settings.now()
    wait = await service.retry_after(
        session, account.id, now, service.Throttle.of(context.settings)
    )
    if wait is not None:
        step.reply(problem_text(context.tr, service.Problem.THROTTLED, until=now + wait))
        return ConversationHandler.END
    last = await relink_queries.latest_request_of(session, account.id)
    if last is not None:
        # A finished request stays visible: its outcome, before the new questions.
        step.reply(
            context._("Your last request #{id} ({type}): {state}.").format(
                id=last.id,
                type=context._(TYPE_LABELS[last.type]),
                state=context._(STATE_LABELS[last.state]),
            )
        )
    person = account.person
    if person is not None:
        step.data["name"] = person.name
        if person.branch_id is not None:
            step.data["home_id"] = person.branch_id
        if person.joined_on is not None:
            step.data["join_year"] = person.joined_on.year
        if person.phone:
            step.data["phone"] = person.phone
    return await _advance(context, step)


# ---- questions -------------------------------------------------------------------------------


async def _advance(context: BotContext, step: Step) -> str:
    """Ask the next unanswered question."""
    state = next_state(step.data)
    step.reply(*await question(step.session, context, state, step.data))
    return state


async def _reprompt(update: Update, context: BotContext) -> None:
    async with context.db() as session:
        draft = await FLOW.load(session, update)
        text, markup = await question(session, context, draft.state or TYPE, draft.data)
    await answer(update, context, text, markup)


# ---- typed answers ---------------------------------------------------------------------------

Answer = Callable[[BotContext, Step, str], Awaitable[State]]


async def _name_typed(context: BotContext, step: Step, text: str) -> State:
    if len(text) > 50:
        step.reply(context._("Please send your name, at most 50 characters."))
        return None
    step.data["name"] = text
    return await _advance(context, step)


async def _year_typed(context: BotContext, step: Step, text: str) -> State:
    this_year = context.today().year
    if not re.fullmatch(r"\d{4}", text) or not PARTY_FOUNDED_YEAR <= int(text) <= this_year:
        step.reply(
            context._("Please send a year between {first} and {last}.").format(
                first=PARTY_FOUNDED_YEAR, last=this_year
            )
        )
        return None
    step.data["join_year"] = int(text)
    return await _advance(context, step)


async def _place_typed(context: BotContext, step: Step, text: str) -> State:
    step.data[DATA_KEYS[str(step.state)]] = text
    return await _advance(context, step)


async def _phone_typed(context: BotContext, step: Step, text: str) -> State:
    try:
        step.data["phone"] = parse_phone(text)
    except InvalidPhone as invalid:
        step.reply(phone_problem_text(context, invalid.problem))
        return None
    return await _advance(context, step)


async def _search(context: BotContext, step: Step, text: str) -> State:
    """Offer the branches matching a typed name or code; stay on the question."""
    found = await queries.search_org_units(
        step.session, text, kinds=[OrgKind.BRANCH], limit=SEARCH_RESULTS
    )
    locale = context.tr.locale
    home = step.state == HOME
    family = HomeBranch if home else OtherBranch
    rows = [[(f"{o.code} {o.display_name(locale)}"[:60], family(o.id).data)] for o in found]
    if home:
        rows.append([(context._("I can't find my branch"), HomeBranch(0).data)])
    elif step.data.get("type") != RequestType.TRANSFER.value:
        rows.append([(context._("Skip"), SkipQuestion().data)])
    reply = (
        context._("Choose your branch:")
        if found
        else context._(
            "No branch matches “{text}”. Try another part of the name or the code."
        ).format(text=escape(text))
    )
    step.reply(reply, keyboard(rows))
    return None


ANSWERS: dict[str, Answer] = {
    NAME: _name_typed,
    HOME: _search,
    YEAR: _year_typed,
    CITY: _place_typed,
    EMPLOYER: _place_typed,
    PHONE: _phone_typed,
    OTHER: _search,
}


@FLOW.step()
async def typed(update: Update, context: BotContext, step: Step) -> State:
    """A typed answer to the current question."""
    message = update.effective_message
    text = clean_text(message.text if message else None)
    if text is None:
        step.reply(context._("Please send a short text (at most 100 characters)."))
        return None
    if looks_like_id_number(text):
        step.reply(context._("Please don't send ID card numbers: they are never collected."))
        return None
    return await ANSWERS[str(step.state)](context, step, text)


# ---- buttons ---------------------------------------------------------------------------------


@FLOW.step()
async def kind_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Mobile, transfer or reconnect."""
    step.data["type"] = RequestKind.read(update).kind.value
    return await _advance(context, step)


@FLOW.step()
async def skip_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Leave an optional answer out (a transfer needs its receiving branch)."""
    SkipQuestion.read(update)
    state = str(step.state)
    if state == OTHER and step.data.get("type") == RequestType.TRANSFER.value:
        raise Refused()
    step.data[DATA_KEYS[state]] = None
    return await _advance(context, step)


@FLOW.step()
async def home_pressed(update: Update, context: BotContext, step: Step) -> State:
    """The home branch, or (0) the committees to choose from when it can't be found."""
    org_id = HomeBranch.read(update).org_id
    if org_id == 0:
        units = await queries.search_org_units(step.session, "", kinds=HOME_KINDS, limit=20)
        locale = context.tr.locale
        rows = [[(f"{u.code} {u.display_name(locale)}"[:60], HomeBranch(u.id).data)] for u in units]
        step.edit(
            context._(
                "Choose the Party committee your branch was under; its organisation "
                "department will look at your request."
            ),
            keyboard(rows),
        )
        return None
    org = await queries.org_by_id(step.session, org_id)
    if org is None or org.kind is OrgKind.PARTY_GROUP:
        raise Refused()
    step.data["home_id"] = org.id
    return await _advance(context, step)


@FLOW.step()
async def other_pressed(update: Update, context: BotContext, step: Step) -> State:
    """The receiving branch, or where a mobile member takes part in Party life."""
    org = await queries.org_by_id(step.session, OtherBranch.read(update).org_id)
    if org is None or org.kind is not OrgKind.BRANCH:
        raise Refused()
    if org.id == step.data.get("home_id"):
        raise Refused(context._("The other branch must not be your home branch."))
    step.data["other_id"] = org.id
    return await _advance(context, step)


@FLOW.step()
async def send_pressed(update: Update, context: BotContext, step: Step) -> State:
    """File the request and tell the home side."""
    SendRequest.read(update)
    data = step.data
    assert context.account is not None
    new = service.NewRequest(
        type=RequestType(data["type"]),
        name=str(data["name"]),
        home_id=int(data["home_id"]),
        receiving_id=int(data["other_id"]) if data.get("other_id") else None,
        join_year=int(data["join_year"]) if data.get("join_year") else None,
        city=data.get("city"),
        employer=data.get("employer"),
        phone=data.get("phone"),
    )
    now = context.settings.now()
    outcome = await service.submit_request(
        step.session,
        account=context.account,
        new=new,
        now=now,
        throttle=service.Throttle.of(context.settings),
    )
    if outcome.problem is service.Problem.THROTTLED:
        # The answers stay: the member sends them once the wait is over.
        until = now + (outcome.retry_after or service.Throttle.of(context.settings).window)
        raise Refused(problem_text(context.tr, outcome.problem, until=until))
    if outcome.problem is not None:
        step.edit(problem_text(context.tr, outcome.problem))
        return ConversationHandler.END
    if outcome.refusal is not None or outcome.request is None:
        assert outcome.refusal is not None
        step.edit(refusal_text(context.tr, outcome.refusal, None))
        return ConversationHandler.END
    home = outcome.request.home_branch
    step.edit(
        context._(
            "Your request #{id} was sent to {branch}. I will tell you here when it moves; "
            "send /relink at any time to see its state."
        ).format(id=outcome.request.id, branch=escape(home.display_name(context.tr.locale)))
    )

    async def notify(update: Update, context: BotContext) -> None:
        await send_notices(context.application, outcome, render)

    step.then(notify)
    return ConversationHandler.END


@FLOW.step()
async def stop_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Cancel the request being written."""
    StopRequest.read(update)
    step.edit(context._("Cancelled. Nothing was saved."))
    return ConversationHandler.END


def _skip_handler() -> CallbackQueryHandler[BotContext, object]:
    return CallbackQueryHandler(skip_pressed, pattern=SkipQuestion.pattern)


def build() -> ConversationHandler[BotContext]:
    """The /relink conversation."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[
            CommandHandler("relink", relink),
            CallbackQueryHandler(new_pressed, pattern=StartRequest.pattern),
        ],
        states={
            TYPE: [CallbackQueryHandler(kind_pressed, pattern=RequestKind.pattern)],
            NAME: [MessageHandler(text, typed)],
            HOME: [
                MessageHandler(text, typed),
                CallbackQueryHandler(home_pressed, pattern=HomeBranch.pattern),
            ],
            YEAR: [MessageHandler(text, typed)],
            CITY: [MessageHandler(text, typed), _skip_handler()],
            EMPLOYER: [MessageHandler(text, typed), _skip_handler()],
            PHONE: [MessageHandler(text, typed), _skip_handler()],
            OTHER: [
                MessageHandler(text, typed),
                CallbackQueryHandler(other_pressed, pattern=OtherBranch.pattern),
                _skip_handler(),
            ],
            CONFIRM: [CallbackQueryHandler(send_pressed, pattern=SendRequest.pattern)],
        },
        fallbacks=[
            CallbackQueryHandler(stop_pressed, pattern=StopRequest.pattern),
            *conversation_fallbacks(FLOW, _reprompt, button_prefix="rlq"),
        ],
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
