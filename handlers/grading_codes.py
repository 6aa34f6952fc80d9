"""A branch leader's survey tools on the /grade card: codes for the masses, asking the members.

Each button names the branch's assessment, checked on every press: only a leader of that
branch may make its codes or send its survey.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from bot.accounts import translator_for
from bot.commands import LEADERS
from bot.context import BotContext
from bot.grading import scope, service
from bot.grading.mass_codes import MASS_CODE_PREFIX, code_allowance, create_mass_codes
from bot.grading.surveys import member_refusal
from handlers.common import Refused, answer, edit_or_answer, keyboard, sender
from handlers.grading_buttons import AskCodes, CreateCodes, InviteMembers, MemberAnswer
from handlers.grading_labels import member_survey_question, satisfaction_rows
from storage import grading_queries as gq
from storage import queries
from storage.models import Account

log = logging.getLogger(__name__)

# Numbers of codes offered, besides "all the branch may still have".
CODE_CHOICES = (5, 10, 20)


def _closed_text(context: BotContext) -> str:
    return context._("The campaign is closed; no new codes can be made.")


@sender(registered=True, roles=LEADERS)
async def codes_asked(update: Update, context: BotContext) -> None:
    """gm:n: how many codes? (at most as many as the branch may still hold unused)"""
    assessment_id = AskCodes.read(update).assessment_id
    async with context.db.begin() as session:
        found = await scope.led_assessment(session, context.principal, assessment_id)
        if found is None:
            raise Refused()
        campaign, assessment = found
        if service.is_closed(campaign, context.settings.now()):
            raise Refused(_closed_text(context))
        branch = await queries.org_by_id(session, assessment.branch_id)
        assert branch is not None  # the assessment's foreign key
        allowance = await code_allowance(
            session,
            campaign_id=campaign.id,
            branch=branch,
            per_member=context.settings.mass_codes_per_member,
        )
    if allowance == 0:
        await answer(
            update,
            context,
            context._(
                "The branch already holds as many unused codes as it may (one per person on "
                "its roster, or as configured). Hand those out first."
            ),
        )
        return
    counts = [n for n in CODE_CHOICES if n < allowance] + [allowance]
    rows = [[(str(n), CreateCodes(assessment_id, n).data) for n in counts]]
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
    """gm:c: create the codes and show them once."""
    button = CreateCodes.read(update)
    async with context.db.begin() as session:
        found = await scope.led_assessment(session, context.principal, button.assessment_id)
        if found is None:
            raise Refused()
        campaign, assessment = found
        try:
            codes = await create_mass_codes(
                session,
                campaign=campaign,
                branch_id=assessment.branch_id,
                count=button.count,
                actor=context.account,
                now=context.settings.now(),
                per_member=context.settings.mass_codes_per_member,
            )
        except service.CampaignError:
            if service.is_closed(campaign, context.settings.now()):
                raise Refused(_closed_text(context)) from None
            raise Refused(
                context._("That is more codes than the branch may hold unused. Nothing was made.")
            ) from None
    username = context.bot.username
    links = "\n".join(
        f"<code>{code}</code> https://t.me/{username}?start={MASS_CODE_PREFIX}{code}"
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
    """gm:m: send the survey to every member of the branch who may still answer it."""
    assessment_id = InviteMembers.read(update).assessment_id
    now = context.settings.now()
    async with context.db.begin() as session:
        found = await scope.led_assessment(session, context.principal, assessment_id)
        if found is None:
            raise Refused()
        campaign, assessment = found
        if service.is_closed(campaign, now):
            raise Refused(context._("This survey is closed; answers are no longer accepted."))
        branch = await queries.org_by_id(session, assessment.branch_id)
        assert branch is not None  # the assessment's foreign key
        waiting: list[Account] = []
        for account in await gq.member_accounts(session, assessment.branch_id):
            if account.person_id is None:
                continue
            refusal, _found = await member_refusal(
                session,
                campaign=campaign,
                person_id=account.person_id,
                branch_id=assessment.branch_id,
                now=now,
            )
            if refusal is None:
                waiting.append(account)
    sent = 0
    for account in waiting:
        tr = translator_for(account, context.settings, None)
        text = member_survey_question(tr, campaign.year, branch.display_name(tr.locale))
        rows = satisfaction_rows(tr, lambda v: MemberAnswer(campaign.id, v).data)
        try:
            await context.bot.send_message(account.telegram_id, text, reply_markup=keyboard(rows))
            sent += 1
        except TelegramError as exc:
            log.warning("could not send the survey to account %s: %s", account.id, exc)
    await answer(
        update,
        context,
        context.tr.ngettext(
            "The survey was sent to {count} member who hasn't answered yet.",
            "The survey was sent to {count} members who haven't answered yet.",
            sent,
        ).format(count=sent),
    )


def handlers() -> list[CallbackQueryHandler[BotContext, None]]:
    """The codes and member-survey buttons of the branch card."""
    return [
        CallbackQueryHandler(codes_asked, pattern=AskCodes.pattern),
        CallbackQueryHandler(codes_created, pattern=CreateCodes.pattern),
        CallbackQueryHandler(members_invited, pattern=InviteMembers.pattern),
    ]
