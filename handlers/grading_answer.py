"""The self-assessment questionnaire, item by item (entered from the /grade card).

Answers are saved item by item in the assessment row itself, so stopping (or a restart of the
bot) loses nothing: /grade again resumes at the first unanswered item. The conversation draft
holds only where the secretary is: the assessment (re-checked at every step) and the item.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.commands import LEADERS
from bot.context import BotContext
from bot.dues.prefill import ledger_counts
from bot.grading import scope, service
from bot.grading.questionnaire import AnswerType, Item, PrefillPer, PrefillSuggestion
from bot.grading.scoring import Answer
from handlers.cancel import odd_input_for
from handlers.common import Refused, answer, escape, keyboard, refuse
from handlers.dues_texts import ledger_evidence
from handlers.flow import Flow, State, Step
from handlers.grading_buttons import (
    AnswerItem,
    ConfirmItem,
    GoToItem,
    OpenQuestionnaire,
    ReviewAnswers,
    SubmitAnswers,
)
from handlers.grading_labels import (
    IDLE_TIMEOUT,
    KIND_NAMES,
    YPN_NAMES,
    answer_label,
    answerable,
    campaign_title,
    expected_answer,
    score_text,
    shortened,
)
from storage import grading_queries as gq
from storage.models_grading import GradingAssessment, GradingCampaign

FLOW = Flow("grading_answer", idle=IDLE_TIMEOUT)
ANSWER = "answer"
# 27 items of at most this many characters, with their answers, stay under 4096 characters.
REVIEW_TEXT_LIMIT = 60

Screen = tuple[str, InlineKeyboardMarkup]


def _refusal_text(context: BotContext, reason: service.Refusal) -> str:
    if reason is service.Refusal.SUBMITTED:
        return context._("The self-assessment was submitted; its answers are read-only.")
    if reason is service.Refusal.CLOSED:
        return context._("The campaign is closed; answers are no longer accepted.")
    return context._("That answer doesn't fit this question.")


async def _suggestions(
    session: AsyncSession, context: BotContext, campaign: GradingCampaign, branch_id: int
) -> dict[str, PrefillSuggestion]:
    counts = await gq.activity_counts(session, branch_id=branch_id, year=campaign.year)
    month = service.through_month(campaign, context.today())
    # The dues and training items are suggested from the dues ledger and training record.
    counts.update(
        await ledger_counts(
            session, context.settings, branch_id=branch_id, year=campaign.year, through_month=month
        )
    )
    return service.prefill_suggestions(service.questionnaire_for(campaign), counts, month)


async def _current(context: BotContext, step: Step) -> tuple[GradingCampaign, GradingAssessment]:
    """The draft's assessment, if the sender still leads its branch."""
    found = await scope.led_assessment(
        step.session, context.principal, int(step.data.get("aid", 0))
    )
    if found is None:
        raise Refused()
    return found


# ---- screens -------------------------------------------------------------------------------


def _evidence(context: BotContext, item: Item, suggestion: PrefillSuggestion, year: int) -> str:
    _ = context._
    ev = suggestion.evidence
    if (ledger := ledger_evidence(context, ev, year)) is not None:
        return ledger
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


def _answer_rows(context: BotContext, item: Item, index: int) -> list[list[tuple[str, str]]]:
    """The buttons that answer an item (none for typed answers)."""
    if item.type is AnswerType.YES_PARTLY_NO:
        return [
            [(context._(YPN_NAMES[v]), AnswerItem(index, v).data) for v in ("yes", "partly", "no")]
        ]
    if item.type is AnswerType.SCALE_1_5:
        return [[(str(v), AnswerItem(index, str(v)).data) for v in range(1, 6)]]
    if item.type is AnswerType.CHOICE:
        locale = context.tr.locale
        return [
            [(option.label.for_locale(locale)[:60], AnswerItem(index, option.id).data)]
            for option in item.options
        ]
    return []


def _typing_hint(context: BotContext, item: Item) -> str | None:
    if item.type is AnswerType.NUMBER:
        return context._("Type the number.")
    if item.type is AnswerType.TEXT:
        return context._("Type your answer (at most {limit} characters), or skip it.").format(
            limit=service.COMMENT_LIMIT
        )
    return None


def _item_screen(
    context: BotContext,
    campaign: GradingCampaign,
    assessment: GradingAssessment,
    index: int,
    suggestions: Mapping[str, PrefillSuggestion],
) -> Screen:
    _ = context._
    questionnaire = service.questionnaire_for(campaign)
    items = answerable(questionnaire)
    item = items[index]
    locale = context.tr.locale
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
        suggested = answer_label(context, item, suggestion.answer)
        lines.append(_("Suggested answer: {answer}").format(answer=suggested))
        rows.append([(_("✓ Confirm: {answer}").format(answer=suggested), ConfirmItem(index).data)])
    rows.extend(_answer_rows(context, item, index))
    hint = _typing_hint(context, item)
    if hint is not None:
        lines.append(hint)
    lines.append("")
    current = assessment.answers.get(item.id)
    lines.append(_("Your answer: {answer}").format(answer=answer_label(context, item, current)))
    nav = []
    if index > 0:
        nav.append((_("◀ Back"), GoToItem(index - 1).data))
    if index + 1 < len(items):
        nav.append((_("Skip ▶"), GoToItem(index + 1).data))
    rows.append(nav)
    rows.append([(_("Review and submit"), ReviewAnswers().data)])
    return "\n".join(lines), keyboard(rows)


def _review_screen(
    context: BotContext, campaign: GradingCampaign, assessment: GradingAssessment
) -> Screen:
    _ = context._
    questionnaire = service.questionnaire_for(campaign)
    items = answerable(questionnaire)
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
            label = answer_label(context, item, assessment.answers.get(item.id))
            text = shortened(item.text.for_locale(locale), REVIEW_TEXT_LIMIT)
            lines.append(
                _("{number}. {question}: {answer}").format(
                    number=number, question=escape(text), answer=label
                )
            )
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
            context.tr.ngettext(
                "{count} question is unanswered; unanswered questions earn no points.",
                "{count} questions are unanswered; unanswered questions earn no points.",
                len(missing),
            ).format(count=len(missing))
        )
        rows.append([(_("Go to the first unanswered"), GoToItem(missing[0]).data)])
    lines.append(_("After submitting, the answers can no longer be changed."))
    rows.append([(_("Submit"), SubmitAnswers().data)])
    rows.append([(_("◀ Back to the questions"), GoToItem(len(items) - 1).data)])
    return "\n".join(lines), keyboard(rows)


# ---- steps ---------------------------------------------------------------------------------


@FLOW.step(registered=True, roles=LEADERS, entry=True)
async def open_questionnaire(update: Update, context: BotContext, step: Step) -> State:
    """gq:o: open (or resume) a led branch's questionnaire at the first unanswered item."""
    button = OpenQuestionnaire.read(update)
    found = await scope.led_assessment(step.session, context.principal, button.assessment_id)
    if found is None:
        raise Refused()
    campaign, assessment = found
    if assessment.submitted_at is not None:
        raise Refused(_refusal_text(context, service.Refusal.SUBMITTED))
    if service.is_closed(campaign, context.settings.now()):
        raise Refused(_refusal_text(context, service.Refusal.CLOSED))
    items = answerable(service.questionnaire_for(campaign))
    index = next((i for i, item in enumerate(items) if item.id not in assessment.answers), 0)
    suggestions = await _suggestions(step.session, context, campaign, assessment.branch_id)
    step.data.update(aid=assessment.id, i=index)
    step.reply(*_item_screen(context, campaign, assessment, index, suggestions))
    return ANSWER


async def _record(
    context: BotContext,
    step: Step,
    *,
    index: int,
    raw: str | None = None,
    confirm: bool = False,
) -> State:
    """Record an answer to item `index` (typed, pressed or confirmed) and show the next item;
    with neither, move to `index`."""
    campaign, assessment = await _current(context, step)
    questionnaire = service.questionnaire_for(campaign)
    items = answerable(questionnaire)
    if not 0 <= index < len(items):
        raise Refused()
    suggestions = await _suggestions(step.session, context, campaign, assessment.branch_id)
    target = index
    if raw is not None or confirm:
        item = items[index]
        suggestion = suggestions.get(item.id)
        value: Answer | None
        if confirm:
            value = suggestion.answer if suggestion is not None else None
        else:
            value = service.parse_answer(questionnaire, item.id, raw or "")
            # Choosing the suggested answer by hand is confirming it too.
            confirm = suggestion is not None and suggestion.answer == value
        if value is None:
            raise Refused(expected_answer(context, item))
        refusal = await service.record_answer(
            step.session,
            campaign=campaign,
            assessment=assessment,
            item_id=item.id,
            answer=value,
            now=context.settings.now(),
            confirmed=confirm,
        )
        if refusal is not None:
            raise Refused(_refusal_text(context, refusal))
        target = index + 1
    typed = step.update.callback_query is None
    if target >= len(items):
        step.data["i"] = index
        screen = _review_screen(context, campaign, assessment)
    else:
        step.data["i"] = target
        screen = _item_screen(context, campaign, assessment, target, suggestions)
    if typed:
        step.reply(*screen)
    else:
        step.edit(*screen)
    return ANSWER


@FLOW.step(registered=True, roles=LEADERS)
async def answer_pressed(update: Update, context: BotContext, step: Step) -> State:
    """gq:a: an answer button."""
    button = AnswerItem.read(update)
    return await _record(context, step, index=button.index, raw=button.value)


@FLOW.step(registered=True, roles=LEADERS)
async def confirm_pressed(update: Update, context: BotContext, step: Step) -> State:
    """gq:c: confirm the answer suggested from the activity log."""
    return await _record(context, step, index=ConfirmItem.read(update).index, confirm=True)


@FLOW.step(registered=True, roles=LEADERS)
async def go_pressed(update: Update, context: BotContext, step: Step) -> State:
    """gq:g: back, skip, or the first unanswered."""
    return await _record(context, step, index=GoToItem.read(update).index)


@FLOW.step(registered=True, roles=LEADERS)
async def typed(update: Update, context: BotContext, step: Step) -> State:
    """A typed number or text for the current item."""
    message = update.effective_message
    text = message.text if message is not None else None
    return await _record(context, step, index=int(step.data.get("i", 0)), raw=text or "")


@FLOW.step(registered=True, roles=LEADERS)
async def review_pressed(update: Update, context: BotContext, step: Step) -> State:
    """gq:rv: the review screen."""
    step.edit(*_review_screen(context, *await _current(context, step)))
    return ANSWER


@FLOW.step(registered=True, roles=LEADERS)
async def submit_pressed(update: Update, context: BotContext, step: Step) -> State:
    """gq:sub: submit the self-assessment and show its points."""
    campaign, assessment = await _current(context, step)
    refusal = await service.submit(
        step.session,
        campaign=campaign,
        assessment=assessment,
        actor=context.account,
        now=context.settings.now(),
    )
    if refusal is not None:
        text = _refusal_text(context, refusal)

        async def refused(update: Update, context: BotContext) -> None:
            await refuse(update, context, text)

        step.then(refused)
        return ConversationHandler.END
    _earned, possible = service.self_points(service.questionnaire_for(campaign), assessment.answers)
    step.edit(
        context._(
            "Submitted. Your self-assessment: {earned} of {possible} points. The mass evaluation "
            "comes from the surveys, and the final grade is shown once the organisation "
            "department finalises it."
        ).format(earned=score_text(assessment.self_score), possible=score_text(possible))
    )
    return ConversationHandler.END


@FLOW.step()
async def stop(update: Update, context: BotContext, step: Step) -> State:
    """/cancel in the questionnaire: the answers so far are kept (they are saved per item)."""
    step.reply(context._("Stopped. Your answers so far are kept; send /grade to continue."))
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(
        update,
        context,
        context._("Please use the buttons above, or send /grade to resume later."),
    )


def build() -> ConversationHandler[BotContext]:
    """The questionnaire conversation (entered from the /grade card)."""
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(open_questionnaire, pattern=OpenQuestionnaire.pattern)],
        states={
            ANSWER: [
                CallbackQueryHandler(answer_pressed, pattern=AnswerItem.pattern),
                CallbackQueryHandler(confirm_pressed, pattern=ConfirmItem.pattern),
                CallbackQueryHandler(go_pressed, pattern=GoToItem.pattern),
                CallbackQueryHandler(review_pressed, pattern=ReviewAnswers.pattern),
                CallbackQueryHandler(submit_pressed, pattern=SubmitAnswers.pattern),
                MessageHandler(filters.TEXT & ~filters.COMMAND, typed),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", stop),
            # This flow's other buttons (a stale one, forged data): "no longer active".
            CallbackQueryHandler(odd_input_for(FLOW, _reprompt), pattern=r"^gq:"),
        ],
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
