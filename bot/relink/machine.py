"""Requests of mobile and lost-contact members: the pure state machine.

Paths (home side = secretary or deputy of the home branch, or an admin over it):

- mobile:    submitted -> accepted by the home side -> active (two-way management)
             -> completed when the mobile period ends (home side or the member).
- transfer:  submitted -> accepted -> letter_issued -> completed when the *receiving* side
             accepts the letter; a letter past its validity -> letter_expired ("pocket member"),
             then re-issued or cancelled.
- reconnect: submitted -> accepted -> steps recorded (identity, education talk, dues, assignment,
             national system flag) -> completed once every step is recorded.

Around them: ask for more (needs_info) and answer (back to submitted); reject with a reason,
which only an explicit reopen undoes; withdraw by the member before a letter is out; cancel by
the home side once accepted. completed, withdrawn and cancelled are final.

``apply`` never raises for an illegal move: it returns a ``Refusal`` with a stable code. Checks
run in a fixed order (final state, request type, actor's role, state, payload), so each illegal
move has one code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from bot.enums import RequestState, RequestType
from bot.relink.model import (
    MAX_LETTER_DAYS,
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
    Refusal,
    RefusalCode,
    Reject,
    Reopen,
    RequestSnapshot,
    StepDetail,
    StepRecord,
    SystemFlagCleared,
    Transition,
    Withdraw,
)

# --- submission ----------------------------------------------------------------------------------


def submit(
    *,
    request_id: int,
    request_type: RequestType,
    requester_id: int,
    home_branch: str,
    receiving_branch: str | None,
    now: datetime,
    note: str = "",
) -> Transition | Refusal:
    """Create a request filed by a member."""
    if request_type is RequestType.TRANSFER and not receiving_branch:
        return Refusal(RefusalCode.RECEIVING_BRANCH_REQUIRED, "a transfer needs a receiving branch")
    if receiving_branch is not None and receiving_branch == home_branch:
        return Refusal(RefusalCode.SAME_BRANCH, "the other branch is the home branch")
    if request_type is RequestType.RECONNECT:
        receiving_branch = None
    snapshot = RequestSnapshot(
        id=request_id,
        type=request_type,
        state=RequestState.SUBMITTED,
        requester_id=requester_id,
        home_branch=home_branch,
        receiving_branch=receiving_branch,
        submitted_at=now,
        updated_at=now,
        note=note.strip(),
    )
    event = Event(
        request_id,
        EventKind.SUBMITTED,
        requester_id,
        ActorRole.REQUESTER,
        None,
        RequestState.SUBMITTED,
        now,
        frozenset({Audience.HOME_SIDE}),
        {"note": note.strip()} if note.strip() else {},
    )
    return Transition(snapshot, event)


# --- apply ---------------------------------------------------------------------------------------

# Which request types each action applies to.
_TYPES: Final[Mapping[type, frozenset[RequestType]]] = {
    IssueLetter: frozenset({RequestType.TRANSFER}),
    AcceptTransfer: frozenset({RequestType.TRANSFER}),
    ExpireLetter: frozenset({RequestType.TRANSFER}),
    CompleteStep: frozenset({RequestType.RECONNECT}),
    Complete: frozenset({RequestType.MOBILE, RequestType.RECONNECT}),
}

_REVIEW: Final = frozenset({RequestState.SUBMITTED, RequestState.NEEDS_INFO})

# States each action may start from (before type-specific detail).
_FROM: Final[Mapping[type, frozenset[RequestState]]] = {
    Accept: _REVIEW,
    Reject: _REVIEW,
    AskMore: _REVIEW,
    Answer: frozenset({RequestState.NEEDS_INFO}),
    Reopen: frozenset({RequestState.REJECTED}),
    Withdraw: frozenset(
        {
            RequestState.SUBMITTED,
            RequestState.NEEDS_INFO,
            RequestState.REJECTED,
            RequestState.ACCEPTED,
            RequestState.LETTER_EXPIRED,
        }
    ),
    IssueLetter: frozenset({RequestState.ACCEPTED, RequestState.LETTER_EXPIRED}),
    AcceptTransfer: frozenset({RequestState.LETTER_ISSUED}),
    ExpireLetter: frozenset({RequestState.LETTER_ISSUED}),
    CompleteStep: frozenset({RequestState.ACCEPTED}),
    Complete: frozenset({RequestState.ACTIVE, RequestState.ACCEPTED}),
    Cancel: frozenset(
        {RequestState.ACCEPTED, RequestState.LETTER_ISSUED, RequestState.LETTER_EXPIRED}
    ),
}


def is_letter_expired(snapshot: RequestSnapshot, now: datetime) -> bool:
    """Return whether the request's transfer letter is past its validity and not accepted."""
    if snapshot.state is RequestState.LETTER_EXPIRED:
        return True
    return (
        snapshot.state is RequestState.LETTER_ISSUED
        and snapshot.letter is not None
        and now >= snapshot.letter.expires_at
    )


def _home_role(actor: Actor) -> ActorRole | None:
    if actor.home_side:
        return ActorRole.HOME_SIDE
    if actor.admin_home:
        return ActorRole.ADMIN
    return None


def _receiving_role(
    request: RequestSnapshot, actor: Actor, is_requester: bool
) -> ActorRole | Refusal:
    """Only the receiving side accepts a transfer letter, never the side that issued it."""
    if is_requester:
        return Refusal(RefusalCode.OWN_REQUEST, "a member cannot accept their own transfer")
    letter = request.letter
    if actor.home_side or (letter is not None and letter.issued_by == actor.person_id):
        return Refusal(
            RefusalCode.ISSUING_BRANCH_CANNOT_ACCEPT,
            "the issuing side cannot accept its own letter",
        )
    if actor.receiving_side:
        return ActorRole.RECEIVING_SIDE
    if actor.admin_receiving:
        return ActorRole.ADMIN
    return Refusal(RefusalCode.NOT_ALLOWED_FOR_ROLE, "only the receiving side accepts")


def _role_for(request: RequestSnapshot, action: Action, actor: Actor) -> ActorRole | Refusal:
    """Return the capacity the actor may take this action in, or why they may not."""
    is_requester = actor.person_id == request.requester_id and not actor.system
    if isinstance(action, Answer | Withdraw):
        if is_requester:
            return ActorRole.REQUESTER
        return Refusal(RefusalCode.NOT_ALLOWED_FOR_ROLE, "only the member can do this")
    if isinstance(action, AcceptTransfer):
        return _receiving_role(request, actor, is_requester)
    if isinstance(action, ExpireLetter) and actor.system:
        return ActorRole.SYSTEM
    if isinstance(action, Complete) and request.type is RequestType.MOBILE and is_requester:
        return ActorRole.REQUESTER  # the member reports that the mobile period is over
    if is_requester:
        return Refusal(RefusalCode.OWN_REQUEST, "a member cannot decide their own request")
    role = _home_role(actor)
    if role is None:
        return Refusal(RefusalCode.NOT_ALLOWED_FOR_ROLE, "only the home side decides")
    return role


# --- payload checks: what an action's content or timing must be ----------------------------------


def _blank(text: str) -> bool:
    return not text.strip()


def _check_reason(
    request: RequestSnapshot, action: Reject | Cancel, now: datetime
) -> Refusal | None:
    if _blank(action.reason):
        return Refusal(RefusalCode.REASON_REQUIRED, "a reason is required")
    return None


def _check_question(request: RequestSnapshot, action: AskMore, now: datetime) -> Refusal | None:
    if _blank(action.question):
        return Refusal(RefusalCode.QUESTION_REQUIRED, "a question is required")
    return None


def _check_answer(request: RequestSnapshot, action: Answer, now: datetime) -> Refusal | None:
    if _blank(action.text):
        return Refusal(RefusalCode.ANSWER_REQUIRED, "an answer is required")
    return None


def _check_letter(request: RequestSnapshot, action: IssueLetter, now: datetime) -> Refusal | None:
    if _blank(action.number):
        return Refusal(RefusalCode.LETTER_NUMBER_REQUIRED, "the letter needs a number")
    if not 1 <= action.valid_days <= MAX_LETTER_DAYS:
        return Refusal(RefusalCode.INVALID_VALIDITY, f"validity must be 1..{MAX_LETTER_DAYS} days")
    return None


def _check_accept_transfer(
    request: RequestSnapshot, action: AcceptTransfer, now: datetime
) -> Refusal | None:
    if is_letter_expired(request, now):
        return Refusal(RefusalCode.LETTER_EXPIRED, "the letter has expired; re-issue it")
    return None


def _check_expire(request: RequestSnapshot, action: ExpireLetter, now: datetime) -> Refusal | None:
    if not is_letter_expired(request, now):
        return Refusal(RefusalCode.LETTER_NOT_EXPIRED, "the letter is still valid")
    return None


def _check_step(request: RequestSnapshot, action: CompleteStep, now: datetime) -> Refusal | None:
    detail = action.detail
    if isinstance(detail, EducationTalkHeld):
        if _blank(detail.held_by):
            return Refusal(RefusalCode.INVALID_DETAILS, "who held the talk is required")
        if detail.held_on > now.date():
            return Refusal(RefusalCode.INVALID_DETAILS, "the talk date is in the future")
    if isinstance(detail, DuesSettled) and detail.months < 0:
        return Refusal(RefusalCode.INVALID_DETAILS, "months must be >= 0")
    if isinstance(detail, AssignedTo) and _blank(detail.unit):
        return Refusal(RefusalCode.INVALID_DETAILS, "the branch or party group is required")
    return None


def _check_complete(request: RequestSnapshot, action: Complete, now: datetime) -> Refusal | None:
    if request.type is RequestType.RECONNECT and request.missing_steps:
        missing = ", ".join(request.missing_steps)
        return Refusal(RefusalCode.STEPS_INCOMPLETE, f"missing steps: {missing}")
    return None


PayloadCheck = Callable[[RequestSnapshot, Any, datetime], Refusal | None]
# Actions missing here carry nothing that could be wrong.
_PAYLOAD_CHECKS: Final[Mapping[type, PayloadCheck]] = {
    Reject: _check_reason,
    Cancel: _check_reason,
    AskMore: _check_question,
    Answer: _check_answer,
    IssueLetter: _check_letter,
    AcceptTransfer: _check_accept_transfer,
    ExpireLetter: _check_expire,
    CompleteStep: _check_step,
    Complete: _check_complete,
}


def apply(
    request: RequestSnapshot, action: Action, actor: Actor, now: datetime
) -> Transition | Refusal:
    """Apply an action by an actor at ``now``; return the transition or why it is refused."""
    if request.is_final:
        return Refusal(RefusalCode.FINAL_STATE, f"the request is {request.state}")
    types = _TYPES.get(type(action))
    if types is not None and request.type not in types:
        return Refusal(RefusalCode.WRONG_TYPE, f"not for {request.type} requests")
    role = _role_for(request, action, actor)
    if isinstance(role, Refusal):
        return role
    if request.state not in _FROM[type(action)]:
        return _state_refusal(request, action)
    check = _PAYLOAD_CHECKS.get(type(action))
    refusal = check(request, action, now) if check is not None else None
    if refusal is not None:
        return refusal
    return _transition(request, action, actor, role, now)


def _state_refusal(request: RequestSnapshot, action: Action) -> Refusal:
    if request.state is RequestState.REJECTED:
        return Refusal(RefusalCode.REJECTED_NEEDS_REOPEN, "reopen the request first")
    if request.state is RequestState.LETTER_EXPIRED and isinstance(action, AcceptTransfer):
        return Refusal(RefusalCode.LETTER_EXPIRED, "the letter has expired; re-issue it")
    return Refusal(RefusalCode.NOT_ALLOWED_IN_STATE, f"not possible while {request.state}")


# --- transitions: the new state, the event, who hears of it ---------------------------------------


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


def _transition(
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
