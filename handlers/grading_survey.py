"""Satisfaction surveys: /survey for members, one-time codes for the masses, and comments.

A member's or resident's choice waits in the draft only while the optional comment is asked
for; the step that files the answer (with the comment) deletes the draft in the same
transaction, so no draft keyed by a Telegram account outlives the answer, and none ever holds
an answer's key (see bot.grading.surveys). A mass code works once and needs no registration.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.enums import RectificationStatus
from bot.grading import rectify, scope, service
from bot.grading.mass_codes import CodeOutcome, answer_mass_survey, check_mass_code, hash_mass_code
from bot.grading.surveys import SurveyOutcome, answer_member_survey, member_refusal
from handlers.cancel import conversation_fallbacks
from handlers.common import Refused, answer, clean_text, edit_or_answer, escape, keyboard, sender
from handlers.flow import Flow, State, Step
from handlers.grading_buttons import CheckAnswer, MassAnswer, MemberAnswer, SkipComment
from handlers.grading_labels import (
    IDLE_TIMEOUT,
    check_question,
    member_survey_question,
    satisfaction_rows,
)
from storage import grading_queries as gq
from storage import queries
from storage.models_grading import RectificationItem

FLOW = Flow("grading_survey", idle=IDLE_TIMEOUT)
CHOOSE, COMMENT = "choose", "comment"


def _refusal_text(context: BotContext, outcome: SurveyOutcome) -> str | None:
    if outcome is SurveyOutcome.ALREADY:
        return context._("You have already answered this survey.")
    if outcome is SurveyOutcome.CLOSED:
        return context._("This survey is closed; answers are no longer accepted.")
    if outcome is SurveyOutcome.JOINED_LATE:
        return context._("This survey is for the members the branch had when the campaign started.")
    return None


def _code_refusal(context: BotContext, outcome: CodeOutcome) -> str:
    if outcome is CodeOutcome.USED:
        return context._("This survey code has already been used. Each code works once.")
    if outcome is CodeOutcome.CLOSED:
        return context._("This survey is closed; answers are no longer accepted.")
    return context._("This survey code is not valid. Please check it.")


def _comment_question(context: BotContext) -> tuple[str, InlineKeyboardMarkup]:
    return (
        context._("Anything to add? Type a comment (it is anonymous too), or press Skip."),
        keyboard([[(context._("Skip"), SkipComment().data)]]),
    )


# ---- the masses' survey --------------------------------------------------------------------


async def start_mass_survey(update: Update, context: BotContext, code: str) -> None:
    """/start s-<code> (dispatched from handlers.start): open the survey if the code is valid."""

    @FLOW.step(entry=True)
    async def open_survey(update: Update, context: BotContext, step: Step) -> State:
        code_hash = hash_mass_code(code)
        outcome, _campaign, branch = await check_mass_code(
            step.session, code_hash, context.settings.now()
        )
        if outcome is not CodeOutcome.VALID or branch is None:
            step.reply(_code_refusal(context, outcome))
            return ConversationHandler.END
        step.data["code"] = code_hash
        step.reply(
            context._(
                "A short anonymous survey. How satisfied are you with the work of {branch}? "
                "Nobody will see who answered."
            ).format(branch=escape(branch.display_name(context.tr.locale))),
            keyboard(satisfaction_rows(context.tr, lambda v: MassAnswer(v).data)),
        )
        return CHOOSE

    await open_survey(update, context)


@FLOW.step(entry=True)
async def mass_chosen(update: Update, context: BotContext, step: Step) -> State:
    """sm: the resident's choice; ask for the optional comment."""
    value = MassAnswer.read(update).value
    code_hash = str(step.draft.data.get("code", ""))
    if step.state not in (CHOOSE, COMMENT) or not code_hash:
        raise Refused(context._("This button is no longer active."))
    outcome, _campaign, _branch = await check_mass_code(
        step.session, code_hash, context.settings.now()
    )
    if outcome is not CodeOutcome.VALID:
        step.edit(_code_refusal(context, outcome))
        return ConversationHandler.END
    step.data.update(code=code_hash, value=value.value)
    step.edit(*_comment_question(context))
    return COMMENT


@FLOW.step()
async def waiting_for_choice(update: Update, context: BotContext, step: Step) -> State:
    """Text before the answer: the comment comes after it."""
    step.reply(context._("Please choose an answer with the buttons above."))
    return None


# ---- the members' survey -------------------------------------------------------------------


@FLOW.step(registered=True, entry=True)
async def member_chosen(update: Update, context: BotContext, step: Step) -> State:
    """sv: a member's choice about their own branch; ask for the optional comment."""
    button = MemberAnswer.read(update)
    person_id, branch_id = context.principal.person_id, context.principal.branch_id
    campaign = await scope.member_campaign(step.session, context.principal, button.campaign_id)
    if campaign is None or person_id is None or branch_id is None:
        raise Refused()
    refusal, _assessment = await member_refusal(
        step.session,
        campaign=campaign,
        person_id=person_id,
        branch_id=branch_id,
        now=context.settings.now(),
    )
    if refusal is not None:
        raise Refused(_refusal_text(context, refusal))
    step.data.update(campaign=campaign.id, value=button.value.value)
    step.edit(*_comment_question(context))
    return COMMENT


async def _file(context: BotContext, step: Step, comment: str | None) -> State:
    """File the answer waiting in the draft, with the comment; the draft goes with it."""
    value = str(step.data.get("value", ""))
    now = context.settings.now()
    if "code" in step.data:
        outcome = await answer_mass_survey(
            step.session,
            code_hash=str(step.data["code"]),
            value=value,
            comment=comment,
            now=now,
        )
        if outcome is not CodeOutcome.VALID:
            step.edit(_code_refusal(context, outcome))
            return ConversationHandler.END
        return _thanks(context, step, comment)
    campaign = await scope.member_campaign(
        step.session, context.principal, int(step.data.get("campaign", 0))
    )
    person_id, branch_id = context.principal.person_id, context.principal.branch_id
    if campaign is None or person_id is None or branch_id is None:
        raise Refused()
    result = await answer_member_survey(
        step.session,
        campaign=campaign,
        person_id=person_id,
        branch_id=branch_id,
        value=value,
        comment=comment,
        now=now,
    )
    if result is not SurveyOutcome.RECORDED:
        step.edit(_refusal_text(context, result) or context._("This button is no longer active."))
        return ConversationHandler.END
    return _thanks(context, step, comment)


def _thanks(context: BotContext, step: Step, comment: str | None) -> State:
    if comment is None:
        step.edit(context._("Thank you! Your answer is recorded."))
    else:
        step.reply(context._("Thank you! Your answer and comment are recorded anonymously."))
    return ConversationHandler.END


@FLOW.step()
async def comment_typed(update: Update, context: BotContext, step: Step) -> State:
    """The optional comment: file the answer with it."""
    message = update.effective_message
    text = clean_text(message.text if message else None, limit=service.COMMENT_LIMIT)
    if text is None:
        step.reply(
            context._("Please type a comment of at most {limit} characters, or press Skip.").format(
                limit=service.COMMENT_LIMIT
            )
        )
        return None
    return await _file(context, step, text)


@FLOW.step()
async def comment_skipped(update: Update, context: BotContext, step: Step) -> State:
    """sv:skip: file the answer without a comment."""
    return await _file(context, step, None)


# ---- /survey and rectification checks ------------------------------------------------------


@sender(registered=True)
async def survey_command(update: Update, context: BotContext) -> None:
    """/survey: open surveys about the member's branch, and its rectification list."""
    branch_id, person_id = context.principal.branch_id, context.principal.person_id
    if branch_id is None or person_id is None:
        await answer(update, context, context._("Surveys are for members of a branch."))
        return
    now = context.settings.now()
    messages: list[tuple[str, InlineKeyboardMarkup | None]] = []
    async with context.db.begin() as session:
        branch = await queries.org_by_id(session, branch_id)
        name = branch.display_name(context.tr.locale) if branch else ""
        for _assessment, campaign in await gq.assessments_of_branches(session, [branch_id]):
            refusal, _found = await member_refusal(
                session, campaign=campaign, person_id=person_id, branch_id=branch_id, now=now
            )
            if refusal is None:
                messages.append(_member_survey(context, campaign.id, campaign.year, name))
            items = await gq.rectification_items(
                session, campaign_id=campaign.id, branch_id=branch_id
            )
            if items:
                messages.append((_rectification_list(context, items), None))
            for item in items:
                if rectify.check_open(item, now) and not await gq.has_participated(
                    session,
                    campaign_id=campaign.id,
                    person_id=person_id,
                    subject=rectify.check_subject(item.id),
                ):
                    messages.append(_check(context, item))
    if not messages:
        messages.append((context._("There is no survey for you right now."), None))
    for text, markup in messages:
        await answer(update, context, text, markup)


def _member_survey(
    context: BotContext, campaign_id: int, year: int, branch_name: str
) -> tuple[str, InlineKeyboardMarkup]:
    rows = satisfaction_rows(context.tr, lambda v: MemberAnswer(campaign_id, v).data)
    return member_survey_question(context.tr, year, branch_name), keyboard(rows)


def _check(context: BotContext, item: RectificationItem) -> tuple[str, InlineKeyboardMarkup]:
    rows = satisfaction_rows(context.tr, lambda v: CheckAnswer(item.id, v).data)
    return check_question(context.tr, item.problem), keyboard(rows)


def _rectification_list(context: BotContext, items: list[RectificationItem]) -> str:
    _ = context._
    lines = [_("<b>Rectification of your branch</b>")]
    for item in items:
        state = _("done") if item.status is RectificationStatus.DONE else _("open")
        lines.append(
            _(
                "• {problem}\n  Measures: {measures}\n  Due {due}, responsible: {responsible}"
                " — {state}"
            ).format(
                problem=escape(item.problem),
                measures=escape(item.measures),
                due=context.tr.date(item.due_on),
                responsible=escape(item.responsible),
                state=state,
            )
        )
    return "\n".join(lines)


@sender(registered=True)
async def rectification_checked(update: Update, context: BotContext) -> None:
    """sr: a member judges a finished rectification item of their own branch."""
    button = CheckAnswer.read(update)
    person_id = context.principal.person_id
    async with context.db.begin() as session:
        item = await scope.member_item(session, context.principal, button.item_id)
        if item is None or person_id is None:
            raise Refused()
        outcome = await rectify.answer_rectification_check(
            session,
            item=item,
            person_id=person_id,
            value=button.value.value,
            now=context.settings.now(),
        )
        if outcome is not SurveyOutcome.RECORDED:
            raise Refused(_refusal_text(context, outcome))
    await edit_or_answer(update, context, context._("Thank you! Your answer is recorded."))


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(update, context, context._("Type a comment, or press Skip."))


def build() -> ConversationHandler[BotContext]:
    """The choose-then-comment conversation of members and the masses."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[
            CallbackQueryHandler(member_chosen, pattern=MemberAnswer.pattern),
            CallbackQueryHandler(mass_chosen, pattern=MassAnswer.pattern),
        ],
        states={
            CHOOSE: [MessageHandler(text, waiting_for_choice)],
            COMMENT: [
                MessageHandler(text, comment_typed),
                CallbackQueryHandler(comment_skipped, pattern=SkipComment.pattern),
            ],
        },
        # Stale buttons of these flows are answered by the global stale-button handler.
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix=None),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """/survey and the rectification checks."""
    return [
        CommandHandler("survey", survey_command),
        CallbackQueryHandler(rectification_checked, pattern=CheckAnswer.pattern),
    ]
