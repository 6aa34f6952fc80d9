"""The /log conversation's draft: its Flow, asking its questions, and the check every step
of an open draft makes (the sender still leads the draft's branch)."""

from __future__ import annotations

import functools

from telegram import Update
from telegram.ext import ConversationHandler

from bot.activities import ActivityDraft, answered, next_question
from bot.context import BotContext
from handlers.activity_texts import scope_refusal
from handlers.common import Refused, answer, refuse
from handlers.flow import Flow, Handler, State, Step, StepCallback
from handlers.log_texts import SUMMARY, question
from storage import activity_queries, queries

FLOW = Flow("activity")
END = ConversationHandler.END


async def ask(context: BotContext, step: Step, state: str) -> str:
    """Queue the question of `state` (editing the pressed message) and return the state."""
    text, markup = await question(context, step.session, state, step.data)
    step.edit(text, markup)
    return state


async def advance(context: BotContext, step: Step, done: str | None = None) -> str:
    """Mark `done` answered and ask the next question that applies, else the summary."""
    pending = list(step.data.get("pending") or [])
    if done is not None:
        pending = answered(pending, done)
    pending, following = next_question(
        pending,
        ActivityDraft.from_data(step.data),
        roster_size=int(step.data.get("roster_size") or 0),
        has_groups=bool(step.data.get("has_groups")),
    )
    step.data["pending"] = pending
    return await ask(context, step, following or SUMMARY)


def problem(step: Step, text: str) -> None:
    """Tell the sender what is wrong with the answer (an alert for a button); the draft stays."""
    step.then(lambda update, context: refuse(update, context, text))


async def reprompt(update: Update, context: BotContext) -> None:
    """Ask the current question again (after the step that decided so is committed)."""
    async with context.db() as session:
        draft = await FLOW.load(session, update)
        if draft.state is None:
            return
        text, markup = await question(context, session, draft.state, draft.data)
    await answer(update, context, text, markup)


def leader_step(func: StepCallback) -> Handler:
    """A step of an open draft: the sender must still lead the draft's branch (a role may be
    taken away while a draft is open), else the draft is dropped and nothing is saved."""

    @FLOW.step(registered=True)
    @functools.wraps(func)
    async def run(update: Update, context: BotContext, step: Step) -> State:
        branch_id = step.data.get("branch_id")
        if branch_id is not None and not context.principal.leads_branch(int(branch_id)):
            step.then(lambda update, context: refuse(update, context, scope_refusal(context)))
            return END
        return await func(update, context, step)

    return run


def text_of(update: Update) -> str:
    """The text of the message answering a question ("" for none)."""
    message = update.effective_message
    return (message.text if message is not None else None) or ""


async def start_draft(
    context: BotContext, step: Step, draft: ActivityDraft, pending: list[str]
) -> str:
    """A new draft (for a branch the sender leads) with the questions still to ask."""
    if not context.principal.leads_branch(draft.branch_id):
        raise Refused(scope_refusal(context))
    branch = await queries.org_by_id(step.session, draft.branch_id)
    groups = await activity_queries.party_groups(step.session, branch_id=draft.branch_id)
    step.data = draft.to_data() | {
        "pending": pending,
        "roster_size": await queries.roster_size(step.session, branch) if branch else 0,
        "has_groups": bool(groups),
    }
    return await advance(context, step)
