"""/grade for admins: starting a campaign, choice by choice.

Each button carries every choice made so far (CampaignChoices), so the chain needs no draft;
the node it names is checked against the admin's subtree on every press.
"""

from __future__ import annotations

import datetime as dt

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.context import BotContext
from bot.enums import Role
from bot.grading import scope, service
from bot.grading.announce import start_and_announce
from bot.grading.questionnaire import Questionnaire, shipped
from bot.grading.scoring import GradingConfig
from bot.reminders.engine import tick_now
from handlers.common import Refused, edit_or_answer, escape, keyboard, sender
from handlers.grading_buttons import (
    CampaignChoices,
    CampaignDeadline,
    CampaignRoot,
    NewCampaign,
    StartCampaign,
)
from handlers.grading_labels import GRADE_NAMES, score_text
from storage.models import OrgUnit

ADMINS = frozenset({Role.ADMIN})
DEADLINE_DAYS = (14, 30, 60)
# Choices offered in the bot (the CLI takes any value): (self, superior) weights and the
# lowest scores of good, fairly good and ordinary. The first of each is the default.
WEIGHT_CHOICES = ((40, 60), (30, 70), (50, 50))
BAND_CHOICES = ((90, 80, 60), (85, 75, 60), (95, 85, 70))


def _valid(choices: CampaignChoices) -> bool:
    """Whether every choice is one the bot offers."""
    return (
        choices.days in DEADLINE_DAYS
        and 0 <= (choices.weights or 0) < len(WEIGHT_CHOICES)
        and 0 <= (choices.bands or 0) < len(BAND_CHOICES)
        and 0 <= (choices.questionnaire or 0) < len(shipped().questionnaires)
    )


def _questionnaire(choices: CampaignChoices) -> Questionnaire:
    return shipped().questionnaires[choices.questionnaire or 0]


def _config(choices: CampaignChoices) -> GradingConfig:
    self_weight, superior_weight = WEIGHT_CHOICES[choices.weights or 0]
    return service.make_config(
        self_weight=self_weight / 100,
        superior_weight=superior_weight / 100,
        bands=BAND_CHOICES[choices.bands or 0],
        satisfaction_floor=0.9 if choices.floor else None,
    )


def _with(
    choices: CampaignChoices,
    family: type[CampaignChoices] = CampaignChoices,
    *,
    weights: int | None = None,
    bands: int | None = None,
    questionnaire: int | None = None,
) -> CampaignChoices:
    """The same choices (the questionnaire asked by now), one of them changed, as a button of
    `family`."""
    return family(
        choices.org_id,
        choices.days,
        choices.floor,
        choices.weights or 0 if weights is None else weights,
        choices.bands or 0 if bands is None else bands,
        choices.questionnaire or 0 if questionnaire is None else questionnaire,
    )


def _deadline(context: BotContext, days: int) -> dt.datetime:
    settings = context.settings
    local_day = context.today() + dt.timedelta(days=days)
    end = dt.datetime.combine(local_day, dt.time(23, 59), tzinfo=settings.tz)
    return end.astimezone(dt.UTC)


async def _node(context: BotContext, org_id: int) -> OrgUnit:
    """The node, if it lies in the admin's subtree."""
    async with context.db.begin() as session:
        org = await scope.admin_node(session, context.principal, org_id)
    if org is None:
        raise Refused()
    return org


@sender(registered=True, roles=ADMINS)
async def new_campaign(update: Update, context: BotContext) -> None:
    """ga:n: choose the subtree (skipped when the admin has one)."""
    grants = context.principal.admin_grants()
    if len(grants) == 1:
        await _ask_deadline(update, context, grants[0].org_id)
        return
    rows = [[(g.org_code, CampaignRoot(g.org_id).data)] for g in grants]
    await edit_or_answer(update, context, context._("Grade the branches under:"), keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def node_chosen(update: Update, context: BotContext) -> None:
    """ga:d: ask for the deadline."""
    await _ask_deadline(update, context, CampaignRoot.read(update).org_id)


async def _ask_deadline(update: Update, context: BotContext, org_id: int) -> None:
    org = await _node(context, org_id)
    rows = [
        [
            (context._("{days} days").format(days=days), CampaignDeadline(org_id, days).data)
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
    """ga:c: ask about the satisfaction rule."""
    button = CampaignDeadline.read(update)
    if button.days not in DEADLINE_DAYS:
        raise Refused()
    await _node(context, button.org_id)
    rows = [
        [
            (
                context._("Yes, apply the rule"),
                CampaignChoices(button.org_id, button.days, True).data,
            )
        ],
        [(context._("No"), CampaignChoices(button.org_id, button.days, False).data)],
    ]
    await edit_or_answer(
        update,
        context,
        context._(
            "Should a mass satisfaction rate under 90 % bar the grades good and fairly good?"
        ),
        keyboard(rows),
    )


def _questionnaire_label(context: BotContext, questionnaire: Questionnaire) -> str:
    """Its title in the reader's language, and its version."""
    title = escape(questionnaire.title.for_locale(context.tr.locale))
    return f"{title} ({escape(questionnaire.version)})"


def _summary(context: BotContext, choices: CampaignChoices) -> str:
    config = _config(choices)
    _ = context._
    bands = ", ".join(
        f"{_(GRADE_NAMES[b.grade])} ≥ {score_text(b.min_score)}" for b in config.bands[:-1]
    )
    rule = _("yes") if choices.floor else _("no")
    deadline = _deadline(context, choices.days)
    return "\n".join(
        [
            _("Questionnaire: {title}").format(
                title=_questionnaire_label(context, _questionnaire(choices))
            ),
            _("Deadline: {deadline}").format(deadline=context.tr.datetime(deadline)),
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


@sender(registered=True, roles=ADMINS)
async def choices_shown(update: Update, context: BotContext) -> None:
    """ga:y: the summary with the other weights and grade limits to choose from.

    Right after the rule, the questionnaire is asked for when more than one is shipped.
    """
    choices = CampaignChoices.read(update)
    if not _valid(choices):
        raise Refused()
    await _node(context, choices.org_id)
    _ = context._
    registry = shipped()
    if choices.questionnaire is None and len(registry.questionnaires) > 1:
        rows = [
            [(_questionnaire_label(context, q), _with(choices, questionnaire=i).data)]
            for i, q in enumerate(registry.questionnaires)
        ]
        await edit_or_answer(
            update, context, _("Which questionnaire should the branches answer?"), keyboard(rows)
        )
        return
    text = (
        _("Start this campaign?")
        + "\n\n"
        + _summary(context, choices)
        + "\n\n"
        + _("Other weights or grade limits can be chosen below.")
    )
    chosen = _with(choices)
    rows = [
        [(_("Start"), _with(choices, StartCampaign).data)],
        [
            (f"{'✓ ' if i == chosen.weights else ''}{s}/{p}", _with(choices, weights=i).data)
            for i, (s, p) in enumerate(WEIGHT_CHOICES)
        ],
        [
            (
                f"{'✓ ' if i == chosen.bands else ''}{'/'.join(map(str, b))}",
                _with(choices, bands=i).data,
            )
            for i, b in enumerate(BAND_CHOICES)
        ],
    ]
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def start_pressed(update: Update, context: BotContext) -> None:
    """ga:go: start the campaign; the secretaries are told by the reminder engine."""
    choices = StartCampaign.read(update)
    if not _valid(choices):
        raise Refused()
    async with context.db.begin() as session:
        org = await scope.admin_node(session, context.principal, choices.org_id)
        if org is None:
            raise Refused()
        try:
            started = await start_and_announce(
                session,
                root=org,
                deadline=_deadline(context, choices.days),
                config=_config(choices),
                now=context.settings.now(),
                actor=context.account,
                questionnaire=_questionnaire(choices),
            )
        except service.CampaignExists as exists:
            raise Refused(
                context._(
                    "Campaign #{id} already grades these branches this year; its grades stay."
                ).format(id=exists.campaign_id)
            ) from None
        except service.CampaignError:
            raise Refused(context._("There are no branches to grade there.")) from None
    await edit_or_answer(
        update,
        context,
        context.tr.ngettext(
            "Campaign #{id} started for {count} branch. Secretaries are notified.",
            "Campaign #{id} started for {count} branches. Secretaries are notified.",
            started.branches,
        ).format(id=started.campaign.id, count=started.branches),
    )
    tick_now(context.job_queue)


def handlers() -> list[CallbackQueryHandler[BotContext, None]]:
    """The buttons that start a campaign."""
    return [
        CallbackQueryHandler(new_campaign, pattern=NewCampaign.pattern),
        CallbackQueryHandler(node_chosen, pattern=CampaignRoot.pattern),
        CallbackQueryHandler(deadline_chosen, pattern=CampaignDeadline.pattern),
        CallbackQueryHandler(choices_shown, pattern=CampaignChoices.pattern),
        CallbackQueryHandler(start_pressed, pattern=StartCampaign.pattern),
    ]
