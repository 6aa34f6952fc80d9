"""/grade for secretaries: the campaign menu and the questionnaire, item by item.

Answers are saved item by item in the assessment row itself, so stopping (or a restart of the
bot) loses nothing: /grade again resumes at the first unanswered item. The conversation draft
holds only where the secretary is.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.commands import LEADERS
from bot.context import BotContext
from bot.enums import CampaignStatus
from bot.grading import service
from bot.grading.questionnaire import (
    AnswerType,
    IndicatorSource,
    Item,
    PrefillPer,
    PrefillSuggestion,
    Questionnaire,
)
from bot.grading.scoring import Answer, Grade
from handlers import grading_admin
from handlers.common import (
    answer,
    edit_or_answer,
    escape,
    in_conversation_fallbacks,
    keyboard,
    refuse,
    sender,
)
from handlers.flow import Flow
from handlers.grading_labels import (
    IDLE_TIMEOUT,
    KIND_NAMES,
    SATISFACTION_NAMES,
    YPN_NAMES,
    campaign_title,
    grade_name,
    score_text,
)
from storage import grading_queries as gq
from storage import queries
from storage.models import Account
from storage.models_grading import GradingAssessment, GradingCampaign

FLOW = Flow("grading_answer")
ANSWER = "answer"
# 27 items of at most this many characters, with their answers, stay under 4096 characters.
REVIEW_TEXT_LIMIT = 60
# Survey comments on the branch card: how many, and how much of each, fit one message.
COMMENTS_SHOWN = 10
COMMENT_SHOWN = 200

# ---- the secretary's menu ------------------------------------------------------------------


@sender(registered=True, roles=LEADERS)
async def grade_menu(update: Update, context: BotContext) -> None:
    """Show the campaigns of the sender's branches (and the admin menu for admins)."""
    if context.principal.admin_grants():
        await grading_admin.admin_menu(update, context)
    led = [g.org_id for g in context.principal.led_branches()]
    if not led:
        return
    async with context.db() as session:
        rows = await gq.assessments_of_branches(session, led)
        if not rows:
            await answer(
                update, context, context._("There is no grading campaign for your branch yet.")
            )
            return
        # The newest campaign per branch.
        seen: set[int] = set()
        for assessment, campaign in rows:
            if assessment.branch_id in seen:
                continue
            seen.add(assessment.branch_id)
            text, buttons = await _branch_card(session, context, assessment, campaign)
            await answer(update, context, text, keyboard(buttons) if buttons else None)


async def _branch_card(
    session: AsyncSession,
    context: BotContext,
    assessment: GradingAssessment,
    campaign: GradingCampaign,
) -> tuple[str, list[list[tuple[str, str]]]]:
    _ = context._
    now = context.settings.now()
    questionnaire = service.questionnaire_for(campaign)
    branch = await queries.org_by_id(session, assessment.branch_id)
    assert branch is not None
    items = _answerable(questionnaire)
    lines = [
        _("<b>{title}</b> — {branch}").format(
            title=campaign_title(context, campaign),
            branch=escape(branch.display_name(context.tr.locale)),
        ),
        _("Deadline: {deadline}").format(deadline=context.tr.datetime(campaign.deadline, "short")),
    ]
    buttons: list[list[tuple[str, str]]] = []
    closed = service.is_closed(campaign, now)
    if assessment.submitted_at is None:
        answered = sum(1 for i in items if i.id in assessment.answers)
        lines.append(
            _("Self-assessment: {answered}/{total} answered, not submitted yet.").format(
                answered=answered, total=len(items)
            )
        )
        if not closed:
            buttons.append([(_("Answer the questionnaire"), f"gq:o:{assessment.id}")])
        elif campaign.status is CampaignStatus.OPEN:
            lines.append(_("The deadline has passed; answers are no longer accepted."))
    else:
        _earned, possible = service.self_points(questionnaire, assessment.answers)
        lines.append(
            _("Self-assessment submitted: {earned} of {possible} points.").format(
                earned=score_text(assessment.self_score), possible=score_text(possible)
            )
        )
        buttons.append([(_("View the answers"), f"gq:v:{assessment.id}")])
    counts = await service.visible_counts(
        session, campaign_id=campaign.id, branch_id=assessment.branch_id, closed=closed
    )
    lines.append(_survey_line(context, _("Members"), counts.member_total, counts.members))
    lines.append(_survey_line(context, _("Masses"), counts.mass_total, counts.masses))
    if counts.members is not None or counts.masses is not None:
        # Shown under the same rule as the breakdown, alphabetically (never in answer order).
        notes = await gq.comments(session, campaign.id, assessment.branch_id)
        if notes:
            lines.append(_("Comments from the surveys:"))
            lines.extend(
                f"• {escape(_short(note, COMMENT_SHOWN))}" for note in notes[:COMMENTS_SHOWN]
            )
    issued, used = await gq.mass_code_counts(
        session, campaign_id=campaign.id, branch_id=assessment.branch_id
    )
    if issued:
        lines.append(
            _("Codes for the masses: {used} of {issued} used.").format(used=used, issued=issued)
        )
    if not closed:
        buttons.append([(_("Ask the members to answer"), f"gm:m:{assessment.id}")])
        buttons.append([(_("Codes for the masses"), f"gm:n:{assessment.id}")])
    if campaign.status is CampaignStatus.FINALISED:
        lines.append(
            _("Final grade: <b>{grade}</b> ({score} points).").format(
                grade=grade_name(context, assessment.grade),
                score=score_text(assessment.final_score),
            )
        )
        if assessment.grade == Grade.WEAK:
            lines.append(_("Your branch has a rectification to carry out."))
            buttons.append([(_("Rectification"), f"gr:l:{assessment.id}")])
    else:
        lines.append(_("The final grade is shown once the organisation department finalises it."))
    return "\n".join(lines), buttons


def _survey_line(context: BotContext, who: str, total: int, counts: object) -> str:
    _ = context._
    if counts is None:
        return _(
            "{who}: {total} answer(s); the breakdown is shown after the deadline, from "
            "{minimum} answers on."
        ).format(who=who, total=total, minimum=service.MIN_VISIBLE_ANSWERS)
    parts = [
        f"{_(SATISFACTION_NAMES[v])} {getattr(counts, v)}" for v in service.SATISFACTION_VALUES
    ]
    return _("{who}: {total} answers — {counts}").format(
        who=who, total=total, counts=", ".join(parts)
    )


# ---- the questionnaire ---------------------------------------------------------------------


def _answerable(questionnaire: Questionnaire) -> list[Item]:
    """The items a secretary answers (the mass evaluation comes from the surveys)."""
    return [
        item
        for item in questionnaire.items
        if questionnaire.indicator(item.indicator).source is not IndicatorSource.SATISFACTION
    ]


def _answer_label(context: BotContext, item: Item, value: Answer | None) -> str:
    if value is None:
        return "—"
    if item.type is AnswerType.YES_PARTLY_NO:
        return context._(YPN_NAMES.get(str(value), str(value)))
    if item.type is AnswerType.CHOICE:
        for option in item.options:
            if option.id == value:
                return option.label.for_locale(context.tr.locale)
    if item.type is AnswerType.TEXT:
        return escape(_short(str(value), 100))
    return score_text(float(value)) if isinstance(value, int | float) else str(value)


def _evidence(context: BotContext, item: Item, suggestion: PrefillSuggestion, year: int) -> str:
    _ = context._
    ev = suggestion.evidence
    kind = _(KIND_NAMES.get(ev.kind, ev.kind))
    per = item.prefill.per if item.prefill else None
    if per is PrefillPer.MONTH:
        template = _("Activity log {year}: {kind} held in {met} of {target} months so far.")
    elif per is PrefillPer.QUARTER:
        template = _("Activity log {year}: {kind} held in {met} of {target} quarters so far.")
    else:
        template = _("Activity log {year}: {count} × {kind} logged ({target} needed).")
    return template.format(
        year=year, kind=kind, met=ev.periods_met, target=ev.target, count=ev.total
    )


async def _suggestions(
    session: AsyncSession, context: BotContext, campaign: GradingCampaign, branch_id: int
) -> dict[str, PrefillSuggestion]:
    questionnaire = service.questionnaire_for(campaign)
    today = context.settings.now().astimezone(context.settings.tz).date()
    counts = await gq.activity_counts(session, branch_id=branch_id, year=campaign.year)
    return service.prefill_suggestions(
        questionnaire, counts, service.through_month(campaign, today)
    )


async def _show_item(
    update: Update,
    context: BotContext,
    campaign: GradingCampaign,
    assessment: GradingAssessment,
    index: int,
    suggestions: Mapping[str, PrefillSuggestion],
    *,
    new_message: bool = False,
) -> None:
    _ = context._
    questionnaire = service.questionnaire_for(campaign)
    items = _answerable(questionnaire)
    item = items[index]
    locale = context.tr.locale
    current = assessment.answers.get(item.id)
    lines = [
        _("<b>{title}</b> · {position}/{total}").format(
            title=campaign_title(context, campaign), position=index + 1, total=len(items)
        ),
        f"<i>{escape(questionnaire.indicator(item.indicator).name.for_locale(locale))}</i>",
        escape(item.text.for_locale(locale)),
    ]
    rows: list[list[tuple[str, str]]] = []
    suggestion = suggestions.get(item.id)
    if suggestion is not None:
        lines.append("")
        lines.append(_evidence(context, item, suggestion, campaign.year))
        suggested = _answer_label(context, item, suggestion.answer)
        lines.append(_("Suggested answer: {answer}").format(answer=suggested))
        rows.append([(_("✓ Confirm: {answer}").format(answer=suggested), f"gq:c:{index}")])
    if item.type is AnswerType.YES_PARTLY_NO:
        rows.append([(_(YPN_NAMES[v]), f"gq:a:{index}:{v}") for v in ("yes", "partly", "no")])
    elif item.type is AnswerType.SCALE_1_5:
        rows.append([(str(v), f"gq:a:{index}:{v}") for v in range(1, 6)])
    elif item.type is AnswerType.CHOICE:
        rows.extend(
            [(option.label.for_locale(locale)[:60], f"gq:a:{index}:{option.id}")]
            for option in item.options
        )
    elif item.type is AnswerType.NUMBER:
        lines.append(_("Type the number."))
    else:
        lines.append(
            _("Type your answer (at most {limit} characters), or skip it.").format(
                limit=service.COMMENT_LIMIT
            )
        )
    lines.append("")
    lines.append(_("Your answer: {answer}").format(answer=_answer_label(context, item, current)))
    nav = []
    if index > 0:
        nav.append((_("◀ Back"), f"gq:g:{index - 1}"))
    if index + 1 < len(items):
        nav.append((_("Skip ▶"), f"gq:g:{index + 1}"))
    rows.append(nav)
    rows.append([(_("Review and submit"), "gq:rv")])
    text = "\n".join(lines)
    if new_message:
        await answer(update, context, text, keyboard(rows))
    else:
        await edit_or_answer(update, context, text, keyboard(rows))


async def _load(
    session: AsyncSession, context: BotContext, assessment_id: int
) -> tuple[GradingCampaign, GradingAssessment] | None:
    """The assessment and campaign, if the sender leads the branch."""
    assessment = await gq.assessment_by_id(session, assessment_id)
    if assessment is None or not context.principal.leads_branch(assessment.branch_id):
        return None
    campaign = await gq.campaign_by_id(session, assessment.campaign_id)
    return None if campaign is None else (campaign, assessment)


def _first_unanswered(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> int:
    items = _answerable(questionnaire)
    return next((i for i, item in enumerate(items) if item.id not in answers), 0)


async def _closed_text(context: BotContext, reason: service.Refusal) -> str:
    if reason is service.Refusal.SUBMITTED:
        return context._("The self-assessment was submitted; its answers are read-only.")
    if reason is service.Refusal.CLOSED:
        return context._("The campaign is closed; answers are no longer accepted.")
    return context._("That answer doesn't fit this question.")


@sender(registered=True, roles=LEADERS)
async def open_questionnaire(update: Update, context: BotContext) -> str | int | None:
    """Open (or resume) the questionnaire at the first unanswered item."""
    assert update.callback_query is not None and update.callback_query.data is not None
    assessment_id = int(update.callback_query.data.rsplit(":", 1)[1])
    now = context.settings.now()
    async with context.db.begin() as session:
        loaded = await _load(session, context, assessment_id)
        if loaded is None:
            await refuse(update, context)
            return ConversationHandler.END
        campaign, assessment = loaded
        if assessment.submitted_at is not None or service.is_closed(campaign, now):
            reason = (
                service.Refusal.SUBMITTED
                if assessment.submitted_at is not None
                else service.Refusal.CLOSED
            )
            await refuse(update, context, await _closed_text(context, reason))
            return ConversationHandler.END
        questionnaire = service.questionnaire_for(campaign)
        index = _first_unanswered(questionnaire, assessment.answers)
        suggestions = await _suggestions(session, context, campaign, assessment.branch_id)
        await FLOW.save(session, update, state=ANSWER, data={"aid": assessment.id, "i": index})
    await _show_item(update, context, campaign, assessment, index, suggestions, new_message=True)
    return ANSWER


async def _step(
    update: Update, context: BotContext, *, index: int, raw: str | None, confirm: bool = False
) -> str | int | None:
    """Record an answer to item `index` (if any) and show the next item, or move to `index`."""
    now = context.settings.now()
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update) or draft.state != ANSWER:
            return draft.state
        loaded = await _load(session, context, int(draft.data.get("aid", 0)))
        if loaded is None:
            await refuse(update, context)
            return None
        campaign, assessment = loaded
        questionnaire = service.questionnaire_for(campaign)
        items = _answerable(questionnaire)
        if not 0 <= index < len(items):
            await refuse(update, context)
            return None
        suggestions = await _suggestions(session, context, campaign, assessment.branch_id)
        target = index
        if raw is not None or confirm:
            item = items[index]
            value: Answer | None
            if confirm:
                suggestion = suggestions.get(item.id)
                value = suggestion.answer if suggestion is not None else None
            else:
                assert raw is not None
                value = service.parse_answer(questionnaire, item.id, raw)
                # Choosing the suggested answer by hand is confirming it too.
                suggestion = suggestions.get(item.id)
                confirm = suggestion is not None and suggestion.answer == value
            if value is None:
                await refuse(update, context, context._("That answer doesn't fit this question."))
                return None
            refusal = await service.record_answer(
                session,
                campaign=campaign,
                assessment=assessment,
                item_id=item.id,
                answer=value,
                now=now,
                confirmed=confirm,
            )
            if refusal is not None:
                await refuse(update, context, await _closed_text(context, refusal))
                return None
            target = index + 1
        if target >= len(items):
            await FLOW.save(session, update, state=ANSWER, data={**draft.data, "i": index})
            text, rows = _review(context, campaign, assessment)
            await edit_or_answer(update, context, text, keyboard(rows))
            return ANSWER
        await FLOW.save(session, update, state=ANSWER, data={**draft.data, "i": target})
    await _show_item(
        update,
        context,
        campaign,
        assessment,
        target,
        suggestions,
        new_message=update.callback_query is None,
    )
    return ANSWER


@sender(registered=True, roles=LEADERS)
async def answer_pressed(update: Update, context: BotContext) -> str | int | None:
    """An answer button: gq:a:<index>:<value>."""
    assert update.callback_query is not None and update.callback_query.data is not None
    _prefix, _a, index, value = update.callback_query.data.split(":", 3)
    return await _step(update, context, index=int(index), raw=value)


@sender(registered=True, roles=LEADERS)
async def confirm_pressed(update: Update, context: BotContext) -> str | int | None:
    """Confirm the pre-filled suggestion: gq:c:<index>."""
    assert update.callback_query is not None and update.callback_query.data is not None
    index = int(update.callback_query.data.rsplit(":", 1)[1])
    return await _step(update, context, index=index, raw=None, confirm=True)


@sender(registered=True, roles=LEADERS)
async def go_pressed(update: Update, context: BotContext) -> str | int | None:
    """Back or skip: gq:g:<index>."""
    assert update.callback_query is not None and update.callback_query.data is not None
    index = int(update.callback_query.data.rsplit(":", 1)[1])
    return await _step(update, context, index=index, raw=None)


@sender(registered=True, roles=LEADERS)
async def typed(update: Update, context: BotContext) -> str | int | None:
    """A typed number or text for the current item."""
    text = update.effective_message.text if update.effective_message else None
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    index = int(draft.data.get("i", 0))
    return await _step(update, context, index=index, raw=text or "")


def _short(text: str, limit: int = REVIEW_TEXT_LIMIT) -> str:
    """An item's text cut for the review list, so the whole review fits one message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _review(
    context: BotContext, campaign: GradingCampaign, assessment: GradingAssessment
) -> tuple[str, list[list[tuple[str, str]]]]:
    _ = context._
    questionnaire = service.questionnaire_for(campaign)
    items = _answerable(questionnaire)
    locale = context.tr.locale
    lines = [_("<b>{title}</b> — review").format(title=campaign_title(context, campaign))]
    missing: list[int] = []
    for ind in questionnaire.indicators:
        of_ind = [i for i in items if i.indicator == ind.id]
        if not of_ind:
            continue
        done = sum(1 for i in of_ind if i.id in assessment.answers)
        lines.append(f"<b>{escape(ind.name.for_locale(locale))}</b> {done}/{len(of_ind)}")
        for item in of_ind:
            number = items.index(item) + 1
            label = _answer_label(context, item, assessment.answers.get(item.id))
            lines.append(f"{number}. {escape(_short(item.text.for_locale(locale)))}: {label}")
        missing.extend(items.index(i) for i in of_ind if i.id not in assessment.answers)
    earned, possible = service.self_points(questionnaire, assessment.answers)
    lines.append("")
    lines.append(
        _("Points from your answers so far: {earned} of {possible}.").format(
            earned=score_text(earned), possible=score_text(possible)
        )
    )
    rows: list[list[tuple[str, str]]] = []
    if missing:
        lines.append(
            _("{count} question(s) are unanswered; unanswered questions earn no points.").format(
                count=len(missing)
            )
        )
        rows.append([(_("Go to the first unanswered"), f"gq:g:{missing[0]}")])
    lines.append(_("After submitting, the answers can no longer be changed."))
    rows.append([(_("Submit"), "gq:sub")])
    rows.append([(_("◀ Back to the questions"), f"gq:g:{len(items) - 1}")])
    return "\n".join(lines), rows


@sender(registered=True, roles=LEADERS)
async def review_pressed(update: Update, context: BotContext) -> str | int | None:
    """Show the review screen."""
    async with context.db() as session:
        draft = await FLOW.load(session, update)
        loaded = await _load(session, context, int(draft.data.get("aid", 0)))
    if loaded is None:
        await refuse(update, context)
        return None
    text, rows = _review(context, *loaded)
    await edit_or_answer(update, context, text, keyboard(rows))
    return ANSWER


@sender(registered=True, roles=LEADERS)
async def submit_pressed(update: Update, context: BotContext) -> str | int | None:
    """Submit the self-assessment and show its points."""
    now = context.settings.now()
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return draft.state
        loaded = await _load(session, context, int(draft.data.get("aid", 0)))
        if loaded is None:
            await refuse(update, context)
            return None
        campaign, assessment = loaded
        account = await session.get(Account, context.account.id) if context.account else None
        refusal = await service.submit(
            session, campaign=campaign, assessment=assessment, actor=account, now=now
        )
        if refusal is not None:
            await FLOW.end(session, update)
            await refuse(update, context, await _closed_text(context, refusal))
            return ConversationHandler.END
        await FLOW.end(session, update)
        _earned, possible = service.self_points(
            service.questionnaire_for(campaign), assessment.answers
        )
    await edit_or_answer(
        update,
        context,
        context._(
            "Submitted. Your self-assessment: {earned} of {possible} points. The mass evaluation "
            "comes from the surveys, and the final grade is shown once the organisation "
            "department finalises it."
        ).format(earned=score_text(assessment.self_score), possible=score_text(possible)),
    )
    return ConversationHandler.END


@sender(registered=True, roles=LEADERS)
async def view_answers(update: Update, context: BotContext) -> None:
    """Read-only list of a submitted self-assessment."""
    assert update.callback_query is not None and update.callback_query.data is not None
    assessment_id = int(update.callback_query.data.rsplit(":", 1)[1])
    async with context.db() as session:
        loaded = await _load(session, context, assessment_id)
    if loaded is None:
        await refuse(update, context)
        return
    campaign, assessment = loaded
    questionnaire = service.questionnaire_for(campaign)
    locale = context.tr.locale
    lines = [campaign_title(context, campaign)]
    for number, item in enumerate(_answerable(questionnaire), start=1):
        label = _answer_label(context, item, assessment.answers.get(item.id))
        lines.append(f"{number}. {escape(item.text.for_locale(locale))}: <b>{label}</b>")
    await answer(update, context, "\n".join(lines))


@sender()
async def stop(update: Update, context: BotContext) -> int:
    """/cancel in the questionnaire: the answers so far are kept (they are saved per item)."""
    async with context.db.begin() as session:
        await FLOW.end(session, update)
    await answer(
        update,
        context,
        context._("Stopped. Your answers so far are kept; send /grade to continue."),
    )
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(
        update,
        context,
        context._("Please use the buttons above, or send /grade to resume later."),
    )


def build() -> ConversationHandler[BotContext]:
    """The questionnaire conversation (entered from the /grade menu)."""
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(open_questionnaire, pattern=r"^gq:o:\d{1,12}$")],
        states={
            ANSWER: [
                CallbackQueryHandler(answer_pressed, pattern=r"^gq:a:\d{1,3}:[a-z0-9_-]{1,32}$"),
                CallbackQueryHandler(confirm_pressed, pattern=r"^gq:c:\d{1,3}$"),
                CallbackQueryHandler(go_pressed, pattern=r"^gq:g:\d{1,3}$"),
                CallbackQueryHandler(review_pressed, pattern=r"^gq:rv$"),
                CallbackQueryHandler(submit_pressed, pattern=r"^gq:sub$"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, typed),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", stop),
            CallbackQueryHandler(in_conversation_fallbacks(_reprompt), pattern=r"^gq:"),
        ],
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
        conversation_timeout=IDLE_TIMEOUT,
    )


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """The /grade menu and read-only views."""
    return [
        CommandHandler("grade", grade_menu),
        CallbackQueryHandler(view_answers, pattern=r"^gq:v:\d{1,12}$"),
    ]
