"""Saving or discarding a /log draft, and correcting or voiding a saved activity from
/activities. A correction or voiding applies only to the version of the activity its leader
saw: of two leaders changing the same activity at once, one decides and the other is told."""

from __future__ import annotations

from telegram import Update

from bot.activities import (
    VOID_REASON_LIMIT,
    VOID_REASONS,
    ActivityDraft,
    StaleActivity,
    draft_from_activity,
    void_activity,
)
from bot.context import BotContext
from bot.meetings.record import AlreadyLogged, save_activity
from bot.rules.quorum import short_of_quorum
from handlers.activity_flow import END, FLOW, ask, leader_step, problem, start_draft, text_of
from handlers.activity_texts import CorrectActivity, VoidActivity, kinds_text, scope_refusal
from handlers.common import Refused, clean_text, escape
from handlers.flow import State, Step
from handlers.log_texts import (
    CONFIRM_CANCEL,
    SUMMARY,
    VOID_REASON,
    VoidReasonChoice,
)
from storage import activity_queries
from storage.models_activity import Activity


def _saved_text(context: BotContext, draft: ActivityDraft, activity: Activity) -> str:
    params = {
        "kinds": kinds_text(context, activity.kinds),
        "date": context.tr.date(activity.day),
        "id": activity.id,
    }
    if draft.activity_id is not None:
        text = context._("Corrected activity #{id}: {kinds} on {date}.").format(**params)
    elif activity.late:
        text = context._(
            "Saved: {kinds} on {date}. It is marked as logged late (more than 7 days after)."
        ).format(**params)
    else:
        text = context._("Saved: {kinds} on {date}.").format(**params)
    return text + "\n" + context._("Send /due to see what is still due, /activities for the log.")


def _stale_text(context: BotContext, activity_id: int) -> str:
    return context._(
        "Activity #{id} was changed by another leader meanwhile, so nothing was saved. "
        "Open it again from /activities to see it as it is now."
    ).format(id=activity_id)


@leader_step
async def save_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Save the activity (or the correction) and end the conversation."""
    draft = ActivityDraft.from_data(step.data)
    try:
        saved = await save_activity(
            step.session,
            draft,
            actor=context.account,
            now=context.settings.now(),
            zone=context.settings.tz,
        )
    except AlreadyLogged as logged:
        raise Refused(already_logged_text(context, logged.activity_id)) from None
    except LookupError:
        step.edit(context._("That activity no longer exists or was voided. Nothing was saved."))
        return END
    except StaleActivity:
        step.edit(_stale_text(context, int(draft.activity_id or 0)))
        return END
    text = _saved_text(context, draft, saved.activity)
    if saved.meeting is not None and draft.meeting_id is None:
        text += "\n" + context._(
            "It is the meeting #{id} called with /meet: recorded as that meeting."
        ).format(id=saved.meeting.id)
    if saved.activity.quorum and short_of_quorum(saved.activity.quorum):
        text += "\n" + context._(
            "Without a quorum: it does not count as done in /due. See /due for what is still due."
        )
    step.edit(text)
    return END


def already_logged_text(context: BotContext, activity_id: int | None) -> str:
    """Why a meeting's record was not saved a second time."""
    if activity_id is None:
        return context._("This meeting was logged meanwhile. Nothing was saved.")
    return context._(
        "This meeting is already logged as activity #{id}, so nothing was saved. Open it "
        "from /activities to correct it."
    ).format(id=activity_id)


@FLOW.step()
async def discard_asked(update: Update, context: BotContext, step: Step) -> State:
    """/cancel or Discard: ask before throwing the draft away."""
    if step.state != CONFIRM_CANCEL:
        step.data["back"] = step.state
    return await ask(context, step, CONFIRM_CANCEL)


@FLOW.step()
async def discard_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Throw the draft away."""
    step.edit(context._("Draft discarded. Nothing was saved."))
    return END


@leader_step
async def keep_editing(update: Update, context: BotContext, step: Step) -> State:
    """Go back to where the user was."""
    return await ask(context, step, str(step.data.get("back") or SUMMARY))


# ---- correcting and voiding saved activities ---------------------------------------------------


async def _changeable(context: BotContext, step: Step, activity_id: int) -> Activity:
    """The activity, if the sender leads its branch and it is not void; else Refused (telling
    nothing about an activity of another branch)."""
    activity = await activity_queries.activity_by_id(step.session, activity_id)
    if activity is None or not context.principal.leads_branch(activity.branch_id):
        raise Refused(scope_refusal(context))
    if activity.voided:
        raise Refused(context._("This entry is void and can't be changed."))
    return activity


@FLOW.step(registered=True, entry=True)
async def correct_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Open a saved activity as a draft, at its summary."""
    activity = await _changeable(context, step, CorrectActivity.read(update).activity_id)
    return await start_draft(context, step, draft_from_activity(activity), [])


@FLOW.step(registered=True, entry=True)
async def void_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask why a saved activity should be voided."""
    activity = await _changeable(context, step, VoidActivity.read(update).activity_id)
    step.data = {
        "branch_id": activity.branch_id,
        "void_id": activity.id,
        "void_version": activity.version,
        "pending": [],
    }
    return await ask(context, step, VOID_REASON)


async def _void(context: BotContext, step: Step, reason: str) -> State:
    activity_id = int(step.data["void_id"])
    activity = await activity_queries.activity_by_id(step.session, activity_id)
    if activity is None:
        raise Refused(scope_refusal(context))
    try:
        await void_activity(
            step.session,
            activity,
            reason=reason,
            actor=context.account,
            now=context.settings.now(),
            seen_version=step.data.get("void_version"),
        )
    except StaleActivity:
        step.edit(_stale_text(context, activity_id))
        return END
    step.edit(
        context._("Activity #{id} is void: {reason}. It stays in the records.").format(
            id=activity.id, reason=escape(reason)
        )
    )
    return END


@leader_step
async def void_reason_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Void the activity with one of the usual reasons."""
    reason = VoidReasonChoice.read(update).reason
    return await _void(context, step, context._(VOID_REASONS[reason]))


@leader_step
async def void_reason_typed(update: Update, context: BotContext, step: Step) -> State:
    """Void the activity with a typed reason."""
    reason = clean_text(text_of(update), limit=VOID_REASON_LIMIT)
    if reason is None:
        text = context._("Please give the reason as text, at most {limit} characters.")
        problem(step, text.format(limit=VOID_REASON_LIMIT))
        return None
    return await _void(context, step, reason)
