"""The vocabulary of relink requests: who acts, what they do, and what a request looks like.

Pure data (no rules): the state machine in bot.relink.machine decides which of these actions
is legal for whom, and returns the events and refusals declared here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
