"""Satisfaction surveys: /survey for members, one-time codes for the masses, and comments.

Answers are anonymous: the response row has no person, account or time, and a secretary sees
counts only from a minimum number of answers on. A mass code works once and needs no account.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.accounts import translator_for
from bot.commands import LEADERS
from bot.context import BotContext
from bot.enums import RectificationStatus
from bot.grading import service
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
from handlers.grading_labels import IDLE_TIMEOUT, SATISFACTION_NAMES, campaign_title
from storage import grading_queries as gq
from storage import queries
from storage.models import Account
from storage.models_grading import RectificationItem

log = logging.getLogger(__name__)

FLOW = Flow("grading_survey")
COMMENT = "comment"
CODE_CHOICES = (5, 10, 20)


def _scale(context: BotContext, prefix: str) -> list[list[tuple[str, str]]]:
    return [
        [(context._(SATISFACTION_NAMES[v]), f"{prefix}:{v}")] for v in service.SATISFACTION_VALUES
    ]


# ---- codes for the masses (secretary) ------------------------------------------------------


@sender(registered=True, roles=LEADERS)
async def codes_asked(update: Update, context: BotContext) -> None:
    """gm:n:<assessment>: how many codes?"""
    assert update.callback_query is not None and update.callback_query.data is not None
    assessment_id = int(update.callback_query.data.rsplit(":", 1)[1])
    rows = [[(str(n), f"gm:c:{assessment_id}:{n}") for n in CODE_CHOICES]]
    await answer(
        update,
        context,
        context._(
            "How many one-time codes for the masses? Each opens one anonymous survey about the "
            "branch; hand them out in person or forward the links."
        ),
        keyboard(rows),
    )


@sender(registered=True, roles=LEADERS)
async def codes_created(update: Update, context: BotContext) -> None:
    """gm:c:<assessment>:<n>: create the codes and show them once."""
    assert update.callback_query is not None and update.callback_query.data is not None
    _prefix, _c, assessment_id, count = update.callback_query.data.split(":")
    if int(count) not in CODE_CHOICES:
        await refuse(update, context)
        return
    now = context.settings.now()
    async with context.db.begin() as session:
        assessment = await gq.assessment_by_id(session, int(assessment_id))
        if assessment is None or not context.principal.leads_branch(assessment.branch_id):
            await refuse(update, context)
            return
        campaign = await gq.campaign_by_id(session, assessment.campaign_id)
        assert campaign is not None
        account = await session.get(Account, context.account.id) if context.account else None
        try:
            codes = await service.create_mass_codes(
                session,
                campaign=campaign,
                branch_id=assessment.branch_id,
                count=int(count),
                actor=account,
                now=now,
            )
        except service.CampaignError:
            await refuse(
                update, context, context._("The campaign is closed; no new codes can be made.")
            )
            return
    username = context.bot.username
    links = "\n".join(
        f"<code>{code}</code> https://t.me/{username}?start={service.MASS_CODE_PREFIX}{code}"
        for code in codes
    )
    await edit_or_answer(
        update,
        context,
        context._(
            "{count} one-time codes. Each works once; they are shown only this once.\n\n{links}"
        ).format(count=len(codes), links=links),
    )


@sender(registered=True, roles=LEADERS)
async def members_invited(update: Update, context: BotContext) -> None:
    """gm:m:<assessment>: send the survey to every member of the branch who hasn't answered."""
    assert update.callback_query is not None and update.callback_query.data is not None
    assessment_id = int(update.callback_query.data.rsplit(":", 1)[1])
    now = context.settings.now()
    async with context.db() as session:
        assessment = await gq.assessment_by_id(session, assessment_id)
        if assessment is None or not context.principal.leads_branch(assessment.branch_id):
            await refuse(update, context)
            return
        campaign = await gq.campaign_by_id(session, assessment.campaign_id)
        branch = await queries.org_by_id(session, assessment.branch_id)
        assert campaign is not None and branch is not None
        if service.is_closed(campaign, now):
            await refuse(
                update, context, context._("This survey is closed; answers are no longer accepted.")
            )
            return
        waiting = [
            account
            for account in await gq.member_accounts(session, assessment.branch_id)
            if account.person_id is not None
            and not await gq.has_participated(
                session, campaign_id=campaign.id, person_id=account.person_id, subject="branch"
            )
        ]
    sent = 0
    for account in waiting:
        tr = translator_for(account, context.settings, None)
        text = tr._(
            "{title}: how satisfied are you with the work of your branch, {branch}? "
            "Your answer is anonymous: the branch sees only counts."
        ).format(
            title=tr._("Classification and grading {year}").format(year=campaign.year),
            branch=escape(branch.display_name(tr.locale)),
        )
        rows = [
            [(tr._(SATISFACTION_NAMES[v]), f"sv:{campaign.id}:{v}")]
            for v in service.SATISFACTION_VALUES
        ]
        try:
            await context.bot.send_message(account.telegram_id, text, reply_markup=keyboard(rows))
            sent += 1
        except TelegramError as exc:
            log.warning("could not send the survey to account %s: %s", account.id, exc)
    await answer(
        update,
        context,
        context._("The survey was sent to {count} member(s) who haven't answered yet.").format(
            count=sent
        ),
    )


# ---- the masses' survey --------------------------------------------------------------------


async def start_mass_survey(update: Update, context: BotContext, code: str) -> None:
    """/start s-<code> (dispatched from handlers.start): open the survey if the code is valid."""
    code_hash = service.hash_mass_code(code)
    now = context.settings.now()
    async with context.db.begin() as session:
        outcome, _campaign, branch = await service.check_mass_code(session, code_hash, now)
        if outcome is service.CodeOutcome.VALID:
            await FLOW.save(
                session, update, state=COMMENT, data={"code": code_hash, "step": "choose"}
            )
    if outcome is not service.CodeOutcome.VALID or branch is None:
        await answer(update, context, _code_refusal(context, outcome))
        return
    await answer(
        update,
        context,
        context._(
            "A short anonymous survey. How satisfied are you with the work of {branch}? "
            "Nobody will see who answered."
        ).format(branch=escape(branch.display_name(context.tr.locale))),
        keyboard(_scale(context, "sm")),
    )


def _code_refusal(context: BotContext, outcome: service.CodeOutcome) -> str:
    if outcome is service.CodeOutcome.USED:
        return context._("This survey code has already been used. Each code works once.")
    if outcome is service.CodeOutcome.CLOSED:
        return context._("This survey is closed; answers are no longer accepted.")
    return context._("This survey code is not valid. Please check it.")


@sender()
async def mass_answered(update: Update, context: BotContext) -> str | int | None:
    """sm:<value>: use the code and store the answer; offer a comment."""
    assert update.callback_query is not None and update.callback_query.data is not None
    value = update.callback_query.data.split(":", 1)[1]
    now = context.settings.now()
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        code_hash = str(draft.data.get("code", ""))
        if draft.state != COMMENT or draft.data.get("step") != "choose" or not code_hash:
            await refuse(update, context, context._("This button is no longer active."))
            return ConversationHandler.END
        outcome, response_id = await service.answer_mass_survey(
            session, code_hash=code_hash, value=value, now=now
        )
        if outcome is not service.CodeOutcome.VALID or response_id is None:
            await FLOW.end(session, update)
            await edit_or_answer(update, context, _code_refusal(context, outcome))
            return ConversationHandler.END
        await FLOW.save(session, update, state=COMMENT, data={"rid": response_id, "step": "text"})
    await _ask_comment(update, context)
    return COMMENT


async def _ask_comment(update: Update, context: BotContext) -> None:
    await edit_or_answer(
        update,
        context,
        context._("Thank you, your answer is recorded. Anything to add? Type a comment, or skip."),
        keyboard([[(context._("Skip"), "sv:skip")]]),
    )


# ---- the members' survey -------------------------------------------------------------------


@sender(registered=True)
async def survey_command(update: Update, context: BotContext) -> None:
    """/survey: open surveys about the member's branch, and its rectification list."""
    _ = context._
    branch_id = context.principal.branch_id
    person_id = context.principal.person_id
    if branch_id is None or person_id is None:
        await answer(update, context, _("Surveys are for members of a branch."))
        return
    now = context.settings.now()
    sent = False
    async with context.db() as session:
        branch = await queries.org_by_id(session, branch_id)
        for _assessment, campaign in await gq.assessments_of_branches(session, [branch_id]):
            if not service.is_closed(campaign, now) and not await gq.has_participated(
                session, campaign_id=campaign.id, person_id=person_id, subject="branch"
            ):
                await answer(
                    update,
                    context,
                    _(
                        "{title}: how satisfied are you with the work of your branch, {branch}? "
                        "Your answer is anonymous: the branch sees only counts."
                    ).format(
                        title=campaign_title(context, campaign),
                        branch=escape(branch.display_name(context.tr.locale)) if branch else "",
                    ),
                    keyboard(_scale(context, f"sv:{campaign.id}")),
                )
                sent = True
            items = await gq.rectification_items(
                session, campaign_id=campaign.id, branch_id=branch_id
            )
            if items:
                await answer(update, context, _rectification_list(context, items))
                for item in items:
                    if item.status is RectificationStatus.DONE and not await gq.has_participated(
                        session,
                        campaign_id=campaign.id,
                        person_id=person_id,
                        subject=f"rect:{item.id}",
                    ):
                        await _ask_rectification_check(update, context, item.id, item.problem)
                sent = True
    if not sent:
        await answer(update, context, _("There is no survey for you right now."))


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
                due=context.tr.date(item.due_on, "short"),
                responsible=escape(item.responsible),
                state=state,
            )
        )
    return "\n".join(lines)


async def _ask_rectification_check(
    update: Update, context: BotContext, item_id: int, problem: str
) -> None:
    await answer(
        update,
        context,
        context._(
            "The branch reports this problem as rectified: {problem}. How satisfied are you "
            "with the result? (anonymous)"
        ).format(problem=escape(problem)),
        keyboard(_scale(context, f"sr:{item_id}")),
    )


@sender(registered=True)
async def member_answered(update: Update, context: BotContext) -> str | int | None:
    """sv:<campaign>:<value>: the member's anonymous answer; offer a comment."""
    assert update.callback_query is not None and update.callback_query.data is not None
    _prefix, campaign_id, value = update.callback_query.data.split(":")
    person_id, branch_id = context.principal.person_id, context.principal.branch_id
    now = context.settings.now()
    async with context.db.begin() as session:
        campaign = await gq.campaign_by_id(session, int(campaign_id))
        if campaign is None or person_id is None or branch_id is None:
            await refuse(update, context)
            return ConversationHandler.END
        outcome, response_id = await service.answer_member_survey(
            session,
            campaign=campaign,
            person_id=person_id,
            branch_id=branch_id,
            value=value,
            now=now,
        )
        if outcome is service.SurveyOutcome.RECORDED and response_id is not None:
            await FLOW.save(
                session, update, state=COMMENT, data={"rid": response_id, "step": "text"}
            )
    if outcome is service.SurveyOutcome.ALREADY:
        await refuse(update, context, context._("You have already answered this survey."))
        return ConversationHandler.END
    if outcome is service.SurveyOutcome.CLOSED:
        await refuse(
            update, context, context._("This survey is closed; answers are no longer accepted.")
        )
        return ConversationHandler.END
    if outcome is not service.SurveyOutcome.RECORDED:
        await refuse(update, context)
        return ConversationHandler.END
    await _ask_comment(update, context)
    return COMMENT


@sender()
async def comment_typed(update: Update, context: BotContext) -> str | int | None:
    """Attach the optional comment."""
    message = update.effective_message
    text = clean_text(message.text if message else None, limit=service.COMMENT_LIMIT)
    if text is None:
        await answer(
            update,
            context,
            context._("Please type a comment of at most {limit} characters, or press Skip.").format(
                limit=service.COMMENT_LIMIT
            ),
        )
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return draft.state
        step = draft.data.get("step")
        if step == "text":
            await service.add_comment(session, int(draft.data.get("rid", 0)), text)
            await FLOW.end(session, update)
    if step != "text":
        # The survey is still waiting for its answer (a comment comes after it).
        await answer(update, context, context._("Please choose an answer with the buttons above."))
        return None
    await answer(update, context, context._("Thank you! Your comment is recorded anonymously."))
    return ConversationHandler.END


@sender()
async def comment_skipped(update: Update, context: BotContext) -> int:
    """sv:skip: no comment."""
    async with context.db.begin() as session:
        await FLOW.end(session, update)
    await edit_or_answer(update, context, context._("Thank you! Your answer is recorded."))
    return ConversationHandler.END


@sender(registered=True)
async def rectification_checked(update: Update, context: BotContext) -> None:
    """sr:<item>:<value>: a member judges a finished rectification item."""
    assert update.callback_query is not None and update.callback_query.data is not None
    _prefix, item_id, value = update.callback_query.data.split(":")
    person_id = context.principal.person_id
    async with context.db.begin() as session:
        item = await gq.rectification_by_id(session, int(item_id))
        if item is None or person_id is None or item.branch_id != context.principal.branch_id:
            await refuse(update, context)
            return
        outcome = await service.answer_rectification_check(
            session, item=item, person_id=person_id, value=value
        )
    if outcome is service.SurveyOutcome.ALREADY:
        await refuse(update, context, context._("You have already answered this survey."))
        return
    if outcome is not service.SurveyOutcome.RECORDED:
        await refuse(update, context)
        return
    await edit_or_answer(update, context, context._("Thank you! Your answer is recorded."))


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(update, context, context._("Type a comment, or press Skip."))


def build() -> ConversationHandler[BotContext]:
    """The answer-then-comment conversation of members and the masses."""
    return ConversationHandler(
        entry_points=[
            CallbackQueryHandler(member_answered, pattern=r"^sv:\d{1,12}:[a-z_]{1,24}$"),
            CallbackQueryHandler(mass_answered, pattern=r"^sm:[a-z_]{1,24}$"),
        ],
        states={
            COMMENT: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, comment_typed),
                CallbackQueryHandler(comment_skipped, pattern=r"^sv:skip$"),
            ],
        },
        # Stale buttons of these flows are answered by the global stale-button handler.
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix=None),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
        conversation_timeout=IDLE_TIMEOUT,
    )


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """/survey, the mass codes buttons and rectification checks."""
    return [
        CommandHandler("survey", survey_command),
        CallbackQueryHandler(codes_asked, pattern=r"^gm:n:\d{1,12}$"),
        CallbackQueryHandler(members_invited, pattern=r"^gm:m:\d{1,12}$"),
        CallbackQueryHandler(codes_created, pattern=r"^gm:c:\d{1,12}:\d{1,3}$"),
        CallbackQueryHandler(rectification_checked, pattern=r"^sr:\d{1,12}:[a-z_]{1,24}$"),
    ]
