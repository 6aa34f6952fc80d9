"""/grade for admins: start a campaign, follow it, enter the superior's scores, finalise, report.

Starting a campaign is a chain of buttons that carry every choice in their data, so it needs
no draft; entering a score or uploading an XLSX is a small persistent conversation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.enums import CampaignStatus, Role
from bot.grading import service
from bot.grading.announce import GRADED, OPENED, announcement_rows
from bot.grading.chart import grade_bars
from bot.grading.questionnaire import Questionnaire, shipped
from bot.grading.scoring import Grade, GradingConfig
from bot.i18n import Translator
from bot.reminders.engine import tick_now
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    answer,
    edit_or_answer,
    escape,
    keyboard,
    refuse,
    sender,
)
from handlers.flow import Flow
from handlers.grading_labels import (
    GRADE_NAMES,
    IDLE_TIMEOUT,
    SATISFACTION_NAMES,
    campaign_title,
    score_text,
)
from storage import grading_queries as gq
from storage import queries
from storage import reminder_queries as rq
from storage.models import Account, OrgUnit
from storage.models_grading import GradingCampaign

ADMINS = frozenset({Role.ADMIN})
FLOW = Flow("grading_superior")
TOTAL, XLSX = "total", "xlsx"
DEADLINE_DAYS = (14, 30, 60)
# Branch lines and buttons shown in one message; larger campaigns use the XLSX.
LIST_LIMIT = 30
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def admin_menu(update: Update, context: BotContext) -> None:
    """The campaigns of the admin's subtrees, and a button to start one."""
    _ = context._
    paths = [g.org_path for g in context.principal.admin_grants()]
    async with context.db() as session:
        campaigns = await gq.campaigns_under(session, paths)
        roots = {c.id: await queries.org_by_id(session, c.org_unit_id) for c in campaigns}
    lines = [_("<b>Classification and grading</b>")]
    rows: list[list[tuple[str, str]]] = [[(_("Start a campaign"), "ga:n")]]
    if not campaigns:
        lines.append(_("No campaign yet."))
    for campaign in campaigns[:10]:
        root = roots[campaign.id]
        status = (
            _("finalised")
            if campaign.status is CampaignStatus.FINALISED
            else _("open until {deadline}").format(
                deadline=context.tr.datetime(campaign.deadline, "short")
            )
        )
        lines.append(
            _("#{id} {title}, {root}: {status}").format(
                id=campaign.id,
                title=campaign_title(context, campaign),
                root=escape(root.display_name(context.tr.locale)) if root else "?",
                status=status,
            )
        )
        rows.append([(_("#{id}: progress").format(id=campaign.id), f"ga:p:{campaign.id}")])
    await answer(update, context, "\n".join(lines), keyboard(rows))


async def _campaign_in_scope(
    session: AsyncSession, context: BotContext, campaign_id: int
) -> tuple[GradingCampaign, OrgUnit] | None:
    campaign = await gq.campaign_by_id(session, campaign_id)
    if campaign is None:
        return None
    root = await queries.org_by_id(session, campaign.org_unit_id)
    if root is None or not context.principal.is_admin_of(root.path):
        return None
    return campaign, root


def _data(update: Update) -> list[str]:
    assert update.callback_query is not None and update.callback_query.data is not None
    return update.callback_query.data.split(":")


# ---- starting a campaign -------------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def new_campaign(update: Update, context: BotContext) -> None:
    """Choose the subtree (skipped when the admin has one)."""
    grants = context.principal.admin_grants()
    if len(grants) == 1:
        await _ask_deadline(update, context, grants[0].org_id)
        return
    rows = [[(g.org_code, f"ga:d:{g.org_id}")] for g in grants]
    await edit_or_answer(update, context, context._("Grade the branches under:"), keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def node_chosen(update: Update, context: BotContext) -> None:
    """ga:d:<org>: ask for the deadline."""
    await _ask_deadline(update, context, int(_data(update)[2]))


async def _ask_deadline(update: Update, context: BotContext, org_id: int) -> None:
    async with context.db() as session:
        org = await queries.org_by_id(session, org_id)
    if org is None or not context.principal.is_admin_of(org.path):
        await refuse(update, context)
        return
    rows = [
        [
            (context._("{days} days").format(days=days), f"ga:c:{org_id}:{days}")
            for days in DEADLINE_DAYS
        ]
    ]
    await edit_or_answer(
        update,
        context,
        context._("Grading of the branches under {org}. How long do secretaries have?").format(
            org=escape(org.display_name(context.tr.locale))
        ),
        keyboard(rows),
    )


@sender(registered=True, roles=ADMINS)
async def deadline_chosen(update: Update, context: BotContext) -> None:
    """ga:c:<org>:<days>: ask about the satisfaction rule."""
    _prefix, _c, org_id, days = _data(update)
    if int(days) not in DEADLINE_DAYS:
        await refuse(update, context)
        return
    rows = [
        [(context._("Yes, apply the rule"), f"ga:y:{org_id}:{days}:1")],
        [(context._("No"), f"ga:y:{org_id}:{days}:0")],
    ]
    await edit_or_answer(
        update,
        context,
        context._(
            "Should a mass satisfaction rate under 90 % bar the grades good and fairly good?"
        ),
        keyboard(rows),
    )


# Choices offered in the bot (the CLI takes any value): (self, superior) weights and the
# lowest scores of good, fairly good and ordinary. The first of each is the default.
WEIGHT_CHOICES = ((40, 60), (30, 70), (50, 50))
BAND_CHOICES = ((90, 80, 60), (85, 75, 60), (95, 85, 70))


@dataclass(frozen=True, slots=True)
class Choices:
    """What the admin chose so far, carried in the buttons' data (no draft needed)."""

    org_id: int
    days: int
    floor: bool
    weights: int = 0
    bands: int = 0
    # Index into the registry of shipped questionnaires (0: the default); None: not asked yet.
    questionnaire: int | None = None

    @classmethod
    def parse(cls, parts: list[str]) -> Choices | None:
        """From `<org>:<days>:<0|1>[:<weights>:<bands>[:<questionnaire>]]`; None when invalid."""
        if len(parts) not in (3, 5, 6):
            return None
        try:
            org_id, days, floor = int(parts[0]), int(parts[1]), parts[2]
            weights, bands = (int(parts[3]), int(parts[4])) if len(parts) >= 5 else (0, 0)
            # Buttons from before questionnaires could be chosen (five parts) meant the default.
            questionnaire = int(parts[5]) if len(parts) == 6 else (0 if len(parts) == 5 else None)
        except ValueError:
            return None
        if (
            days not in DEADLINE_DAYS
            or floor not in ("0", "1")
            or not 0 <= weights < len(WEIGHT_CHOICES)
            or not 0 <= bands < len(BAND_CHOICES)
            or (
                questionnaire is not None and not 0 <= questionnaire < len(shipped().questionnaires)
            )
        ):
            return None
        return cls(org_id, days, floor == "1", weights, bands, questionnaire)

    def data(
        self,
        verb: str,
        *,
        weights: int | None = None,
        bands: int | None = None,
        questionnaire: int | None = None,
    ) -> str:
        """Callback data for a button that keeps these choices (with one changed)."""
        w = self.weights if weights is None else weights
        b = self.bands if bands is None else bands
        q = (self.questionnaire or 0) if questionnaire is None else questionnaire
        return f"ga:{verb}:{self.org_id}:{self.days}:{int(self.floor)}:{w}:{b}:{q}"

    def chosen_questionnaire(self) -> Questionnaire:
        """The questionnaire the campaign will use."""
        return shipped().questionnaires[self.questionnaire or 0]

    def config(self) -> GradingConfig:
        """The campaign's configuration."""
        self_weight, superior_weight = WEIGHT_CHOICES[self.weights]
        return service.make_config(
            self_weight=self_weight / 100,
            superior_weight=superior_weight / 100,
            bands=BAND_CHOICES[self.bands],
            satisfaction_floor=0.9 if self.floor else None,
        )


def _summary(context: BotContext, choices: Choices, deadline: dt.datetime) -> str:
    config = choices.config()
    _ = context._
    bands = ", ".join(
        f"{_(GRADE_NAMES[b.grade])} ≥ {score_text(b.min_score)}" for b in config.bands[:-1]
    )
    rule = _("yes") if choices.floor else _("no")
    return "\n".join(
        [
            _("Questionnaire: {title}").format(
                title=_questionnaire_label(context, choices.chosen_questionnaire())
            ),
            _("Deadline: {deadline}").format(deadline=context.tr.datetime(deadline, "short")),
            _("Weights: self-assessment {self} %, superior's assessment {superior} %.").format(
                self=round(config.self_weight * 100), superior=round(config.superior_weight * 100)
            ),
            _(
                "Mass evaluation from member and mass satisfaction, {members} % / {masses} %."
            ).format(
                members=round(config.member_weight * 100), masses=round(config.mass_weight * 100)
            ),
            _("Grades: {bands}.").format(bands=bands),
            _("Participation targets: members {members} %, masses {masses} % of members.").format(
                members=round(config.member_target * 100),
                masses=round(config.mass_target_ratio * 100),
            ),
            _("Satisfaction under 90 % bars the top two grades: {rule}.").format(rule=rule),
        ]
    )


def _questionnaire_label(context: BotContext, questionnaire: Questionnaire) -> str:
    """Its title in the reader's language, and its version."""
    title = escape(questionnaire.title.for_locale(context.tr.locale))
    return f"{title} ({escape(questionnaire.version)})"


def _deadline(context: BotContext, days: int) -> dt.datetime:
    settings = context.settings
    local_day = settings.now().astimezone(settings.tz).date() + dt.timedelta(days=days)
    end = dt.datetime.combine(local_day, dt.time(23, 59), tzinfo=settings.tz)
    return end.astimezone(dt.UTC)


@sender(registered=True, roles=ADMINS)
async def rule_chosen(update: Update, context: BotContext) -> None:
    """ga:y:<org>:<days>:<0|1>[:<weights>:<bands>[:<questionnaire>]]: the summary.

    Right after the rule, the questionnaire is asked for when more than one is shipped.
    """
    choices = Choices.parse(_data(update)[2:])
    if choices is None:
        await refuse(update, context)
        return
    _ = context._
    registry = shipped()
    if choices.questionnaire is None and len(registry.questionnaires) > 1:
        rows = [
            [(_questionnaire_label(context, q), choices.data("y", questionnaire=i))]
            for i, q in enumerate(registry.questionnaires)
        ]
        await edit_or_answer(
            update, context, _("Which questionnaire should the branches answer?"), keyboard(rows)
        )
        return
    text = (
        _("Start this campaign?")
        + "\n\n"
        + _summary(context, choices, _deadline(context, choices.days))
        + "\n\n"
        + _("Other weights or grade limits can be chosen below.")
    )
    rows = [
        [(_("Start"), choices.data("go"))],
        [
            (f"{'✓ ' if i == choices.weights else ''}{s}/{p}", choices.data("y", weights=i))
            for i, (s, p) in enumerate(WEIGHT_CHOICES)
        ],
        [
            (
                f"{'✓ ' if i == choices.bands else ''}{'/'.join(map(str, b))}",
                choices.data("y", bands=i),
            )
            for i, b in enumerate(BAND_CHOICES)
        ],
    ]
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def start_pressed(update: Update, context: BotContext) -> None:
    """ga:go:<org>:<days>:<0|1>:<weights>:<bands>: start and notify the secretaries."""
    choices = Choices.parse(_data(update)[2:])
    if choices is None:
        await refuse(update, context)
        return
    now = context.settings.now()
    async with context.db.begin() as session:
        org = await queries.org_by_id(session, choices.org_id)
        if org is None or not context.principal.is_admin_of(org.path):
            await refuse(update, context)
            return
        account = await session.get(Account, context.account.id) if context.account else None
        try:
            campaign, branches = await service.start_campaign(
                session,
                root=org,
                deadline=_deadline(context, choices.days),
                config=choices.config(),
                now=now,
                actor=account,
                questionnaire=choices.chosen_questionnaire(),
            )
        except service.CampaignError:
            await refuse(update, context, context._("There are no branches to grade there."))
            return
        leaders = await gq.leader_accounts(session, [b.id for b in branches])
        await rq.insert_reminders(
            session, announcement_rows(campaign, leaders, event=OPENED, now=now)
        )
    await edit_or_answer(
        update,
        context,
        context._(
            "Campaign #{id} started for {count} branch(es). Secretaries are notified."
        ).format(id=campaign.id, count=len(branches)),
    )
    tick_now(context.job_queue)


# ---- progress ------------------------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def progress(update: Update, context: BotContext) -> None:
    """ga:p:<campaign>: per branch, the self-assessment, surveys and superior's score."""
    _ = context._
    campaign_id = int(_data(update)[2])
    async with context.db() as session:
        scoped = await _campaign_in_scope(session, context, campaign_id)
        if scoped is None:
            await refuse(update, context)
            return
        campaign, root = scoped
        results = await service.campaign_results(session, campaign)
    submitted = sum(1 for r in results if r.assessment.submitted_at is not None)
    superior = sum(1 for r in results if r.assessment.superior is not None)
    lines = [
        f"<b>{campaign_title(context, campaign)}</b> — "
        f"{escape(root.display_name(context.tr.locale))}",
        _(
            "Self-assessments submitted: {done}/{total}; superior's scores: {scored}/{total}."
        ).format(done=submitted, scored=superior, total=len(results)),
    ]
    rows: list[list[tuple[str, str]]] = []
    for row in results[:LIST_LIMIT]:
        lines.append(_branch_line(context, row))
        if campaign.status is CampaignStatus.OPEN:
            rows.append(
                [
                    (
                        _("{code}: superior's score").format(code=row.branch.code)[:60],
                        f"ga:s:{row.assessment.id}",
                    )
                ]
            )
    if len(results) > LIST_LIMIT:
        lines.append(_("… and {count} more in the report.").format(count=len(results) - LIST_LIMIT))
    if campaign.status is CampaignStatus.OPEN:
        rows.append([(_("Import superior's scores (XLSX)"), f"ga:x:{campaign.id}")])
        rows.append([(_("Finalise the grades"), f"ga:f:{campaign.id}")])
    else:
        rows.append([(_("Rectification"), f"ga:rc:{campaign.id}")])
    rows.append([(_("Report"), f"ga:r:{campaign.id}")])
    await answer(update, context, "\n".join(lines), keyboard(rows))


def _branch_line(context: BotContext, row: service.BranchResult) -> str:
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


# ---- the superior's assessment -------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def ask_superior(update: Update, context: BotContext) -> str | int | None:
    """ga:s:<assessment>: ask for the superior's total score of one branch."""
    assessment_id = int(_data(update)[2])
    async with context.db.begin() as session:
        assessment = await gq.assessment_by_id(session, assessment_id)
        scoped = (
            await _campaign_in_scope(session, context, assessment.campaign_id)
            if assessment
            else None
        )
        if assessment is None or scoped is None:
            await refuse(update, context)
            return ConversationHandler.END
        branch = await queries.org_by_id(session, assessment.branch_id)
        assert branch is not None
        questionnaire = service.questionnaire_for(scoped[0])
        await FLOW.save(session, update, state=TOTAL, data={"aid": assessment_id})
    await answer(update, context, _superior_prompt(context, branch, questionnaire))
    return TOTAL


def _superior_prompt(context: BotContext, branch: OrgUnit, questionnaire: Questionnaire) -> str:
    locale = context.tr.locale
    indicators = ", ".join(
        f"{escape(i.name.for_locale(locale))} ({score_text(i.points)})"
        for i in service.item_indicators(questionnaire)
    )
    return context._(
        "Superior's assessment of {branch}: type the total score from 0 to 100, or the points "
        "of each indicator in this order, separated by spaces: {indicators}."
    ).format(branch=escape(branch.display_name(locale)), indicators=indicators)


@sender(registered=True, roles=ADMINS)
async def superior_typed(update: Update, context: BotContext) -> str | int | None:
    """Store the typed total, or points per indicator."""
    text = (update.effective_message.text or "") if update.effective_message else ""
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return draft.state
        assessment = await gq.assessment_by_id(session, int(draft.data.get("aid", 0)))
        scoped = (
            await _campaign_in_scope(session, context, assessment.campaign_id)
            if assessment
            else None
        )
        if assessment is None or scoped is None:
            await FLOW.end(session, update)
            await refuse(update, context)
            return ConversationHandler.END
        questionnaire = service.questionnaire_for(scoped[0])
        value = service.parse_superior(questionnaire, text)
        if value is None:
            count = len(service.item_indicators(questionnaire))
            await answer(
                update,
                context,
                context._(
                    "Please type one total from 0 to 100, or {count} indicator points, each "
                    "within its maximum."
                ).format(count=count),
            )
            return None
        account = await session.get(Account, context.account.id) if context.account else None
        problem = await service.set_superior(
            session, campaign=scoped[0], assessment=assessment, value=value, actor=account
        )
        await FLOW.end(session, update)
        branch = await queries.org_by_id(session, assessment.branch_id)
    if problem is not None:
        await answer(update, context, context._("The campaign is finalised; nothing was changed."))
        return ConversationHandler.END
    await answer(
        update,
        context,
        context._("Saved: superior's score {score} for {branch}.").format(
            score=score_text(round(service.superior_points(questionnaire, value), 1)),
            branch=escape(branch.display_name(context.tr.locale)) if branch else "?",
        ),
    )
    return ConversationHandler.END


@sender(registered=True, roles=ADMINS)
async def ask_xlsx(update: Update, context: BotContext) -> str | int | None:
    """ga:x:<campaign>: ask for the XLSX of superior's scores."""
    campaign_id = int(_data(update)[2])
    async with context.db.begin() as session:
        scoped = await _campaign_in_scope(session, context, campaign_id)
        if scoped is None:
            await refuse(update, context)
            return ConversationHandler.END
        questionnaire = service.questionnaire_for(scoped[0])
        await FLOW.save(session, update, state=XLSX, data={"cid": campaign_id})
    await answer(
        update,
        context,
        context._(
            "Send an XLSX file with a column <code>code</code> (the branch code) and either a "
            "column <code>total</code> (0–100) or one column per indicator: {indicators}."
        ).format(indicators=", ".join(i.id for i in questionnaire.indicators)),
    )
    return XLSX


@sender(registered=True, roles=ADMINS)
async def xlsx_received(update: Update, context: BotContext) -> str | int | None:
    """Import the superior's scores from the uploaded XLSX, all rows or none."""
    message = update.effective_message
    document = message.document if message else None
    if document is None:
        return None
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return draft.state
        scoped = await _campaign_in_scope(session, context, int(draft.data.get("cid", 0)))
        if scoped is None:
            await FLOW.end(session, update)
            await refuse(update, context)
            return ConversationHandler.END
        campaign, _root = scoped
        questionnaire = service.questionnaire_for(campaign)
        scores, problems = service.read_superior_xlsx(questionnaire, data)
        by_code = {b.code: a for a, b in await gq.campaign_assessments(session, campaign.id)}
        problems += [
            context._("{code}: not a branch of this campaign").format(code=escape(code))
            for code in scores
            if code not in by_code
        ]
        if problems or not scores:
            await answer(
                update,
                context,
                context._("Nothing was imported:") + "\n" + "\n".join(escape(p) for p in problems),
            )
            return XLSX
        account = await session.get(Account, context.account.id) if context.account else None
        for code, value in scores.items():
            await service.set_superior(
                session, campaign=campaign, assessment=by_code[code], value=value, actor=account
            )
        await FLOW.end(session, update)
    await answer(
        update,
        context,
        context._("Imported the superior's scores of {count} branch(es).").format(
            count=len(scores)
        ),
    )
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(update, context, context._("Please send what I asked for, or /cancel."))


def build() -> ConversationHandler[BotContext]:
    """The superior's score conversation (entered from the progress screen)."""
    return ConversationHandler(
        entry_points=[
            CallbackQueryHandler(ask_superior, pattern=r"^ga:s:\d{1,12}$"),
            CallbackQueryHandler(ask_xlsx, pattern=r"^ga:x:\d{1,12}$"),
        ],
        states={
            TOTAL: [MessageHandler(filters.TEXT & ~filters.COMMAND, superior_typed)],
            XLSX: [MessageHandler(filters.Document.ALL, xlsx_received)],
        },
        # Stale buttons of these flows are answered by the global stale-button handler.
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix=None),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
        conversation_timeout=IDLE_TIMEOUT,
    )


# ---- finalising ----------------------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def finalise_asked(update: Update, context: BotContext) -> None:
    """ga:f:<campaign>: say what is missing and ask to confirm."""
    _ = context._
    campaign_id = int(_data(update)[2])
    async with context.db() as session:
        scoped = await _campaign_in_scope(session, context, campaign_id)
        if scoped is None:
            await refuse(update, context)
            return
        results = await service.campaign_results(session, scoped[0])
    no_self = sum(1 for r in results if r.assessment.submitted_at is None)
    no_superior = sum(1 for r in results if r.assessment.superior is None)
    text = _(
        "Finalise the grades of {total} branch(es)? Without a self-assessment: {no_self}; "
        "without a superior's score: {no_superior} (missing parts are left out and the rest "
        "is reweighted). Secretaries will see their final grade."
    ).format(total=len(results), no_self=no_self, no_superior=no_superior)
    await edit_or_answer(
        update, context, text, keyboard([[(_("Finalise"), f"ga:fy:{campaign_id}")]])
    )


@sender(registered=True, roles=ADMINS)
async def finalise_confirmed(update: Update, context: BotContext) -> None:
    """ga:fy:<campaign>: fix the grades and tell each secretary theirs."""
    campaign_id = int(_data(update)[2])
    now = context.settings.now()
    async with context.db.begin() as session:
        scoped = await _campaign_in_scope(session, context, campaign_id)
        if scoped is None:
            await refuse(update, context)
            return
        campaign = scoped[0]
        account = await session.get(Account, context.account.id) if context.account else None
        try:
            results = await service.finalise(session, campaign=campaign, actor=account, now=now)
        except service.CampaignError:
            await refuse(update, context, context._("This campaign is already finalised."))
            return
        leaders = await gq.leader_accounts(session, [r.branch.id for r in results])
        grades = {r.branch.id: r.result.grade for r in results}
        await rq.insert_reminders(
            session,
            announcement_rows(campaign, leaders, event=GRADED, now=now, grades=grades),
        )
    config = service.config_from_json(campaign.config)
    distribution = service.grade_distribution(results, config)
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
        f"{_grade(tr, grade) if grade else ungraded} {count}"
        for grade, count in distribution.items()
    ]
    return ", ".join(parts)


def _grade(tr: Translator, grade: str | None) -> str:
    return tr._(GRADE_NAMES[grade]) if grade in GRADE_NAMES else "—"


# ---- report --------------------------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def report_pressed(update: Update, context: BotContext) -> None:
    """ga:r:<campaign>: the grading report."""
    await _report(update, context, int(_data(update)[2]))


@sender(registered=True, roles=ADMINS)
async def report_command(update: Update, context: BotContext) -> None:
    """/report grading: the report of the newest campaign in the admin's subtrees."""
    paths = [g.org_path for g in context.principal.admin_grants()]
    async with context.db() as session:
        campaigns = await gq.campaigns_under(session, paths)
    if not campaigns:
        await answer(update, context, context._("No campaign yet."))
        return
    await _report(update, context, campaigns[0].id)


async def _report(update: Update, context: BotContext, campaign_id: int) -> None:
    _ = context._
    async with context.db() as session:
        scoped = await _campaign_in_scope(session, context, campaign_id)
        if scoped is None:
            await refuse(update, context)
            return
        campaign, root = scoped
        results = await service.campaign_results(session, campaign)
    config = service.config_from_json(campaign.config)
    parts = [r.result.participation for r in results if r.result.participation is not None]
    members_met = sum(1 for p in parts if p.members_met)
    masses_met = sum(1 for p in parts if p.masses_met)
    lines = [
        _("<b>Grading report</b>: {title}, {root}").format(
            title=campaign_title(context, campaign),
            root=escape(root.display_name(context.tr.locale)),
        ),
        _(
            "Participation: members' target met in {members} of {total} branches, "
            "masses' target in {masses}."
        ).format(members=members_met, masses=masses_met, total=len(results)),
    ]
    behind = [
        r
        for r in results
        if r.result.participation is not None
        and not (r.result.participation.members_met and r.result.participation.masses_met)
    ]
    for row in behind[:LIST_LIMIT]:
        p = row.result.participation
        assert p is not None
        lines.append(
            _(
                "{code}: members {members}/{members_required}, masses {masses}/{masses_required}"
            ).format(
                code=escape(row.branch.code),
                members=p.member_responses,
                members_required=p.members_required,
                masses=p.mass_responses,
                masses_required=p.masses_required,
            )
        )
    if len(behind) > LIST_LIMIT:
        lines.append(_("… and {count} more in the XLSX.").format(count=len(behind) - LIST_LIMIT))
    heading = (
        _("Grades")
        if campaign.status is CampaignStatus.FINALISED
        else _("Provisional grades (not finalised)")
    )
    lines.append(
        f"{heading}: {_distribution_text(context.tr, service.grade_distribution(results, config))}"
    )
    await answer(update, context, "\n".join(lines))
    chat = update.effective_chat
    assert chat is not None
    distribution = service.grade_distribution(results, config)
    # The labels are the stored grade names (ASCII); the caption is in the reader's language.
    bars = [(grade.replace("_", " ") or "not graded", n) for grade, n in distribution.items()]
    await context.bot.send_photo(
        chat.id,
        photo=grade_bars(bars),
        caption=_("Distribution of grades, {count} branches: {distribution}").format(
            count=len(results), distribution=_distribution_text(context.tr, distribution)
        ),
    )
    labels = export_labels(context.tr)
    data = service.export_xlsx(service.questionnaire_for(campaign), results, labels)
    await context.bot.send_document(
        chat.id,
        document=data,
        filename=f"grading-{campaign.id}.xlsx",
        caption=_("One row per branch: scores per indicator, components and grade."),
    )


def export_labels(tr: Translator) -> service.ExportLabels:
    """Column headings in the reader's language."""
    _ = tr._
    return service.ExportLabels(
        branch_code=_("Branch code"),
        branch_name=_("Branch"),
        members=_("Members"),
        member_answers=_("Member answers"),
        mass_answers=_("Mass answers"),
        member_rate=_("Member satisfaction rate"),
        mass_rate=_("Mass satisfaction rate"),
        self_total=_("Self-assessment"),
        superior_total=_("Superior's assessment"),
        final_score=_("Final score"),
        grade=_("Grade"),
        grades={g: _(name) for g, name in GRADE_NAMES.items()},
        locale=tr.locale,
    )


# ---- rectification overview ----------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def rectification_overview(update: Update, context: BotContext) -> None:
    """ga:rc:<campaign>: every weak branch's rectification items and their progress."""
    _ = context._
    campaign_id = int(_data(update)[2])
    async with context.db() as session:
        scoped = await _campaign_in_scope(session, context, campaign_id)
        if scoped is None:
            await refuse(update, context)
            return
        campaign = scoped[0]
        weak = [
            (a, b)
            for a, b in await gq.campaign_assessments(session, campaign.id)
            if a.grade == Grade.WEAK
        ]
        items = await gq.rectification_items(session, campaign_id=campaign.id)
        checks = {i.id: await gq.rectification_counts(session, i.id) for i in items}
    if not weak:
        await answer(update, context, _("No branch was graded weak."))
        return
    lines = [_("<b>Rectification</b>")]
    for _assessment, branch in weak:
        own = [i for i in items if i.branch_id == branch.id]
        done = sum(1 for i in own if i.status.value == "done")
        lines.append(
            _("{branch}: {done} of {total} item(s) done").format(
                branch=escape(branch.display_name(context.tr.locale)), done=done, total=len(own)
            )
        )
        for item in own:
            state = _("done") if item.status.value == "done" else _("open")
            votes = sum(checks[item.id].values())
            lines.append(
                _(
                    "• {problem} — due {due}, {responsible}: {state}; {votes} member check(s)"
                ).format(
                    problem=escape(item.problem),
                    due=context.tr.date(item.due_on, "short"),
                    responsible=escape(item.responsible),
                    state=state,
                    votes=votes,
                )
            )
            if votes >= service.MIN_VISIBLE_ANSWERS:
                parts = ", ".join(
                    f"{_(SATISFACTION_NAMES[v])} {checks[item.id].get(v, 0)}"
                    for v in service.SATISFACTION_VALUES
                )
                lines.append(_("   Members' check: {counts}").format(counts=parts))
    await answer(update, context, "\n".join(lines))


def handlers() -> list[CallbackQueryHandler[BotContext, None]]:
    """The admin's stateless buttons and /report grading."""
    return [
        CallbackQueryHandler(new_campaign, pattern=r"^ga:n$"),
        CallbackQueryHandler(node_chosen, pattern=r"^ga:d:\d{1,12}$"),
        CallbackQueryHandler(deadline_chosen, pattern=r"^ga:c:\d{1,12}:\d{1,3}$"),
        CallbackQueryHandler(
            rule_chosen, pattern=r"^ga:y:\d{1,12}:\d{1,3}:[01](:\d:\d(:\d{1,2})?)?$"
        ),
        CallbackQueryHandler(
            start_pressed, pattern=r"^ga:go:\d{1,12}:\d{1,3}:[01]:\d:\d(:\d{1,2})?$"
        ),
        CallbackQueryHandler(progress, pattern=r"^ga:p:\d{1,12}$"),
        CallbackQueryHandler(finalise_asked, pattern=r"^ga:f:\d{1,12}$"),
        CallbackQueryHandler(finalise_confirmed, pattern=r"^ga:fy:\d{1,12}$"),
        CallbackQueryHandler(report_pressed, pattern=r"^ga:r:\d{1,12}$"),
        CallbackQueryHandler(rectification_overview, pattern=r"^ga:rc:\d{1,12}$"),
    ]


def report_handler() -> MessageHandler[BotContext, None]:
    """`/report grading` (other /report subjects are left to handlers.reports)."""
    return MessageHandler(filters.Regex(r"^/report(@\w+)?\s+grading\s*$"), report_command)
