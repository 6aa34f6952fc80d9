"""/log (guided, or one quick-log message), and correcting or voiding from /activities.

One crash-safe conversation holds the draft: every handler is a `Flow.step`, so each answer
and the next question are committed before the bot replies, a redelivered update is ignored,
and a restart resumes where the secretary was. This module starts drafts and assembles the
conversation; the answers are in handlers.activity_answers, saving, correcting and voiding
in handlers.activity_manage, the questions in handlers.log_texts, and which question comes
next is bot.activities' rule.
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.activities import (
    GUIDED_FIELDS,
    TOPIC_LIMIT,
    ActivityDraft,
    draft_from_quick_log,
    quick_log_questions,
)
from bot.context import BotContext
from bot.rules.dates import DateError
from bot.rules.quicklog import looks_like_quick_log
from handlers import activity_answers as answers
from handlers import activity_manage as manage
from handlers import meeting_log
from handlers.activity_flow import FLOW, ask, reprompt, start_draft, text_of
from handlers.activity_texts import CorrectActivity, VoidActivity, scope_refusal
from handlers.buttons import Button
from handlers.cancel import odd_input_for
from handlers.common import Refused
from handlers.flow import Handler, State, Step
from handlers.log_texts import (
    ABSENT_REASON,
    BRANCH,
    CONFIRM_CANCEL,
    SUMMARY,
    VOID_REASON,
    AbsentDone,
    AbsentPick,
    AllPresent,
    BranchChoice,
    DayButton,
    DecidesToggle,
    DiscardAsked,
    DiscardDraft,
    EditField,
    FilesDone,
    GroupChoice,
    KeepEditing,
    KindsDone,
    KindToggle,
    ReasonChoice,
    ReasonSkipped,
    SaveDraft,
    Skip,
    VoidReasonChoice,
    date_error_text,
)
from handlers.meeting_buttons import LogMeeting


def _led_branches(context: BotContext) -> list[int]:
    branches = [grant.org_id for grant in context.principal.led_branches()]
    if not branches:
        raise Refused(scope_refusal(context))
    return branches


@FLOW.step(registered=True, entry=True)
async def start_log(update: Update, context: BotContext, step: Step) -> State:
    """/log: start the guided flow for the branch the sender leads (asking which, if several)."""
    branches = _led_branches(context)
    if len(branches) > 1:
        step.data = {"pending": []}
        return await ask(context, step, BRANCH)
    return await start_draft(context, step, ActivityDraft(branches[0]), list(GUIDED_FIELDS))


@FLOW.step(registered=True)
async def branch_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Start the guided flow (or the quick log) for the chosen branch."""
    branch_id = BranchChoice.read(update).branch_id
    quick = step.data.get("quick")
    if isinstance(quick, dict):
        # A quick log from someone who leads several branches: it goes to the chosen one.
        draft = ActivityDraft.from_data({**quick, "branch_id": branch_id})
        return await start_draft(context, step, draft, list(step.data["quick_pending"]))
    return await start_draft(context, step, ActivityDraft(branch_id), list(GUIDED_FIELDS))


class _QuickLogFilter(filters.MessageFilter):
    """Text that names an activity kind (支委会 …, committee meeting …)."""

    def filter(self, message: Message) -> bool:
        return bool(message.text) and looks_like_quick_log(message.text or "")


QUICK_LOG = _QuickLogFilter(name="QuickLog")


@FLOW.step(registered=True, entry=True)
async def quick_log(update: Update, context: BotContext, step: Step) -> State:
    """One message becomes a draft; the flow asks only for what it could not read."""
    branches = _led_branches(context)
    draft, date_error, topic_too_long = draft_from_quick_log(
        text_of(update)[:1000], branch_id=branches[0], today=context.today()
    )
    if date_error in (DateError.FUTURE, DateError.INVALID):
        step.reply(date_error_text(context, date_error))
    if topic_too_long:
        step.reply(
            context._("The topic is longer than {limit} characters, so it was not kept.").format(
                limit=TOPIC_LIMIT
            )
        )
    pending = quick_log_questions(draft)
    if len(branches) > 1:
        step.data = {"pending": [], "quick": draft.to_data(), "quick_pending": pending}
        return await ask(context, step, BRANCH)
    return await start_draft(context, step, draft, pending)


# ---- while a draft is open ---------------------------------------------------------------------


@FLOW.step(registered=True)
async def resume(update: Update, context: BotContext, step: Step) -> State:
    """/log while a draft is open: show where the draft stands."""
    step.reply(
        context._("You have an unfinished draft; here it is again. Send /cancel to discard it.")
    )
    step.then(reprompt)
    return None


@FLOW.step(registered=True)
async def busy(update: Update, context: BotContext, step: Step) -> State:
    """A correct/void button while another draft is open."""

    async def alert(update: Update, context: BotContext) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer(
                context._("Finish or /cancel the draft you have open first."), show_alert=True
            )

    step.then(alert)
    return None


odd_input = odd_input_for(FLOW, reprompt)


def build() -> ConversationHandler[BotContext]:
    """The activity conversation: /log, quick logs, corrections and voiding."""
    text = filters.TEXT & ~filters.COMMAND

    def pressed(callback: Handler, family: type[Button]) -> CallbackQueryHandler[BotContext, Any]:
        return CallbackQueryHandler(callback, pattern=family.pattern)

    return ConversationHandler(
        entry_points=[
            CommandHandler("log", start_log),
            MessageHandler(text & QUICK_LOG, quick_log),
            pressed(manage.correct_pressed, CorrectActivity),
            pressed(manage.void_pressed, VoidActivity),
            pressed(meeting_log.log_meeting_pressed, LogMeeting),
        ],
        states={
            BRANCH: [pressed(branch_pressed, BranchChoice)],
            "kinds": [
                pressed(answers.kind_pressed, KindToggle),
                pressed(answers.kinds_done, KindsDone),
            ],
            "date": [
                pressed(answers.date_pressed, DayButton),
                MessageHandler(text, answers.date_typed),
            ],
            "topic": [MessageHandler(text, answers.topic_typed)],
            "attendance": [
                pressed(answers.all_present, AllPresent),
                MessageHandler(text, answers.attendance_typed),
            ],
            "group": [pressed(answers.group_pressed, GroupChoice)],
            "absent": [
                pressed(answers.absent_pressed, AbsentPick),
                pressed(answers.absent_done, AbsentDone),
            ],
            ABSENT_REASON: [
                pressed(answers.reason_pressed, ReasonChoice),
                pressed(answers.reason_skipped, ReasonSkipped),
            ],
            "place": [
                MessageHandler(text, answers.place_typed),
                pressed(answers.skip_pressed, Skip),
            ],
            "minutes": [
                MessageHandler(text, answers.minutes_typed),
                pressed(answers.skip_pressed, Skip),
            ],
            "files": [
                MessageHandler(filters.PHOTO | filters.Document.ALL, answers.file_given),
                pressed(answers.files_done, FilesDone),
            ],
            SUMMARY: [
                pressed(answers.edit_pressed, EditField),
                pressed(answers.decides_pressed, DecidesToggle),
                pressed(manage.save_pressed, SaveDraft),
                pressed(manage.discard_asked, DiscardAsked),
            ],
            CONFIRM_CANCEL: [
                pressed(manage.discard_pressed, DiscardDraft),
                pressed(manage.keep_editing, KeepEditing),
            ],
            VOID_REASON: [
                pressed(manage.void_reason_pressed, VoidReasonChoice),
                MessageHandler(text, manage.void_reason_typed),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", manage.discard_asked),
            CommandHandler("log", resume),
            pressed(busy, CorrectActivity),
            pressed(busy, VoidActivity),
            pressed(busy, LogMeeting),
            MessageHandler(~filters.COMMAND, odd_input),
            # Only our own stale buttons: /due's, /activities' and other features' buttons
            # keep working while a draft is open.
            CallbackQueryHandler(odd_input, pattern=r"^lg:"),
        ],
        name=FLOW.name,
        persistent=True,
        allow_reentry=False,
    )
