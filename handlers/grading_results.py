"""/grade for admins once a campaign runs: its progress, finalising, the report, rectification.

Every button names a campaign, checked against the admin's subtree on every press. Figures
computed from satisfaction answers appear only where bot.grading.satisfaction allows.
"""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.enums import CampaignStatus, RectificationStatus, Role
from bot.grading import scope, service
from bot.grading.announce import finalise_and_announce
from bot.grading.chart import grade_bars
from bot.grading.export import export_xlsx
from bot.grading.rectify import visible_check
from bot.grading.results import BranchResult, campaign_results, grade_distribution
from bot.grading.satisfaction import SATISFACTION_VALUES
from bot.grading.scoring import Grade
from bot.i18n import Translator
from bot.reminders.engine import tick_now
from handlers.busy import showing
from handlers.common import Refused, answer, edit_or_answer, escape, keyboard, sender
from handlers.grading_buttons import (
    AskFinalise,
    AskSuperior,
    Finalise,
    ImportSuperior,
    Progress,
    RectificationOverview,
    Report,
)
from handlers.grading_labels import (
    GRADE_NAMES,
    SATISFACTION_NAMES,
    campaign_title,
    export_labels,
    score_text,
)
from storage import grading_queries as gq
from storage.models_grading import GradingCampaign

ADMINS = frozenset({Role.ADMIN})
# Branch lines and buttons shown in one message; larger campaigns use the XLSX.
LIST_LIMIT = 30


async def _scoped_results(
    context: BotContext, campaign_id: int
) -> tuple[GradingCampaign, str, list[BranchResult]]:
    """The campaign (in the admin's subtree), its root's name and every branch's result."""
    async with context.db.begin() as session:
        scoped = await scope.admin_campaign(session, context.principal, campaign_id)
        if scoped is None:
            raise Refused()
        campaign, root = scoped
        results = await campaign_results(session, campaign)
    return campaign, root.display_name(context.tr.locale), results


# ---- progress ------------------------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def progress(update: Update, context: BotContext) -> None:
    """ga:p: per branch, the self-assessment, surveys and superior's score."""
    _ = context._
    campaign, root, results = await _scoped_results(context, Progress.read(update).campaign_id)
    submitted = sum(1 for r in results if r.assessment.submitted_at is not None)
    superior = sum(1 for r in results if r.assessment.superior is not None)
    lines = [
        f"<b>{campaign_title(context, campaign)}</b> — {escape(root)}",
        _(
            "Self-assessments submitted: {done}/{total}; superior's scores: {scored}/{total}."
        ).format(done=submitted, scored=superior, total=len(results)),
    ]
    rows: list[list[tuple[str, str]]] = []
    is_open = campaign.status is CampaignStatus.OPEN
    for row in results[:LIST_LIMIT]:
        lines.append(_branch_line(context, row))
        if is_open:
            label = _("{code}: superior's score").format(code=row.branch.code)[:60]
            rows.append([(label, AskSuperior(row.assessment.id).data)])
    if len(results) > LIST_LIMIT:
        lines.append(_("… and {count} more in the report.").format(count=len(results) - LIST_LIMIT))
    if is_open:
        rows.append([(_("Import superior's scores (XLSX)"), ImportSuperior(campaign.id).data)])
        rows.append([(_("Finalise the grades"), AskFinalise(campaign.id).data)])
    else:
        rows.append([(_("Rectification"), RectificationOverview(campaign.id).data)])
    rows.append([(_("Report"), Report(campaign.id).data)])
    await answer(update, context, "\n".join(lines), keyboard(rows))


def _branch_line(context: BotContext, row: BranchResult) -> str:
    _ = context._
    result = row.result
    part = result.participation
    self_part = (
        _("self ✓ {score}").format(score=score_text(row.assessment.self_score))
        if row.assessment.submitted_at is not None
        else _("self —")
    )
    sup = score_text(result.superior_total)
    members = f"{part.member_responses}/{part.members_required}" if part else "—"
    masses = f"{part.mass_responses}/{part.masses_required}" if part else "—"
    return _("{code}: {self}; superior {superior}; members {members}; masses {masses}").format(
        code=escape(row.branch.code), self=self_part, superior=sup, members=members, masses=masses
    )


# ---- finalising ----------------------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def finalise_asked(update: Update, context: BotContext) -> None:
    """ga:f: say what is missing and ask to confirm."""
    _ = context._
    campaign, _root, results = await _scoped_results(context, AskFinalise.read(update).campaign_id)
    no_self = sum(1 for r in results if r.assessment.submitted_at is None)
    no_superior = sum(1 for r in results if r.assessment.superior is None)
    text = context.tr.ngettext(
        "Finalise the grade of {total} branch? Without a self-assessment: {no_self}; "
        "without a superior's score: {no_superior} (missing parts are left out and the rest "
        "is reweighted). Secretaries will see their final grade.",
        "Finalise the grades of {total} branches? Without a self-assessment: {no_self}; "
        "without a superior's score: {no_superior} (missing parts are left out and the rest "
        "is reweighted). Secretaries will see their final grade.",
        len(results),
    ).format(total=len(results), no_self=no_self, no_superior=no_superior)
    if context.settings.now() < campaign.deadline:
        # Finalising early closes the questionnaire for branches still answering: name them.
        answering = [
            escape(r.branch.display_name(context.tr.locale))
            for r in results
            if r.assessment.submitted_at is None
        ]
        text += "\n\n" + _("This is before the deadline, {deadline}.").format(
            deadline=context.tr.datetime(campaign.deadline, "short")
        )
        if answering:
            text += " " + _("Still answering: {branches}.").format(
                branches=_(", ").join(answering[:LIST_LIMIT])
                + ("…" if len(answering) > LIST_LIMIT else "")
            )
    await edit_or_answer(
        update, context, text, keyboard([[(_("Finalise"), Finalise(campaign.id).data)]])
    )


@sender(registered=True, roles=ADMINS)
async def finalise_confirmed(update: Update, context: BotContext) -> None:
    """ga:fy: fix the grades; each secretary is told theirs by the reminder engine.

    Two admins pressing at the same moment finalise once: the second is told it is done.
    """
    campaign_id = Finalise.read(update).campaign_id
    async with context.db.begin() as session:
        scoped = await scope.admin_campaign(session, context.principal, campaign_id)
        if scoped is None:
            raise Refused()
        campaign = scoped[0]
        try:
            results = await finalise_and_announce(
                session, campaign=campaign, actor=context.account, now=context.settings.now()
            )
        except service.CampaignError:
            raise Refused(context._("This campaign is already finalised.")) from None
    distribution = grade_distribution(results, service.config_from_json(campaign.config))
    await edit_or_answer(
        update,
        context,
        context._("Finalised. Grades: {distribution}.").format(
            distribution=_distribution_text(context.tr, distribution)
        ),
    )
    tick_now(context.job_queue)


def _distribution_text(tr: Translator, distribution: dict[str, int]) -> str:
    ungraded = tr._("not graded")
    parts = [
        f"{tr._(GRADE_NAMES[grade]) if grade in GRADE_NAMES else ungraded} {count}"
        for grade, count in distribution.items()
    ]
    return tr._(", ").join(parts)


# ---- report --------------------------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def report_pressed(update: Update, context: BotContext) -> None:
    """ga:r: the grading report."""
    await _report(update, context, Report.read(update).campaign_id)


@sender(registered=True, roles=ADMINS)
async def report_command(update: Update, context: BotContext) -> None:
    """/report grading: the report of the newest campaign in the admin's subtrees."""
    paths = [g.org_path for g in context.principal.admin_grants()]
    async with context.db.begin() as session:
        campaigns = await gq.campaigns_under(session, paths)
    if not campaigns:
        await answer(update, context, context._("No campaign yet."))
        return
    await _report(update, context, campaigns[0].id)


async def _report(update: Update, context: BotContext, campaign_id: int) -> None:
    _ = context._
    async with context.db.begin() as session:
        scoped = await scope.admin_campaign(session, context.principal, campaign_id)
        if scoped is None:
            raise Refused()
        campaign, root = scoped
        results = await campaign_results(session, campaign)
        codes = await gq.mass_code_totals(session, campaign.id)
    config = service.config_from_json(campaign.config)
    distribution = grade_distribution(results, config)
    lines = [
        _("<b>Grading report</b>: {title}, {root}").format(
            title=campaign_title(context, campaign),
            root=escape(root.display_name(context.tr.locale)),
        ),
        *_participation_lines(context, results),
        _("Codes for the masses: {issued} issued, {used} used.").format(
            issued=sum(i for i, _u in codes.values()), used=sum(u for _i, u in codes.values())
        ),
    ]
    heading = (
        _("Grades")
        if campaign.status is CampaignStatus.FINALISED
        else _("Provisional grades (not finalised)")
    )
    lines.append(
        _("{label}: {value}").format(
            label=heading, value=_distribution_text(context.tr, distribution)
        )
    )
    await answer(update, context, "\n".join(lines))
    chat = update.effective_chat
    if chat is None:
        return
    ungraded = _("not graded")
    bars = [
        (_(GRADE_NAMES[grade]) if grade in GRADE_NAMES else ungraded, n)
        for grade, n in distribution.items()
    ]
    title = _("Grades of {count} branches").format(count=len(results))
    async with showing(context.bot, chat.id, ChatAction.UPLOAD_PHOTO):
        # Drawn and written off the event loop: other users' replies do not wait.
        png = await asyncio.to_thread(grade_bars, title, bars)
        await context.bot.send_photo(
            chat.id,
            photo=png,
            caption=_("Distribution of grades, {count} branches: {distribution}").format(
                count=len(results), distribution=_distribution_text(context.tr, distribution)
            ),
        )
    async with showing(context.bot, chat.id):
        data = await asyncio.to_thread(
            export_xlsx,
            service.questionnaire_for(campaign),
            results,
            export_labels(context.tr),
            closed=service.is_closed(campaign, context.settings.now()),
            codes=codes,
        )
    await context.bot.send_document(
        chat.id,
        document=data,
        filename=f"grading-{campaign.id}.xlsx",
        caption=_("One row per branch: scores per indicator, components and grade."),
    )


def _participation_lines(context: BotContext, results: list[BranchResult]) -> list[str]:
    _ = context._
    parts = [r.result.participation for r in results if r.result.participation is not None]
    lines = [
        _(
            "Participation: members' target met in {members} of {total} branches, "
            "masses' target in {masses}."
        ).format(
            members=sum(1 for p in parts if p.members_met),
            masses=sum(1 for p in parts if p.masses_met),
            total=len(results),
        )
    ]
    behind = [
        (row.branch.code, p)
        for row in results
        if (p := row.result.participation) is not None and not (p.members_met and p.masses_met)
    ]
    for code, p in behind[:LIST_LIMIT]:
        lines.append(
            _(
                "{code}: members {members}/{members_required}, masses {masses}/{masses_required}"
            ).format(
                code=escape(code),
                members=p.member_responses,
                members_required=p.members_required,
                masses=p.mass_responses,
                masses_required=p.masses_required,
            )
        )
    if len(behind) > LIST_LIMIT:
        lines.append(_("… and {count} more in the XLSX.").format(count=len(behind) - LIST_LIMIT))
    return lines


# ---- rectification overview ----------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def rectification_overview(update: Update, context: BotContext) -> None:
    """ga:rc: every weak branch's rectification items and their progress."""
    _ = context._
    now = context.settings.now()
    campaign_id = RectificationOverview.read(update).campaign_id
    async with context.db.begin() as session:
        scoped = await scope.admin_campaign(session, context.principal, campaign_id)
        if scoped is None:
            raise Refused()
        weak = [
            branch
            for assessment, branch in await gq.campaign_assessments(session, campaign_id)
            if assessment.grade == Grade.WEAK
        ]
        items = await gq.rectification_items(session, campaign_id=campaign_id)
        checks = {i.id: await visible_check(session, i, now) for i in items}
    if not weak:
        await answer(update, context, _("No branch was graded weak."))
        return
    lines = [_("<b>Rectification</b>")]
    for branch in weak:
        own = [i for i in items if i.branch_id == branch.id]
        done = sum(1 for i in own if i.status is RectificationStatus.DONE)
        lines.append(
            context.tr.ngettext(
                "{branch}: {done} of {total} item done",
                "{branch}: {done} of {total} items done",
                len(own),
            ).format(
                branch=escape(branch.display_name(context.tr.locale)), done=done, total=len(own)
            )
        )
        for item in own:
            state = _("done") if item.status is RectificationStatus.DONE else _("open")
            votes, counts = checks[item.id]
            lines.append(
                context.tr.ngettext(
                    "• {problem} — due {due}, {responsible}: {state}; {votes} member check",
                    "• {problem} — due {due}, {responsible}: {state}; {votes} member checks",
                    votes,
                ).format(
                    problem=escape(item.problem),
                    due=context.tr.date(item.due_on, "short"),
                    responsible=escape(item.responsible),
                    state=state,
                    votes=votes,
                )
            )
            if counts is not None:
                parts = _(", ").join(
                    f"{_(SATISFACTION_NAMES[v])} {getattr(counts, v)}" for v in SATISFACTION_VALUES
                )
                lines.append(_("   Members' check: {counts}").format(counts=parts))
    await answer(update, context, "\n".join(lines))


def handlers() -> list[CallbackQueryHandler[BotContext, None]]:
    """The admin's buttons on a running or finished campaign."""
    return [
        CallbackQueryHandler(progress, pattern=Progress.pattern),
        CallbackQueryHandler(finalise_asked, pattern=AskFinalise.pattern),
        CallbackQueryHandler(finalise_confirmed, pattern=Finalise.pattern),
        CallbackQueryHandler(report_pressed, pattern=Report.pattern),
        CallbackQueryHandler(rectification_overview, pattern=RectificationOverview.pattern),
    ]


def report_handler() -> MessageHandler[BotContext, None]:
    """`/report grading` (other /report subjects are left to handlers.reports)."""
    return MessageHandler(filters.Regex(r"^/report(@\w+)?\s+grading\s*$"), report_command)
