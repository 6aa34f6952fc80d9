"""The words the relink handlers share: labels of types, states, steps, events; refusals."""

from __future__ import annotations

import datetime as dt

from bot.enums import ReconnectStep, RequestState, RequestType
from bot.i18n import N_, Translator
from bot.relink.model import MAX_LETTER_DAYS, EventKind, Refusal, RefusalCode, RequestSnapshot
from bot.relink.service import Problem
from handlers.common import escape
from storage.models import OrgUnit
from storage.models_relink import LostContactEntry

TYPE_LABELS = {
    RequestType.MOBILE: N_("mobile member report"),
    RequestType.TRANSFER: N_("transfer of organisational ties"),
    RequestType.RECONNECT: N_("reconnecting after losing contact"),
}
STATE_LABELS = {
    RequestState.SUBMITTED: N_("waiting for review"),
    RequestState.NEEDS_INFO: N_("more information requested"),
    RequestState.REJECTED: N_("rejected"),
    RequestState.ACCEPTED: N_("accepted"),
    RequestState.ACTIVE: N_("active: managed by both branches"),
    RequestState.LETTER_ISSUED: N_("transfer letter issued"),
    RequestState.LETTER_EXPIRED: N_("transfer letter expired (pocket member)"),
    RequestState.COMPLETED: N_("completed"),
    RequestState.WITHDRAWN: N_("withdrawn"),
    RequestState.CANCELLED: N_("cancelled"),
}
STEP_LABELS = {
    ReconnectStep.IDENTITY: N_("identity confirmed"),
    ReconnectStep.EDUCATION_TALK: N_("education talk held"),
    ReconnectStep.DUES: N_("dues arrears settled"),
    ReconnectStep.ASSIGNMENT: N_("assigned to a branch or party group"),
    ReconnectStep.SYSTEM_FLAG: N_("lost-contact flag cleared in the national system"),
}
EVENT_LABELS = {
    EventKind.SUBMITTED: N_("new request to review"),
    EventKind.ACCEPTED: N_("accepted"),
    EventKind.REJECTED: N_("rejected"),
    EventKind.ASKED_MORE: N_("more information requested"),
    EventKind.ANSWERED: N_("the member answered"),
    EventKind.REOPENED: N_("reopened"),
    EventKind.LETTER_ISSUED: N_("transfer letter issued"),
    EventKind.LETTER_EXPIRED: N_("transfer letter expired"),
    EventKind.TRANSFER_ACCEPTED: N_("transfer accepted by the receiving branch"),
    EventKind.STEP_RECORDED: N_("step recorded"),
    EventKind.COMPLETED: N_("completed"),
    EventKind.WITHDRAWN: N_("withdrawn by the member"),
    EventKind.CANCELLED: N_("cancelled"),
}
REFUSALS = {
    RefusalCode.FINAL_STATE: N_("This request is already closed. Nothing was changed."),
    RefusalCode.WRONG_TYPE: N_("That does not apply to this kind of request. Nothing was changed."),
    RefusalCode.OWN_REQUEST: N_(
        "You cannot decide on your own request: the branch decides. Nothing was changed."
    ),
    RefusalCode.NOT_ALLOWED_FOR_ROLE: N_(
        "This is not yours to do for this request. Nothing was changed."
    ),
    RefusalCode.ISSUING_BRANCH_CANNOT_ACCEPT: N_(
        "The branch that issued the transfer letter cannot accept it; the receiving "
        "branch does. Nothing was changed."
    ),
    RefusalCode.REJECTED_NEEDS_REOPEN: N_(
        "This request was rejected. Reopen it first to decide again. Nothing was changed."
    ),
    RefusalCode.NOT_ALLOWED_IN_STATE: N_(
        "That is not possible while the request is: {state}. Nothing was changed."
    ),
    RefusalCode.LETTER_EXPIRED: N_(
        "The transfer letter has expired; the home branch must issue a new one. "
        "Nothing was changed."
    ),
    RefusalCode.LETTER_NOT_EXPIRED: N_("The transfer letter is still valid."),
    RefusalCode.STEPS_INCOMPLETE: N_("Some steps are still missing: {steps}."),
    RefusalCode.REASON_REQUIRED: N_("Please write a reason."),
    RefusalCode.QUESTION_REQUIRED: N_("Please write your question."),
    RefusalCode.ANSWER_REQUIRED: N_("Please write your answer."),
    RefusalCode.LETTER_NUMBER_REQUIRED: N_("Please write the letter's number."),
    RefusalCode.INVALID_VALIDITY: N_("The validity must be 1 to {days} days."),
    RefusalCode.INVALID_DETAILS: N_(
        "Those details can't be right (a date in the future, or something missing)."
    ),
    RefusalCode.RECEIVING_BRANCH_REQUIRED: N_("A transfer needs the branch you are moving to."),
    RefusalCode.SAME_BRANCH: N_("The other branch must not be your home branch."),
}


def refusal_text(tr: Translator, refusal: Refusal, snapshot: RequestSnapshot | None) -> str:
    """A machine refusal in the reader's words."""
    text = tr._(REFUSALS[refusal.code])
    state = tr._(STATE_LABELS[snapshot.state]) if snapshot else ""
    steps = (
        tr._(", ").join(tr._(STEP_LABELS[s]) for s in snapshot.missing_steps) if snapshot else ""
    )
    return text.format(state=state, steps=steps, days=MAX_LETTER_DAYS)


def problem_text(tr: Translator, problem: Problem, *, until: dt.datetime | None = None) -> str:
    """A service problem in the reader's words (`until`: when a throttled member may go on)."""
    if problem is Problem.THROTTLED:
        return tr._(
            "You have filed or withdrawn several requests in a short time. Please try again "
            "after {time}."
        ).format(time=tr.datetime(until) if until else "?")
    texts = {
        Problem.ALREADY_OPEN: N_("You already have an open request. Send /relink to see it."),
        Problem.CHANGED: N_("Someone else changed this request just now. Please look at it again."),
        Problem.NOT_OFFERED: N_(
            "That register entry is not one this request's card offers. Nothing was changed."
        ),
        Problem.PERSON_TAKEN: N_(
            "That roster entry is already linked to another Telegram account. Nothing was changed."
        ),
    }
    not_visible = N_("This request does not exist or is not visible to you.")
    return tr._(texts.get(problem, not_visible))


def unit_label(tr: Translator, unit: OrgUnit | None) -> str:
    """A node as "name (code)", escaped for our HTML messages."""
    if unit is None:
        return tr._("(none)")
    return escape(f"{unit.display_name(tr.locale)} ({unit.code})")


def entry_label(entry: LostContactEntry) -> str:
    """A register row as the secretary recognises it: name · original branch · joining year."""
    return " · ".join((entry.name, entry.branch_code or "?", str(entry.join_year or "?")))
