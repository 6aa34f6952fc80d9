"""/grade: the admin's campaigns and each led branch's card; a submitted self-assessment.

The card shows what the branch may see of its surveys: how many answered, and a breakdown and
the comments only once the campaign is closed and from MIN_VISIBLE_ANSWERS answers on.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.commands import LEADERS
from bot.context import BotContext
from bot.enums import CampaignStatus
from bot.grading import scope, service
from bot.grading.satisfaction import MIN_VISIBLE_ANSWERS, SATISFACTION_VALUES, SatisfactionCounts
from bot.grading.scoring import Grade
from bot.grading.surveys import visible_comments, visible_counts
from handlers.common import Refused, answer, escape, keyboard, sender
from handlers.grading_buttons import (
    AskCodes,
    InviteMembers,
    NewCampaign,
    OpenQuestionnaire,
    Progress,
    RectificationList,
    ViewAnswers,
)
from handlers.grading_labels import (
    SATISFACTION_NAMES,
    answer_label,
    answerable,
    campaign_title,
    grade_name,
    score_text,
    shortened,
)
from storage import grading_queries as gq
from storage import queries
from storage.models_grading import GradingAssessment, GradingCampaign

# Survey comments on the branch card: how many, and how much of each, fit one message.
COMMENTS_SHOWN = 10
COMMENT_SHOWN = 200
# Campaigns listed in the admin's menu.
CAMPAIGNS_SHOWN = 10

Rows = list[list[tuple[str, str]]]


@sender(registered=True, roles=LEADERS)
async def grade_menu(update: Update, context: BotContext) -> None:
    """Show the admin's campaigns (for admins) and the card of each branch the sender leads."""
    screens: list[tuple[str, Rows | None]] = []
    async with context.db.begin() as session:
        if context.principal.admin_grants():
            screens.append(await _admin_menu(session, context))
        led = [g.org_id for g in context.principal.led_branches()]
        if led:
            screens.extend(await _branch_cards(session, context, led))
    for text, rows in screens:
        await answer(update, context, text, keyboard(rows) if rows else None)


async def _admin_menu(session: AsyncSession, context: BotContext) -> tuple[str, Rows]:
    """The campaigns of the admin's subtrees, and a button to start one."""
    _ = context._
    paths = [g.org_path for g in context.principal.admin_grants()]
    campaigns = await gq.campaigns_under(session, paths)
    lines = [_("<b>Classification and grading</b>")]
    rows: Rows = [[(_("Start a campaign"), NewCampaign().data)]]
    if not campaigns:
        lines.append(_("No campaign yet."))
    for campaign in campaigns[:CAMPAIGNS_SHOWN]:
        root = await queries.org_by_id(session, campaign.org_unit_id)
        status = (
            _("finalised")
            if campaign.status is CampaignStatus.FINALISED
            else _("open until {deadline}").format(deadline=context.tr.datetime(campaign.deadline))
        )
        lines.append(
            _("#{id} {title}, {root}: {status}").format(
                id=campaign.id,
                title=campaign_title(context, campaign),
                root=escape(root.display_name(context.tr.locale)) if root else "?",
                status=status,
            )
        )
        rows.append([(_("#{id}: progress").format(id=campaign.id), Progress(campaign.id).data)])
    return "\n".join(lines), rows


async def _branch_cards(
    session: AsyncSession, context: BotContext, led: list[int]
) -> list[tuple[str, Rows | None]]:
    rows = await gq.assessments_of_branches(session, led)
    if not rows:
        return [(context._("There is no grading campaign for your branch yet."), None)]
    cards: list[tuple[str, Rows | None]] = []
    seen: set[int] = set()
    for assessment, campaign in rows:
        # The newest campaign per branch.
        if assessment.branch_id in seen:
            continue
        seen.add(assessment.branch_id)
        cards.append(await _branch_card(session, context, assessment, campaign))
    return cards


async def _branch_card(
    session: AsyncSession,
    context: BotContext,
    assessment: GradingAssessment,
    campaign: GradingCampaign,
) -> tuple[str, Rows | None]:
    _ = context._
    branch = await queries.org_by_id(session, assessment.branch_id)
    closed = service.is_closed(campaign, context.settings.now())
    lines = [
        _("<b>{title}</b> — {branch}").format(
            title=campaign_title(context, campaign),
            branch=escape(branch.display_name(context.tr.locale)) if branch else "?",
        ),
        _("Deadline: {deadline}").format(deadline=context.tr.datetime(campaign.deadline)),
    ]
    buttons: Rows = []
    _self_assessment(context, campaign, assessment, closed, lines, buttons)
    await _surveys(session, context, campaign, assessment, closed, lines)
    if not closed:
        buttons.append([(_("Ask the members to answer"), InviteMembers(assessment.id).data)])
        buttons.append([(_("Codes for the masses"), AskCodes(assessment.id).data)])
    if campaign.status is CampaignStatus.FINALISED:
        lines.append(
            _("Final grade: <b>{grade}</b> ({score} points).").format(
                grade=grade_name(context, assessment.grade),
                score=score_text(assessment.final_score),
            )
        )
        if assessment.grade == Grade.WEAK:
            lines.append(_("Your branch has a rectification to carry out."))
            buttons.append([(_("Rectification"), RectificationList(assessment.id).data)])
    else:
        lines.append(_("The final grade is shown once the organisation department finalises it."))
    return "\n".join(lines), buttons or None


def _self_assessment(
    context: BotContext,
    campaign: GradingCampaign,
    assessment: GradingAssessment,
    closed: bool,
    lines: list[str],
    buttons: Rows,
) -> None:
    _ = context._
    questionnaire = service.questionnaire_for(campaign)
    if assessment.submitted_at is None:
        items = answerable(questionnaire)
        answered = sum(1 for i in items if i.id in assessment.answers)
        lines.append(
            _("Self-assessment: {answered}/{total} answered, not submitted yet.").format(
                answered=answered, total=len(items)
            )
        )
        if not closed:
            buttons.append([(_("Answer the questionnaire"), OpenQuestionnaire(assessment.id).data)])
        elif campaign.status is CampaignStatus.OPEN:
            lines.append(_("The deadline has passed; answers are no longer accepted."))
        return
    _earned, possible = service.self_points(questionnaire, assessment.answers)
    lines.append(
        _("Self-assessment submitted: {earned} of {possible} points.").format(
            earned=score_text(assessment.self_score), possible=score_text(possible)
        )
    )
    buttons.append([(_("View the answers"), ViewAnswers(assessment.id).data)])


async def _surveys(
    session: AsyncSession,
    context: BotContext,
    campaign: GradingCampaign,
    assessment: GradingAssessment,
    closed: bool,
    lines: list[str],
) -> None:
    _ = context._
    counts = await visible_counts(
        session, campaign_id=campaign.id, branch_id=assessment.branch_id, closed=closed
    )
    lines.append(_survey_line(context, _("Members"), counts.member_total, counts.members, closed))
    lines.append(_survey_line(context, _("Masses"), counts.mass_total, counts.masses, closed))
    notes = await visible_comments(
        session, campaign_id=campaign.id, branch_id=assessment.branch_id, counts=counts
    )
    if notes:
        lines.append(_("Comments from the surveys:"))
        lines.extend(
            f"• {escape(shortened(note, COMMENT_SHOWN))}" for note in notes[:COMMENTS_SHOWN]
        )
    issued, used = await gq.mass_code_counts(
        session, campaign_id=campaign.id, branch_id=assessment.branch_id
    )
    if issued:
        lines.append(
            _("Codes for the masses: {used} of {issued} used.").format(used=used, issued=issued)
        )


def _survey_line(
    context: BotContext, who: str, total: int, counts: SatisfactionCounts | None, closed: bool
) -> str:
    _ = context._
    if counts is not None:
        parts = [f"{_(SATISFACTION_NAMES[v])} {getattr(counts, v)}" for v in SATISFACTION_VALUES]
        return _("{who}: {total} answers — {counts}").format(
            who=who, total=total, counts=_(", ").join(parts)
        )
    if closed:
        return context.tr.ngettext(
            "{who}: {total} answer; fewer than {minimum} answers, so no breakdown is shown.",
            "{who}: {total} answers; fewer than {minimum} answers, so no breakdown is shown.",
            total,
        ).format(who=who, total=total, minimum=MIN_VISIBLE_ANSWERS)
    return context.tr.ngettext(
        "{who}: {total} answer; the breakdown is shown after the deadline, from "
        "{minimum} answers on.",
        "{who}: {total} answers; the breakdown is shown after the deadline, from "
        "{minimum} answers on.",
        total,
    ).format(who=who, total=total, minimum=MIN_VISIBLE_ANSWERS)


@sender(registered=True, roles=LEADERS)
async def view_answers(update: Update, context: BotContext) -> None:
    """gq:v: the read-only list of a submitted self-assessment of a branch the sender leads."""
    button = ViewAnswers.read(update)
    async with context.db.begin() as session:
        found = await scope.led_assessment(session, context.principal, button.assessment_id)
    if found is None:
        raise Refused()
    campaign, assessment = found
    questionnaire = service.questionnaire_for(campaign)
    locale = context.tr.locale
    lines = [campaign_title(context, campaign)]
    for number, item in enumerate(answerable(questionnaire), start=1):
        label = answer_label(context, item, assessment.answers.get(item.id))
        lines.append(f"{number}. {escape(item.text.for_locale(locale))}: <b>{label}</b>")
    await answer(update, context, "\n".join(lines))


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """/grade and the read-only view of a submitted self-assessment."""
    return [
        CommandHandler("grade", grade_menu),
        CallbackQueryHandler(view_answers, pattern=ViewAnswers.pattern),
    ]
