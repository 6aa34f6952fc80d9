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
    IssueLetter,
    Refusal,
    RefusalCode,
    Reject,
    Reopen,
    RequestSnapshot,
    Transition,
    Withdraw,
)
from bot.relink.transitions import transition

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
    return transition(request, action, actor, role, now)


def _state_refusal(request: RequestSnapshot, action: Action) -> Refusal:
    if request.state is RequestState.REJECTED:
        return Refusal(RefusalCode.REJECTED_NEEDS_REOPEN, "reopen the request first")
    if request.state is RequestState.LETTER_EXPIRED and isinstance(action, AcceptTransfer):
        return Refusal(RefusalCode.LETTER_EXPIRED, "the letter has expired; re-issue it")
    return Refusal(RefusalCode.NOT_ALLOWED_IN_STATE, f"not possible while {request.state}")
