"""What each legal action does to a request: the new state, the event, who hears of it.

Called by bot.relink.machine once an action passed every check; pure, like the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from bot.enums import RequestState, RequestType
from bot.relink.model import (
    Accept,
    AcceptTransfer,
    Action,
    Actor,
    ActorRole,
    Answer,
    AskMore,
    AssignedTo,
    Audience,
    Cancel,
    Complete,
    CompleteStep,
    DuesSettled,
    EducationTalkHeld,
    Event,
    EventKind,
    ExpireLetter,
    IdentityConfirmed,
    IssueLetter,
    Letter,
    Reject,
    Reopen,
    RequestSnapshot,
    StepDetail,
    StepRecord,
    SystemFlagCleared,
    Transition,
    Withdraw,
)


@dataclass(frozen=True, slots=True)
class _Change:
    """What an action does to a request, before the common bookkeeping."""

    to: RequestState
    kind: EventKind
    notify: frozenset[Audience]
    snapshot: RequestSnapshot
    details: Mapping[str, str] = field(default_factory=dict)


def _notify(*audiences: Audience) -> frozenset[Audience]:
    return frozenset(audiences)


def _other_side(
    request: RequestSnapshot, *, only_with_letter: bool = False
) -> tuple[Audience, ...]:
    """The receiving (or local) side, when there is one and it is concerned."""
    if request.receiving_branch is None or (only_with_letter and request.letter is None):
        return ()
    return (Audience.RECEIVING_SIDE,)


def _accepted(request: RequestSnapshot, action: Accept, actor: Actor, now: datetime) -> _Change:
    mobile = request.type is RequestType.MOBILE
    return _Change(
        RequestState.ACTIVE if mobile else RequestState.ACCEPTED,
        EventKind.ACCEPTED,
        _notify(Audience.REQUESTER, *_other_side(request)),
        replace(request, accepted_by=actor.person_id, question=None),
    )


def _rejected(request: RequestSnapshot, action: Reject, actor: Actor, now: datetime) -> _Change:
    reason = action.reason.strip()
    return _Change(
        RequestState.REJECTED,
        EventKind.REJECTED,
        _notify(Audience.REQUESTER),
        replace(request, reason=reason, question=None),
        {"reason": reason},
    )


def _asked(request: RequestSnapshot, action: AskMore, actor: Actor, now: datetime) -> _Change:
    question = action.question.strip()
    return _Change(
        RequestState.NEEDS_INFO,
        EventKind.ASKED_MORE,
        _notify(Audience.REQUESTER),
        replace(request, question=question),
        {"question": question},
    )


def _answered(request: RequestSnapshot, action: Answer, actor: Actor, now: datetime) -> _Change:
    return _Change(
        RequestState.SUBMITTED,
        EventKind.ANSWERED,
        _notify(Audience.HOME_SIDE),
        replace(request, question=None),
        {"question": request.question or "", "answer": action.text.strip()},
    )


def _reopened(request: RequestSnapshot, action: Reopen, actor: Actor, now: datetime) -> _Change:
    note = action.note.strip()
    return _Change(
        RequestState.SUBMITTED,
        EventKind.REOPENED,
        _notify(Audience.REQUESTER),
        replace(request, reason=None),
        {"note": note} if note else {},
    )


def _withdrawn(request: RequestSnapshot, action: Withdraw, actor: Actor, now: datetime) -> _Change:
    return _Change(
        RequestState.WITHDRAWN,
        EventKind.WITHDRAWN,
        _notify(Audience.HOME_SIDE, *_other_side(request, only_with_letter=True)),
        request,
    )


def _letter_issued(
    request: RequestSnapshot, action: IssueLetter, actor: Actor, now: datetime
) -> _Change:
    letter = Letter(action.number.strip(), now, action.valid_days, actor.person_id)
    details = {
        "number": letter.number,
        "valid_days": str(action.valid_days),
        "expires_at": letter.expires_at.isoformat(),
    }
    if request.letter is not None:
        details["replaces"] = request.letter.number
    return _Change(
        RequestState.LETTER_ISSUED,
        EventKind.LETTER_ISSUED,
        _notify(Audience.REQUESTER, Audience.RECEIVING_SIDE),
        replace(request, letter=letter, letters_issued=request.letters_issued + 1),
        details,
    )


def _letter_number(request: RequestSnapshot) -> dict[str, str]:
    return {"number": request.letter.number if request.letter else ""}


def _transfer_accepted(
    request: RequestSnapshot, action: AcceptTransfer, actor: Actor, now: datetime
) -> _Change:
    return _Change(
        RequestState.COMPLETED,
        EventKind.TRANSFER_ACCEPTED,
        _notify(Audience.REQUESTER, Audience.HOME_SIDE),
        replace(request, transfer_accepted_by=actor.person_id),
        _letter_number(request),
    )


def _letter_expired(
    request: RequestSnapshot, action: ExpireLetter, actor: Actor, now: datetime
) -> _Change:
    return _Change(
        RequestState.LETTER_EXPIRED,
        EventKind.LETTER_EXPIRED,
        _notify(Audience.REQUESTER, Audience.HOME_SIDE, Audience.RECEIVING_SIDE),
        request,
        _letter_number(request),
    )


def _step_recorded(
    request: RequestSnapshot, action: CompleteStep, actor: Actor, now: datetime
) -> _Change:
    detail = action.detail
    # A step recorded again replaces the earlier record (a correction); the audit log keeps
    # both events.
    kept = tuple(r for r in request.steps if r.detail.step is not detail.step)
    return _Change(
        request.state,
        EventKind.STEP_RECORDED,
        _notify(Audience.REQUESTER),
        replace(request, steps=(*kept, StepRecord(detail, actor.person_id, now))),
        _step_details(detail),
    )


def _completed(request: RequestSnapshot, action: Complete, actor: Actor, now: datetime) -> _Change:
    return _Change(
        RequestState.COMPLETED,
        EventKind.COMPLETED,
        _notify(Audience.REQUESTER, Audience.HOME_SIDE, *_other_side(request)),
        request,
    )


def _cancelled(request: RequestSnapshot, action: Cancel, actor: Actor, now: datetime) -> _Change:
    reason = action.reason.strip()
    return _Change(
        RequestState.CANCELLED,
        EventKind.CANCELLED,
        _notify(Audience.REQUESTER, *_other_side(request, only_with_letter=True)),
        replace(request, reason=reason),
        {"reason": reason},
    )


ChangeFor = Callable[[RequestSnapshot, Any, Actor, datetime], _Change]
_CHANGES: Final[Mapping[type, ChangeFor]] = {
    Accept: _accepted,
    Reject: _rejected,
    AskMore: _asked,
    Answer: _answered,
    Reopen: _reopened,
    Withdraw: _withdrawn,
    IssueLetter: _letter_issued,
    AcceptTransfer: _transfer_accepted,
    ExpireLetter: _letter_expired,
    CompleteStep: _step_recorded,
    Complete: _completed,
    Cancel: _cancelled,
}


def transition(
    request: RequestSnapshot, action: Action, actor: Actor, role: ActorRole, now: datetime
) -> Transition:
    """Build the new snapshot and event for an action that passed every check."""
    change = _CHANGES[type(action)](request, action, actor, now)
    snapshot = replace(
        change.snapshot, state=change.to, updated_at=now, version=request.version + 1
    )
    event = Event(
        request.id,
        change.kind,
        actor.person_id,
        role,
        request.state,
        change.to,
        now,
        change.notify,
        dict(change.details),
    )
    return Transition(snapshot, event)


def _step_details(detail: StepDetail) -> dict[str, str]:
    match detail:
        case IdentityConfirmed(note=note) | SystemFlagCleared(note=note):
            extra = {"note": note} if note else {}
        case EducationTalkHeld(held_on=held_on, held_by=held_by):
            extra = {"held_on": held_on.isoformat(), "held_by": held_by.strip()}
        case DuesSettled(months=months):
            extra = {"months": str(months)}
        case AssignedTo(unit=unit):
            extra = {"unit": unit.strip()}
    return {"step": detail.step.value, **extra}
