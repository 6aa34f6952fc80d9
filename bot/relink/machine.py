"""Requests of mobile and lost-contact members: a pure state machine, and register matching.

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

import difflib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from bot.enums import FINAL_STATES, ReconnectStep, RequestState, RequestType

DEFAULT_LETTER_DAYS: Final = 30
MAX_LETTER_DAYS: Final = 90  # "3 months at most" (domain.md)


class ActorRole(StrEnum):
    """The capacity an actor acted in, as recorded in events."""

    REQUESTER = "requester"
    HOME_SIDE = "home_side"
    RECEIVING_SIDE = "receiving_side"
    ADMIN = "admin"
    SYSTEM = "system"


class Audience(StrEnum):
    """Who should be told about an event; the notifier skips the actor themself."""

    REQUESTER = "requester"
    HOME_SIDE = "home_side"
    RECEIVING_SIDE = "receiving_side"


class RefusalCode(StrEnum):
    """Stable, machine-readable reasons for refusing an action."""

    FINAL_STATE = "final_state"
    WRONG_TYPE = "wrong_type"
    OWN_REQUEST = "own_request"
    NOT_ALLOWED_FOR_ROLE = "not_allowed_for_role"
    ISSUING_BRANCH_CANNOT_ACCEPT = "issuing_branch_cannot_accept"
    REJECTED_NEEDS_REOPEN = "rejected_needs_reopen"
    NOT_ALLOWED_IN_STATE = "not_allowed_in_state"
    LETTER_EXPIRED = "letter_expired"
    LETTER_NOT_EXPIRED = "letter_not_expired"
    STEPS_INCOMPLETE = "steps_incomplete"
    REASON_REQUIRED = "reason_required"
    QUESTION_REQUIRED = "question_required"
    ANSWER_REQUIRED = "answer_required"
    LETTER_NUMBER_REQUIRED = "letter_number_required"
    INVALID_VALIDITY = "invalid_validity"
    INVALID_DETAILS = "invalid_details"
    RECEIVING_BRANCH_REQUIRED = "receiving_branch_required"
    SAME_BRANCH = "same_branch"


class EventKind(StrEnum):
    """What happened, for the audit log and notifications."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASKED_MORE = "asked_more"
    ANSWERED = "answered"
    REOPENED = "reopened"
    LETTER_ISSUED = "letter_issued"
    LETTER_EXPIRED = "letter_expired"
    TRANSFER_ACCEPTED = "transfer_accepted"
    STEP_RECORDED = "step_recorded"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Actor:
    """Facts about whoever acts, computed by the caller from roles and the organisation tree.

    Whether the actor is the requester is not a flag: the machine compares ``person_id`` with
    the request's requester, so the two can never disagree.
    """

    person_id: int
    home_side: bool = False  # secretary or deputy of the home branch
    receiving_side: bool = False  # secretary or deputy of the receiving (or local) branch
    admin_home: bool = False  # admin whose subtree contains the home branch
    admin_receiving: bool = False  # admin whose subtree contains the receiving branch
    system: bool = False  # a scheduled job, e.g. flagging expired letters

    @classmethod
    def system_job(cls) -> Actor:
        """Return the actor used by scheduled jobs."""
        return cls(person_id=0, system=True)


# --- step details --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentityConfirmed:
    """Name, join date and original branch were checked."""

    note: str = ""
    step: ReconnectStep = field(default=ReconnectStep.IDENTITY, init=False)


@dataclass(frozen=True, slots=True)
class EducationTalkHeld:
    """The mandatory education talk (教育谈话) took place."""

    held_on: date
    held_by: str
    step: ReconnectStep = field(default=ReconnectStep.EDUCATION_TALK, init=False)


@dataclass(frozen=True, slots=True)
class DuesSettled:
    """Dues arrears were paid; ``months`` may be 0 when there were none."""

    months: int
    step: ReconnectStep = field(default=ReconnectStep.DUES, init=False)


@dataclass(frozen=True, slots=True)
class AssignedTo:
    """The member was assigned to a branch or party group."""

    unit: str
    step: ReconnectStep = field(default=ReconnectStep.ASSIGNMENT, init=False)


@dataclass(frozen=True, slots=True)
class SystemFlagCleared:
    """The national member system's "lost contact" flag was cleared by the secretary."""

    note: str = ""
    step: ReconnectStep = field(default=ReconnectStep.SYSTEM_FLAG, init=False)


StepDetail = IdentityConfirmed | EducationTalkHeld | DuesSettled | AssignedTo | SystemFlagCleared


@dataclass(frozen=True, slots=True)
class StepRecord:
    """A recorded reconnect step."""

    detail: StepDetail
    recorded_by: int
    recorded_at: datetime


# --- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accept:
    """Home side accepts the request."""


@dataclass(frozen=True, slots=True)
class Reject:
    """Home side rejects the request, with a reason for the member."""

    reason: str


@dataclass(frozen=True, slots=True)
class AskMore:
    """Home side asks the member for more information."""

    question: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The member answers a question; the request goes back to review."""

    text: str


@dataclass(frozen=True, slots=True)
class Reopen:
    """Home side reopens a rejected request for review."""

    note: str = ""


@dataclass(frozen=True, slots=True)
class Withdraw:
    """The member withdraws their request."""


@dataclass(frozen=True, slots=True)
class IssueLetter:
    """Home side issues (or re-issues) the transfer letter."""

    number: str
    valid_days: int = DEFAULT_LETTER_DAYS


@dataclass(frozen=True, slots=True)
class AcceptTransfer:
    """Receiving side accepts the transfer letter: the member moves."""


@dataclass(frozen=True, slots=True)
class ExpireLetter:
    """Flag a letter past its validity as expired (a job or the home side)."""


@dataclass(frozen=True, slots=True)
class CompleteStep:
    """Home side records one reconnect step."""

    detail: StepDetail


@dataclass(frozen=True, slots=True)
class Complete:
    """End a mobile period, or finish a reconnect whose steps are all recorded."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """Home side cancels an accepted request (voiding any letter), with a reason."""

    reason: str


Action = (
    Accept
    | Reject
    | AskMore
    | Answer
    | Reopen
    | Withdraw
    | IssueLetter
    | AcceptTransfer
    | ExpireLetter
    | CompleteStep
    | Complete
    | Cancel
)


# --- snapshot, events, results -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Letter:
    """A transfer letter (介绍信); issuing it does not move the member, accepting it does."""

    number: str
    issued_at: datetime
    valid_days: int
    issued_by: int

    @property
    def expires_at(self) -> datetime:
        """Return the moment the letter stops being valid (issue time + validity days)."""
        return self.issued_at + timedelta(days=self.valid_days)


@dataclass(frozen=True, slots=True)
class RequestSnapshot:
    """The stored state of one request; ``version`` grows by one with every transition."""

    id: int
    type: RequestType
    state: RequestState
    requester_id: int
    home_branch: str
    receiving_branch: str | None  # transfer: receiving branch; mobile: optional local branch
    submitted_at: datetime
    updated_at: datetime
    version: int = 1
    note: str = ""
    question: str | None = None  # open question while needs_info
    reason: str | None = None  # last rejection or cancellation reason
    letter: Letter | None = None
    letters_issued: int = 0
    steps: tuple[StepRecord, ...] = ()
    accepted_by: int | None = None
    transfer_accepted_by: int | None = None

    @property
    def missing_steps(self) -> tuple[ReconnectStep, ...]:
        """Return the reconnect steps not recorded yet, in order."""
        done = {record.detail.step for record in self.steps}
        return tuple(step for step in ReconnectStep if step not in done)

    @property
    def is_final(self) -> bool:
        """Return whether no action can change the request any more."""
        return self.state in FINAL_STATES


@dataclass(frozen=True, slots=True)
class Event:
    """One transition, for the audit log and for notifications."""

    request_id: int
    kind: EventKind
    actor_id: int
    actor_role: ActorRole
    from_state: RequestState | None
    to_state: RequestState
    at: datetime
    notify: frozenset[Audience]
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transition:
    """A successful action: the new snapshot and the event to store and send."""

    snapshot: RequestSnapshot
    event: Event


@dataclass(frozen=True, slots=True)
class Refusal:
    """An illegal action; ``code`` is stable, ``detail`` is English for logs only."""

    code: RefusalCode
    detail: str = ""


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

# Decisions of the home side: never by the requester, even when they are a secretary.
_HOME_DECISIONS: Final = (
    Accept,
    Reject,
    AskMore,
    Reopen,
    IssueLetter,
    CompleteStep,
    Cancel,
)


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


def _role_for(request: RequestSnapshot, action: Action, actor: Actor) -> ActorRole | Refusal:
    """Return the capacity the actor may take this action in, or why they may not."""
    is_requester = actor.person_id == request.requester_id and not actor.system
    if isinstance(action, Answer | Withdraw):
        if is_requester:
            return ActorRole.REQUESTER
        return Refusal(RefusalCode.NOT_ALLOWED_FOR_ROLE, "only the member can do this")
    if isinstance(action, AcceptTransfer):
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


def _blank(text: str) -> bool:
    return not text.strip()


def _check_payload(request: RequestSnapshot, action: Action, now: datetime) -> Refusal | None:
    """Return why the action's content or timing is not acceptable, if it is not."""
    if isinstance(action, Reject | Cancel) and _blank(action.reason):
        return Refusal(RefusalCode.REASON_REQUIRED, "a reason is required")
    if isinstance(action, AskMore) and _blank(action.question):
        return Refusal(RefusalCode.QUESTION_REQUIRED, "a question is required")
    if isinstance(action, Answer) and _blank(action.text):
        return Refusal(RefusalCode.ANSWER_REQUIRED, "an answer is required")
    if isinstance(action, IssueLetter):
        if _blank(action.number):
            return Refusal(RefusalCode.LETTER_NUMBER_REQUIRED, "the letter needs a number")
        if not 1 <= action.valid_days <= MAX_LETTER_DAYS:
            return Refusal(
                RefusalCode.INVALID_VALIDITY, f"validity must be 1..{MAX_LETTER_DAYS} days"
            )
    if isinstance(action, AcceptTransfer) and is_letter_expired(request, now):
        return Refusal(RefusalCode.LETTER_EXPIRED, "the letter has expired; re-issue it")
    if isinstance(action, ExpireLetter) and not is_letter_expired(request, now):
        return Refusal(RefusalCode.LETTER_NOT_EXPIRED, "the letter is still valid")
    if isinstance(action, CompleteStep):
        return _check_step(action.detail, now)
    if (
        isinstance(action, Complete)
        and request.type is RequestType.RECONNECT
        and request.missing_steps
    ):
        missing = ", ".join(request.missing_steps)
        return Refusal(RefusalCode.STEPS_INCOMPLETE, f"missing steps: {missing}")
    return None


def _check_step(detail: StepDetail, now: datetime) -> Refusal | None:
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
    refusal = _check_payload(request, action, now)
    if refusal is not None:
        return refusal
    return _transition(request, action, actor, role, now)


def _state_refusal(request: RequestSnapshot, action: Action) -> Refusal:
    if request.state is RequestState.REJECTED:
        return Refusal(RefusalCode.REJECTED_NEEDS_REOPEN, "reopen the request first")
    if request.state is RequestState.LETTER_EXPIRED and isinstance(action, AcceptTransfer):
        return Refusal(RefusalCode.LETTER_EXPIRED, "the letter has expired; re-issue it")
    return Refusal(RefusalCode.NOT_ALLOWED_IN_STATE, f"not possible while {request.state}")


def _notify(*audiences: Audience) -> frozenset[Audience]:
    return frozenset(audiences)


def _transition(
    request: RequestSnapshot, action: Action, actor: Actor, role: ActorRole, now: datetime
) -> Transition:
    """Build the new snapshot and event for an action that passed every check."""
    has_other = request.receiving_branch is not None
    other = (Audience.RECEIVING_SIDE,) if has_other else ()
    snapshot = request
    details: dict[str, str] = {}
    match action:
        case Accept():
            to = (
                RequestState.ACTIVE if request.type is RequestType.MOBILE else RequestState.ACCEPTED
            )
            kind, notify = EventKind.ACCEPTED, _notify(Audience.REQUESTER, *other)
            snapshot = replace(request, accepted_by=actor.person_id, question=None)
        case Reject(reason=reason):
            to, kind = RequestState.REJECTED, EventKind.REJECTED
            notify = _notify(Audience.REQUESTER)
            snapshot = replace(request, reason=reason.strip(), question=None)
            details = {"reason": reason.strip()}
        case AskMore(question=question):
            to, kind = RequestState.NEEDS_INFO, EventKind.ASKED_MORE
            notify = _notify(Audience.REQUESTER)
            snapshot = replace(request, question=question.strip())
            details = {"question": question.strip()}
        case Answer(text=text):
            to, kind = RequestState.SUBMITTED, EventKind.ANSWERED
            notify = _notify(Audience.HOME_SIDE)
            snapshot = replace(request, question=None)
            details = {"question": request.question or "", "answer": text.strip()}
        case Reopen(note=note):
            to, kind = RequestState.SUBMITTED, EventKind.REOPENED
            notify = _notify(Audience.REQUESTER)
            snapshot = replace(request, reason=None)
            details = {"note": note.strip()} if note.strip() else {}
        case Withdraw():
            to, kind = RequestState.WITHDRAWN, EventKind.WITHDRAWN
            letter_out = request.letter is not None
            notify = _notify(Audience.HOME_SIDE, *(other if letter_out else ()))
        case IssueLetter(number=number, valid_days=days):
            to, kind = RequestState.LETTER_ISSUED, EventKind.LETTER_ISSUED
            notify = _notify(Audience.REQUESTER, Audience.RECEIVING_SIDE)
            letter = Letter(number.strip(), now, days, actor.person_id)
            snapshot = replace(request, letter=letter, letters_issued=request.letters_issued + 1)
            details = {
                "number": letter.number,
                "valid_days": str(days),
                "expires_at": letter.expires_at.isoformat(),
            }
            if request.letter is not None:
                details["replaces"] = request.letter.number
        case AcceptTransfer():
            to, kind = RequestState.COMPLETED, EventKind.TRANSFER_ACCEPTED
            notify = _notify(Audience.REQUESTER, Audience.HOME_SIDE)
            snapshot = replace(request, transfer_accepted_by=actor.person_id)
            details = {"number": request.letter.number if request.letter else ""}
        case ExpireLetter():
            to, kind = RequestState.LETTER_EXPIRED, EventKind.LETTER_EXPIRED
            notify = _notify(Audience.REQUESTER, Audience.HOME_SIDE, Audience.RECEIVING_SIDE)
            details = {"number": request.letter.number if request.letter else ""}
        case CompleteStep(detail=detail):
            to, kind = request.state, EventKind.STEP_RECORDED
            notify = _notify(Audience.REQUESTER)
            # A step recorded again replaces the earlier record (a correction); the audit log
            # keeps both events.
            kept = tuple(r for r in request.steps if r.detail.step is not detail.step)
            snapshot = replace(request, steps=(*kept, StepRecord(detail, actor.person_id, now)))
            details = _step_details(detail)
        case Complete():
            to, kind = RequestState.COMPLETED, EventKind.COMPLETED
            notify = _notify(Audience.REQUESTER, Audience.HOME_SIDE, *other)
        case Cancel(reason=reason):
            to, kind = RequestState.CANCELLED, EventKind.CANCELLED
            letter_out = request.letter is not None
            notify = _notify(Audience.REQUESTER, *(other if letter_out else ()))
            snapshot = replace(request, reason=reason.strip())
            details = {"reason": reason.strip()}
    snapshot = replace(snapshot, state=to, updated_at=now, version=request.version + 1)
    event = Event(request.id, kind, actor.person_id, role, request.state, to, now, notify, details)
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


# --- matching lost-contact members against the register ------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """A member as listed in the register (only what matching needs)."""

    person_id: int
    name: str
    branch_code: str | None = None
    join_year: int | None = None


class MatchReason(StrEnum):
    """Why a register row was proposed."""

    NAME_EXACT = "name_exact"
    SURNAME_AND_SIMILAR_GIVEN_NAME = "surname_and_similar_given_name"
    NAME_ONE_EDIT = "name_one_edit"
    SAME_BRANCH = "same_branch"
    SAME_JOIN_YEAR = "same_join_year"
    JOIN_YEAR_OFF_BY_ONE = "join_year_off_by_one"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A register row that may be the lost-contact member; the secretary confirms."""

    row: RegisterRow
    score: float  # 0..1; name tiers never overlap: exact >= 0.7 > similar >= 0.4 > one edit
    reasons: tuple[MatchReason, ...]


# Two-character surnames seen often enough that splitting after one character would be wrong.
COMPOUND_SURNAMES: Final = frozenset(
    [
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "司徒",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "夏侯",
        "令狐",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "轩辕",
        "呼延",
        "澹台",
        "公冶",
        "太史",
        "申屠",
        "闻人",
        "濮阳",
        "钟离",
        "宗政",
        "万俟",
    ]
)
_NAME_TIERS: Final = {
    MatchReason.NAME_EXACT: 0.7,
    MatchReason.SURNAME_AND_SIMILAR_GIVEN_NAME: 0.4,
    MatchReason.NAME_ONE_EDIT: 0.1,
}
_SIMILAR_GIVEN_NAME: Final = 0.5  # difflib ratio; "小明" vs "晓明" is 0.5
_SEPARATORS: Final = frozenset("·•・.-‧")


def normalise_name(name: str) -> str:
    """Fold width and case and drop spaces and name dots, so "张　三" == "张 三" == "张三"."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(c for c in folded if not c.isspace() and c not in _SEPARATORS)


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def _split_surname(name: str) -> tuple[str, str]:
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


def _within_one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def _name_tier(query: str, other: str) -> MatchReason | None:
    if not query or not other:
        return None
    if query == other:
        return MatchReason.NAME_EXACT
    if _is_cjk(query[0]) and _is_cjk(other[0]):
        surname, given = _split_surname(query)
        other_surname, other_given = _split_surname(other)
        if surname == other_surname and given and other_given:
            ratio = difflib.SequenceMatcher(None, given, other_given).ratio()
            if ratio >= _SIMILAR_GIVEN_NAME:
                return MatchReason.SURNAME_AND_SIMILAR_GIVEN_NAME
    if _within_one_edit(query, other):
        return MatchReason.NAME_ONE_EDIT
    return None


def match_lost_contact(
    name: str,
    branch_code: str | None,
    join_year: int | None,
    register_rows: Iterable[RegisterRow],
    *,
    limit: int = 5,
) -> list[Candidate]:
    """Rank register rows that may be the member who lost contact, best first.

    A row needs a name match (exact, same surname with a similar given name, or one character
    off); the same branch (+0.2) and join year (+0.1, or +0.05 one year off) then rank rows of the
    same name tier. Traditional/simplified variants are not matched.
    """
    query = normalise_name(name)
    ranked: list[tuple[int, float, int, Candidate]] = []
    for row in register_rows:
        tier = _name_tier(query, normalise_name(row.name))
        if tier is None:
            continue
        reasons = [tier]
        score = _NAME_TIERS[tier]
        if branch_code and row.branch_code == branch_code:
            reasons.append(MatchReason.SAME_BRANCH)
            score += 0.2
        if join_year is not None and row.join_year is not None:
            if row.join_year == join_year:
                reasons.append(MatchReason.SAME_JOIN_YEAR)
                score += 0.1
            elif abs(row.join_year - join_year) == 1:
                reasons.append(MatchReason.JOIN_YEAR_OFF_BY_ONE)
                score += 0.05
        rank = -list(_NAME_TIERS).index(tier)
        candidate = Candidate(row, round(score, 4), tuple(reasons))
        ranked.append((rank, candidate.score, -row.person_id, candidate))
    ranked.sort(key=lambda entry: entry[:3], reverse=True)
    return [entry[3] for entry in ranked[:limit]]
