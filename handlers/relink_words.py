"""The words a relink card button asked for: a reason, a question, an answer, a letter's number
and validity, the education talk, the dues settled, a mobile member's place (all "relink_act"
steps; the buttons that ask are in handlers.relink_review)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.i18n import N_
from bot.relink import service
from bot.relink.model import (
    MAX_LETTER_DAYS,
    Action,
    Answer,
    AskMore,
    Cancel,
    CompleteStep,
    DuesSettled,
    EducationTalkHeld,
    IssueLetter,
    Reject,
)
from bot.rules.dates import parse_activity_date
from handlers.common import answer, clean_text, escape, keyboard
from handlers.flow import State, Step
from handlers.relink_buttons import LetterDays
from handlers.relink_decide import (
    FLOW,
    LETTER_DAYS,
    TALK_BY,
    decide,
    notify_after,
    refuse_in_step,
)
from handlers.relink_texts import problem_text

LONG_TEXT = 300

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
        "Where are you now (city, employer or school)? Only those handling your request see "
        "it, to keep in touch with you. Send the same place if nothing changed."
    ),
}
# Verbs whose words are the action's whole content.
PLAIN: dict[str, Callable[[str], Action]] = {
    "rej": Reject,
    "ask": AskMore,
    "can": Cancel,
    "ans": Answer,
}


def letter_day_choices(default: int) -> list[int]:
    """Buttons for a letter's validity: the city's 10 days, the configured default, the maximum."""
    return sorted({10, default, MAX_LETTER_DAYS})


def _request_id(step: Step) -> int:
    return int(step.data.get("request_id", 0))


async def _letter_number(context: BotContext, step: Step, text: str) -> State:
    step.data["number"] = text[:64]
    days = letter_day_choices(context.settings.relink_letter_days)
    rows = [[(context._("{days} days").format(days=d), LetterDays(d).data) for d in days]]
    step.reply(
        context._(
            "How long is the letter valid? Usually {default} days; or type a number of "
            "days (1 to {max})."
        ).format(default=context.settings.relink_letter_days, max=MAX_LETTER_DAYS),
        keyboard(rows),
    )
    return LETTER_DAYS


async def _talk_date(context: BotContext, step: Step, text: str) -> State:
    parsed = parse_activity_date(text, context.today())
    if parsed.value is None:
        step.reply(context._("That is not a date up to today, like 2026-11-20 or today."))
        return None
    step.data["held_on"] = parsed.value.isoformat()
    step.reply(context._("Who held the education talk?"))
    return TALK_BY


async def _dues(context: BotContext, step: Step, text: str) -> State:
    if not re.fullmatch(r"\d{1,3}", text):
        step.reply(context._("Please send a number of months, like 6."))
        return None
    return await decide(context, step, _request_id(step), CompleteStep(DuesSettled(int(text))))


async def _report(context: BotContext, step: Step, place: str) -> State:
    assert context.account is not None
    outcome = await service.record_mobile_report(
        step.session,
        request_id=_request_id(step),
        account=context.account,
        place=place,
        now=context.settings.now(),
    )
    if outcome.problem is not None or outcome.refusal is not None:
        return refuse_in_step(step, problem_text(context.tr, service.Problem.NOT_FOUND))
    step.reply(
        context._(
            "Thank you: your home branch was told that you are now in {place}. Report "
            "again at least once a year, or whenever your place changes."
        ).format(place=escape(place))
    )
    notify_after(step, outcome, report_place=place)
    return ConversationHandler.END


WORDS: dict[str, Callable[[BotContext, Step, str], Awaitable[State]]] = {
    "let": _letter_number,
    "tlk": _talk_date,
    "due": _dues,
    "rep": _report,
}


def _text_of(update: Update) -> str | None:
    message = update.effective_message
    return clean_text(message.text if message else None, limit=LONG_TEXT)


def _ask_again(context: BotContext, step: Step) -> None:
    step.reply(context._("Please send text, at most {limit} characters.").format(limit=LONG_TEXT))


@FLOW.step()
async def words_typed(update: Update, context: BotContext, step: Step) -> State:
    """The words an action was waiting for."""
    text = _text_of(update)
    if text is None:
        _ask_again(context, step)
        return None
    verb = str(step.data.get("verb", ""))
    if verb in PLAIN:
        return await decide(context, step, _request_id(step), PLAIN[verb](text))
    if verb in WORDS:
        return await WORDS[verb](context, step, text)
    return ConversationHandler.END


@FLOW.step()
async def talk_by_typed(update: Update, context: BotContext, step: Step) -> State:
    """Who held the education talk: the step is recorded."""
    text = _text_of(update)
    if text is None:
        _ask_again(context, step)
        return None
    held_on = dt.date.fromisoformat(str(step.data["held_on"]))
    talk = CompleteStep(EducationTalkHeld(held_on, text))
    return await decide(context, step, _request_id(step), talk)


async def _issue(context: BotContext, step: Step, days: int | None) -> State:
    if days is None or not 1 <= days <= MAX_LETTER_DAYS:
        step.reply(context._("The validity must be 1 to {days} days.").format(days=MAX_LETTER_DAYS))
        return None
    letter = IssueLetter(str(step.data.get("number", "")), valid_days=days)
    return await decide(context, step, _request_id(step), letter)


@FLOW.step()
async def days_pressed(update: Update, context: BotContext, step: Step) -> State:
    """A validity button: the letter is issued."""
    return await _issue(context, step, LetterDays.read(update).days)


@FLOW.step()
async def days_typed(update: Update, context: BotContext, step: Step) -> State:
    """A typed validity in days: the letter is issued."""
    message = update.effective_message
    text = (message.text or "").strip() if message else ""
    return await _issue(context, step, int(text) if re.fullmatch(r"\d{1,3}", text) else None)


async def reprompt(update: Update, context: BotContext) -> None:
    """Repeat the question the conversation is waiting on."""
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    verb = str(draft.data.get("verb", ""))
    if draft.state == TALK_BY:
        text = context._("Who held the education talk?")
    elif draft.state == LETTER_DAYS:
        text = context._("The validity must be 1 to {days} days.").format(days=MAX_LETTER_DAYS)
    elif verb in ASKS:
        text = context._(ASKS[verb])
    else:
        return
    await answer(update, context, text)
