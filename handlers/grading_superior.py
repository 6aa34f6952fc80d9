"""The superior's assessment: one branch's score typed, or a campaign's scores uploaded as XLSX.

An upload is checked by the size and type Telegram reports before it is downloaded, then
downloaded and read off the event loop (bot.uploads: zip bombs refused, rows and columns
capped) before the step's transaction opens, so no transaction waits on Telegram or on parsing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from telegram import Document, Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.context import BotContext
from bot.enums import Role
from bot.grading import scope, service
from bot.grading.export import superior_from_rows
from bot.grading.results import item_indicators, parse_superior, set_superior, superior_points
from bot.uploads import Sheet, UploadProblem, check_document, read_xlsx_rows
from handlers.cancel import conversation_fallbacks
from handlers.common import Refused, answer, escape
from handlers.flow import Flow, State, Step
from handlers.grading_buttons import AskSuperior, ImportSuperior
from handlers.grading_labels import IDLE_TIMEOUT, score_text
from storage import grading_queries as gq

ADMINS = frozenset({Role.ADMIN})
FLOW = Flow("grading_superior", idle=IDLE_TIMEOUT)
TOTAL, XLSX = "total", "xlsx"


@FLOW.step(registered=True, roles=ADMINS, entry=True)
async def ask_superior(update: Update, context: BotContext, step: Step) -> State:
    """ga:s: ask for the superior's score of one branch of a campaign in the admin's subtree."""
    button = AskSuperior.read(update)
    found = await scope.admin_assessment(step.session, context.principal, button.assessment_id)
    if found is None:
        raise Refused()
    campaign, assessment, branch = found
    locale = context.tr.locale
    indicators = context._(", ").join(
        f"{escape(i.name.for_locale(locale))} ({score_text(i.points)})"
        for i in item_indicators(service.questionnaire_for(campaign))
    )
    step.data["aid"] = assessment.id
    step.reply(
        context._(
            "Superior's assessment of {branch}: type the total score from 0 to 100, or the "
            "points of each indicator in this order, separated by spaces: {indicators}."
        ).format(branch=escape(branch.display_name(locale)), indicators=indicators)
    )
    return TOTAL


@FLOW.step(registered=True, roles=ADMINS)
async def superior_typed(update: Update, context: BotContext, step: Step) -> State:
    """Store the typed total, or points per indicator."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    found = await scope.admin_assessment(
        step.session, context.principal, int(step.data.get("aid", 0))
    )
    if found is None:
        raise Refused()
    campaign, assessment, branch = found
    questionnaire = service.questionnaire_for(campaign)
    value = parse_superior(questionnaire, text)
    if value is None:
        step.reply(
            context._(
                "Please type one total from 0 to 100, or {count} indicator points, each "
                "within its maximum."
            ).format(count=len(item_indicators(questionnaire)))
        )
        return None
    problem = await set_superior(
        step.session, campaign=campaign, assessment=assessment, value=value, actor=context.account
    )
    if problem is not None:
        step.reply(context._("The campaign is finalised; nothing was changed."))
        return ConversationHandler.END
    step.reply(
        context._("Saved: superior's score {score} for {branch}.").format(
            score=score_text(round(superior_points(questionnaire, value), 1)),
            branch=escape(branch.display_name(context.tr.locale)),
        )
    )
    return ConversationHandler.END


@FLOW.step(registered=True, roles=ADMINS, entry=True)
async def ask_xlsx(update: Update, context: BotContext, step: Step) -> State:
    """ga:x: ask for the XLSX of superior's scores of a campaign in the admin's subtree."""
    button = ImportSuperior.read(update)
    found = await scope.admin_campaign(step.session, context.principal, button.campaign_id)
    if found is None:
        raise Refused()
    questionnaire = service.questionnaire_for(found[0])
    step.data["cid"] = button.campaign_id
    step.reply(
        context._(
            "Send an XLSX file with a column <code>code</code> (the branch code) and either a "
            "column <code>total</code> (0–100) or one column per indicator: {indicators}."
        ).format(indicators=", ".join(i.id for i in questionnaire.indicators))
    )
    return XLSX


def _upload_problem_text(context: BotContext, problem: UploadProblem) -> str:
    _ = context._
    texts = {
        UploadProblem.TOO_LARGE: _("That file is too large for a score sheet."),
        UploadProblem.WRONG_TYPE: _("That is not an XLSX file."),
        UploadProblem.NOT_XLSX: _("That is not an XLSX file."),
        UploadProblem.ZIP_BOMB: _("That file unpacks to far more than a score sheet."),
        UploadProblem.TOO_MANY_ROWS: _("That sheet has too many rows."),
        UploadProblem.TOO_MANY_COLUMNS: _("That sheet has too many columns."),
    }
    return texts[problem] + " " + _("Nothing was imported.")


async def _fetch(document: Document) -> Sheet:
    """The checked document, downloaded and read off the event loop."""
    problem = check_document(
        file_name=document.file_name, mime_type=document.mime_type, file_size=document.file_size
    )
    if problem is not None:
        return Sheet([], problem)
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    return await asyncio.to_thread(read_xlsx_rows, data)


def _import_step(sheet: Sheet | None) -> Callable[[Update, BotContext], Awaitable[State]]:
    """The step that imports a sheet read before it (None: the message was not a file)."""

    @FLOW.step(registered=True, roles=ADMINS)
    async def import_sheet(update: Update, context: BotContext, step: Step) -> State:
        found = await scope.admin_campaign(
            step.session, context.principal, int(step.data.get("cid", 0))
        )
        if found is None:
            raise Refused()
        if sheet is None:
            step.reply(context._("Please send the XLSX file, or /cancel."))
            return None
        if sheet.problem is not None:
            step.reply(_upload_problem_text(context, sheet.problem))
            return None
        campaign = found[0]
        scores, problems = superior_from_rows(service.questionnaire_for(campaign), sheet.rows)
        by_code = {b.code: a for a, b in await gq.campaign_assessments(step.session, campaign.id)}
        problems += [
            context._("{code}: not a branch of this campaign").format(code=escape(code))
            for code in scores
            if code not in by_code
        ]
        if problems or not scores:
            step.reply(
                context._("Nothing was imported:") + "\n" + "\n".join(escape(p) for p in problems)
            )
            return None
        for code, value in scores.items():
            await set_superior(
                step.session,
                campaign=campaign,
                assessment=by_code[code],
                value=value,
                actor=context.account,
            )
        step.reply(
            context.tr.ngettext(
                "Imported the superior's scores of {count} branch.",
                "Imported the superior's scores of {count} branches.",
                len(scores),
            ).format(count=len(scores))
        )
        return ConversationHandler.END

    return import_sheet


async def xlsx_received(update: Update, context: BotContext) -> State:
    """A file (or text) in the XLSX state: read the file first, then import it in a step."""
    message = update.effective_message
    document = message.document if message is not None else None
    sheet = await _fetch(document) if document is not None else None
    return await _import_step(sheet)(update, context)


# Found by the redelivery test: every update goes through the step above.
xlsx_received.flow_step = FLOW  # type: ignore[attr-defined]


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(update, context, context._("Please send what I asked for, or /cancel."))


def build() -> ConversationHandler[BotContext]:
    """The superior's score conversation (entered from the progress screen)."""
    return ConversationHandler(
        entry_points=[
            CallbackQueryHandler(ask_superior, pattern=AskSuperior.pattern),
            CallbackQueryHandler(ask_xlsx, pattern=ImportSuperior.pattern),
        ],
        states={
            TOTAL: [MessageHandler(filters.TEXT & ~filters.COMMAND, superior_typed)],
            XLSX: [
                MessageHandler(
                    filters.Document.ALL | (filters.TEXT & ~filters.COMMAND), xlsx_received
                )
            ],
        },
        # Stale buttons of these flows are answered by the global stale-button handler.
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix=None),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
