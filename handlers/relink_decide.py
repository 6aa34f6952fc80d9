"""Taking a decision on a relink request inside a "relink_act" step: check, apply, show, tell.

A decision is applied in the step's transaction; the card shown back and the notices to the
others go out after the commit. A refused button press raises `Refused` (nothing changes, a
short alert); a refusal after typed words is said in a message and ends the conversation, so
the decider is not left answering a question about a request that moved on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.relink import service
from bot.relink.machine import apply
from bot.relink.model import Action, EventKind, Refusal
from bot.relink.notifier import send_notices
from handlers.common import Refused
from handlers.flow import Flow, Step
from handlers.relink_cards import build_card
from handlers.relink_notices import render
from handlers.relink_texts import EVENT_LABELS, problem_text, refusal_text
from storage.models_relink import RelinkRequest

FLOW = Flow("relink_act")
TEXT, LETTER_DAYS, TALK_BY = "text", "letter_days", "talk_by"


def probe_date() -> dt.date:
    """A date for asking the machine whether a talk could be recorded at all."""
    return dt.date(2000, 1, 1)


@contextlib.contextmanager
def changed_concurrently(context: BotContext) -> Iterator[None]:
    """Another decider won the race for this request's version: nothing of ours is kept."""
    try:
        yield
    except service.Changed:
        raise Refused(problem_text(context.tr, service.Problem.CHANGED)) from None


def refuse_in_step(step: Step, text: str) -> int:
    """Refuse a press with an alert (rolled back); say a refusal of typed words and end."""
    if step.update.callback_query is not None:
        raise Refused(text)
    step.reply(text)
    return ConversationHandler.END


def presser_id(context: BotContext) -> int:
    """The presser's account id. Someone without an account (who never agreed to the privacy
    notice) has filed no request and holds no role: every request is missing to them."""
    if context.account is None:
        raise Refused(problem_text(context.tr, service.Problem.NOT_FOUND))
    return context.account.id


async def visible(context: BotContext, step: Step, request_id: int) -> RelinkRequest:
    """The request, if the presser may see it; else the refusal a missing one gets."""
    row = await service.visible_request(
        step.session, request_id, context.principal, presser_id(context)
    )
    if row is None:
        raise Refused(problem_text(context.tr, service.Problem.NOT_FOUND))
    return row


async def precheck(
    context: BotContext, step: Step, request_id: int, action: Action
) -> RelinkRequest:
    """The request, if the sender may see it and the machine would accept such an action from
    them now; `Refused` otherwise (before asking for any words)."""
    row = await visible(context, step, request_id)
    snapshot = await service.snapshot_of(step.session, row)
    actor = service.actor_for(context.principal, context.actor_id, row)
    result = apply(snapshot, action, actor, context.settings.now())
    if isinstance(result, Refusal):
        raise Refused(refusal_text(context.tr, result, snapshot))
    return row


async def decide(context: BotContext, step: Step, request_id: int, action: Action) -> int:
    """Apply an action for the sender; show the new card; tell the others after the commit."""
    with changed_concurrently(context):
        outcome = await service.perform(
            step.session,
            request_id=request_id,
            action=action,
            account=context.account,
            principal=context.principal,
            now=context.settings.now(),
            throttle=service.Throttle.of(context.settings),
        )
    return await conclude(context, step, outcome)


def _done(context: BotContext, kind: EventKind) -> str:
    """What the sender is told they did."""
    if kind is EventKind.ANSWERED:
        # Said to the member, who answered: not "the member answered".
        return context._(
            "Your answer was sent to your branch, which will review your request again."
        )
    return context._("Done: {event}.").format(event=context._(EVENT_LABELS[kind]))


async def conclude(
    context: BotContext, step: Step, outcome: service.Outcome, *, done: str | None = None
) -> int:
    """Show the sender the outcome of a decision, or why there was none."""
    tr, now = context.tr, context.settings.now()
    if outcome.problem is not None:
        until = now + outcome.retry_after if outcome.retry_after is not None else None
        return refuse_in_step(step, problem_text(tr, outcome.problem, until=until))
    if outcome.refusal is not None:
        snapshot = (
            await service.snapshot_of(step.session, outcome.request) if outcome.request else None
        )
        return refuse_in_step(step, refusal_text(tr, outcome.refusal, snapshot))
    assert outcome.request is not None
    if done is None:
        assert outcome.event is not None
        done = _done(context, outcome.event.kind)
    card = await build_card(
        step.session, tr, outcome.request, context.principal, context.actor_id, now
    )
    step.edit(f"{done}\n\n{card.text}", card.markup)
    notify_after(step, outcome)
    return ConversationHandler.END


def notify_after(step: Step, outcome: service.Outcome, *, report_place: str | None = None) -> None:
    """Tell everyone the outcome concerns, once the step is committed."""
    if not outcome.recipients:
        return

    async def notify(update: Update, context: BotContext) -> None:
        await send_notices(context.application, outcome, render, report_place=report_place)

    step.then(notify)
