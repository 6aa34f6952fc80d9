"""/meet: a branch's secretary or deputy (or a party group's leader, for the group) calls a
meeting: kinds, date and time, place or link, agenda, who is invited, whether an absence needs
a reason; preview, then send.

One crash-safe conversation holds the draft: every handler is a `Flow.step`, so each answer
is stored before the next question, a redelivered update is ignored, and a restart resumes
where the caller was. Every step checks that the sender may still call meetings for the
draft's branch (or party group); the invitees and their invitations are written in the same
transaction as the meeting, and the preview message becomes the caller's card.
"""

from __future__ import annotations

import functools
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.enums import MeetingAudience, OrgKind
from bot.meetings.draft import AGENDA_LIMIT, PLACE_LIMIT, MeetingDraft
from bot.meetings.service import call_meeting
from bot.reminders.engine import tick_now
from bot.rules.dates import parse_future_datetime
from bot.rules.kinds import ActivityKind
from handlers.buttons import Button
from handlers.cancel import conversation_fallbacks
from handlers.common import Refused, answer, clean_text, refuse
from handlers.flow import Flow, Handler, State, Step, StepCallback
from handlers.meet_texts import (
    AGENDA,
    AUDIENCE,
    BRANCH,
    DECIDES,
    GROUP,
    KINDS,
    PICK,
    PLACE,
    PREVIEW,
    REASON,
    WHEN,
    MeetAudienceChoice,
    MeetDecides,
    MeetDrop,
    MeetEdit,
    MeetFor,
    MeetGroup,
    MeetKind,
    MeetKindsDone,
    MeetPick,
    MeetPickDone,
    MeetPickPage,
    MeetReasonRequired,
    MeetSend,
    called_text,
    question,
    when_question,
)
from handlers.meeting_buttons import card_keyboard
from storage import activity_queries, meeting_queries, queries

FLOW = Flow("meet")
END = ConversationHandler.END


def _not_a_leader(context: BotContext) -> Refused:
    return Refused(
        context._(
            "Only a branch's secretary or deputy secretary (or a party group's leader, for "
            "the group) can call its meetings. Nothing was changed."
        )
    )


async def ask(context: BotContext, step: Step, state: str) -> str:
    """Queue the question of `state` and return the state."""
    text, markup = await question(context, step.session, state, step.data)
    step.edit(text, markup)
    return state


def caller_step(func: StepCallback) -> Handler:
    """A step of an open draft: the sender must still lead its branch (or party group)."""

    @FLOW.step(registered=True)
    @functools.wraps(func)
    async def run(update: Update, context: BotContext, step: Step) -> State:
        if "branch_id" in step.data:
            draft = MeetingDraft.from_data(step.data)
            if not draft.may_be_called_by(context.principal):
                error = _not_a_leader(context).text
                step.then(lambda update, context: refuse(update, context, error))
                return END
        return await func(update, context, step)

    return run


def _text(update: Update) -> str:
    message = update.effective_message
    return (message.text if message is not None else None) or ""


def _problem(step: Step, text: str) -> None:
    step.then(lambda update, context: refuse(update, context, text))


async def _start(context: BotContext, step: Step, org_id: int) -> str:
    """A new draft for a branch the sender leads, or a party group they lead."""
    org = await queries.org_by_id(step.session, org_id)
    if org is None:
        raise _not_a_leader(context)
    if org.kind is OrgKind.BRANCH and context.principal.leads_branch(org.id):
        step.data = MeetingDraft(org.id).to_data()
        return await ask(context, step, KINDS)
    if (
        org.kind is OrgKind.PARTY_GROUP
        and org.parent_id is not None
        and context.principal.leads_group(org.id)
    ):
        draft = MeetingDraft(
            org.parent_id,
            party_group_id=org.id,
            group_leader=True,
            kinds=[ActivityKind.GROUP_MEETING.value],
            audience=MeetingAudience.PARTY_GROUP,
        )
        step.data = draft.to_data()
        return await ask(context, step, WHEN)
    raise _not_a_leader(context)


@FLOW.step(registered=True, entry=True)
async def start_meet(update: Update, context: BotContext, step: Step) -> State:
    """/meet: start a draft for the branch (or group) the sender leads, asking which if several."""
    grants = [*context.principal.led_branches(), *context.principal.led_groups()]
    if not grants:
        raise _not_a_leader(context)
    if len(grants) == 1:
        return await _start(context, step, grants[0].org_id)
    step.data = {}
    return await ask(context, step, BRANCH)


@FLOW.step(registered=True)
async def for_pressed(update: Update, context: BotContext, step: Step) -> State:
    """The branch or party group chosen."""
    return await _start(context, step, MeetFor.read(update).org_id)


@caller_step
async def kind_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Choose or unchoose a kind."""
    kind = MeetKind.read(update).kind.value
    kinds: list[str] = list(step.data.get("kinds") or [])
    step.data["kinds"] = [k for k in kinds if k != kind] if kind in kinds else [*kinds, kind]
    return await ask(context, step, KINDS)


@caller_step
async def kinds_done(update: Update, context: BotContext, step: Step) -> State:
    """The kinds are chosen (at least one)."""
    if not step.data.get("kinds"):
        _problem(step, context._("Choose at least one kind."))
        return None
    return await _next(context, step, KINDS)


async def _next(context: BotContext, step: Step, answered: str) -> str:
    """The question after `answered` (or the preview, when answering one again from it)."""
    if step.data.get("editing") and answered not in (AUDIENCE, GROUP):
        step.data.pop("editing")
        return await ask(context, step, PREVIEW)
    draft = MeetingDraft.from_data(step.data)
    order = [KINDS, WHEN, PLACE, AGENDA, AUDIENCE, GROUP, REASON, DECIDES, PREVIEW]
    for state in order[order.index(answered) + 1 :]:
        if state == AUDIENCE and draft.group_leader:
            continue
        if state == GROUP and not await _asks_group(step, draft):
            continue
        if state == REASON and step.data.get("editing"):
            step.data.pop("editing")
            return await ask(context, step, PREVIEW)
        if state == DECIDES and not draft.asks_decides():
            continue
        return await ask(context, step, state)
    return await ask(context, step, PREVIEW)


async def _asks_group(step: Step, draft: MeetingDraft) -> bool:
    """The party group is asked for a party group audience, and for a party group meeting of
    a branch that has groups."""
    if draft.group_leader:
        return False
    if draft.audience is MeetingAudience.PARTY_GROUP:
        return True
    if ActivityKind.GROUP_MEETING.value not in draft.kinds:
        return False
    return bool(await activity_queries.party_groups(step.session, branch_id=draft.branch_id))


@caller_step
async def when_typed(update: Update, context: BotContext, step: Step) -> State:
    """The date and time, in the future."""
    moment = parse_future_datetime(_text(update)[:60], context.settings.now(), context.tr.tz)
    if moment is None:
        step.reply(context._("I could not read that as a time in the future. Please try again."))
        step.reply(when_question(context))
        return None
    step.data["starts_at"] = moment.isoformat()
    return await _next(context, step, WHEN)


async def _typed(update: Update, context: BotContext, step: Step, field: str, limit: int) -> State:
    value = clean_text(_text(update), limit=limit)
    if value is None:
        text = context._("Please send text of at most {limit} characters.").format(limit=limit)
        _problem(step, text)
        return None
    step.data[field] = value
    return await _next(context, step, PLACE if field == "place" else AGENDA)


@caller_step
async def place_typed(update: Update, context: BotContext, step: Step) -> State:
    """The place or the link."""
    return await _typed(update, context, step, "place", PLACE_LIMIT)


@caller_step
async def agenda_typed(update: Update, context: BotContext, step: Step) -> State:
    """The agenda (the record's topic)."""
    return await _typed(update, context, step, "agenda", AGENDA_LIMIT)


@caller_step
async def audience_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Who is invited; chosen members and a party group are asked next."""
    audience = MeetAudienceChoice.read(update).audience
    step.data.update(audience=audience.value, chosen=[], party_group_id=None, pick_page=0)
    if audience is MeetingAudience.CHOSEN:
        return await ask(context, step, PICK)
    return await _next(context, step, AUDIENCE)


@caller_step
async def group_pressed(update: Update, context: BotContext, step: Step) -> State:
    """The party group: one of the draft's branch."""
    group_id = MeetGroup.read(update).group_id
    groups = await activity_queries.party_groups(
        step.session, branch_id=int(step.data["branch_id"])
    )
    if group_id not in {row[0] for row in groups}:
        raise Refused()
    step.data["party_group_id"] = group_id
    return await _next(context, step, GROUP)


@caller_step
async def pick_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Choose or unchoose one member of the draft's branch."""
    button = MeetPick.read(update)
    roster = await meeting_queries.invitable(step.session, int(step.data["branch_id"]))
    if button.person_id not in {person.person_id for person in roster}:
        raise Refused()
    chosen = [int(p) for p in step.data.get("chosen") or []]
    step.data["chosen"] = (
        [p for p in chosen if p != button.person_id]
        if button.person_id in chosen
        else [*chosen, button.person_id]
    )
    step.data["pick_page"] = button.page
    return await ask(context, step, PICK)


@caller_step
async def pick_page_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Another page of the roster."""
    step.data["pick_page"] = MeetPickPage.read(update).page
    return await ask(context, step, PICK)


@caller_step
async def pick_done(update: Update, context: BotContext, step: Step) -> State:
    """The members are chosen (at least one)."""
    if not step.data.get("chosen"):
        _problem(step, context._("Choose at least one member."))
        return None
    return await _next(context, step, AUDIENCE)


@caller_step
async def reason_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Whether an absence needs a reason."""
    step.data["reason_required"] = MeetReasonRequired.read(update).required
    return await _next(context, step, REASON)


@caller_step
async def decides_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Whether the general meeting elects or decides."""
    step.data["decides"] = MeetDecides.read(update).decides
    return await _next(context, step, DECIDES)


@caller_step
async def edit_pressed(update: Update, context: BotContext, step: Step) -> State:
    """From the preview, answer one question again."""
    field = MeetEdit.read(update).field
    if field == "audience" and step.data.get("group_leader"):
        raise Refused()
    step.data["editing"] = True
    return await ask(context, step, field)


@caller_step
async def send_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Call the meeting: the meeting, its invitees and their invitations in this transaction;
    the preview becomes the caller's card."""
    draft = MeetingDraft.from_data(step.data)
    now = context.settings.now()
    if draft.starts_at is None or draft.starts_at <= now or draft.audience is None:
        _problem(step, context._("That time has passed: please give another."))
        step.data["editing"] = True
        return await ask(context, step, WHEN)
    query = update.callback_query
    message = query.message if query is not None and isinstance(query.message, Message) else None
    called = await call_meeting(
        step.session,
        draft,
        actor=context.account,
        now=now,
        card_chat_id=message.chat_id if message else None,
        card_message_id=message.message_id if message else None,
    )
    if not called.invited:
        raise Refused(context._("Nobody would be invited: change who is invited."))
    meeting = called.meeting
    text = called_text(context, meeting, called.invited, called.without_account)
    step.edit(text, card_keyboard(context.tr, meeting, now))

    async def send(update: Update, context: BotContext) -> None:
        tick_now(context.job_queue)

    step.then(send)
    return END


@FLOW.step(registered=True)
async def drop_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Drop the draft."""
    step.edit(context._("Dropped. No invitation was sent."))
    return END


async def _reprompt(update: Update, context: BotContext) -> None:
    async with context.db() as session:
        draft = await FLOW.load(session, update)
        if draft.state is None:
            return
        text, markup = await question(context, session, draft.state, draft.data)
    await answer(update, context, text, markup)


def build() -> ConversationHandler[BotContext]:
    """The /meet conversation."""
    text = filters.TEXT & ~filters.COMMAND

    def pressed(callback: Handler, family: type[Button]) -> CallbackQueryHandler[BotContext, Any]:
        return CallbackQueryHandler(callback, pattern=family.pattern)

    return ConversationHandler(
        entry_points=[CommandHandler("meet", start_meet)],
        states={
            BRANCH: [pressed(for_pressed, MeetFor)],
            KINDS: [pressed(kind_pressed, MeetKind), pressed(kinds_done, MeetKindsDone)],
            WHEN: [MessageHandler(text, when_typed)],
            PLACE: [MessageHandler(text, place_typed)],
            AGENDA: [MessageHandler(text, agenda_typed)],
            AUDIENCE: [pressed(audience_pressed, MeetAudienceChoice)],
            GROUP: [pressed(group_pressed, MeetGroup)],
            PICK: [
                pressed(pick_pressed, MeetPick),
                pressed(pick_page_pressed, MeetPickPage),
                pressed(pick_done, MeetPickDone),
            ],
            REASON: [pressed(reason_pressed, MeetReasonRequired)],
            DECIDES: [pressed(decides_pressed, MeetDecides)],
            PREVIEW: [
                pressed(edit_pressed, MeetEdit),
                pressed(send_pressed, MeetSend),
                pressed(drop_pressed, MeetDrop),
            ],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="meet"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
