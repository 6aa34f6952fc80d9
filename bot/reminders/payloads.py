"""What a reminder is about, typed: one dataclass per kind instead of a dict read by key.

The planner builds these, the reminders table stores them as JSON (`to_json`: the same keys as
before they were typed, leaving out what is unset), and rendering reads them back with
`payload_of(kind, json)`. Reading ignores keys it does not know and fills what a row may lack
with the field's default; a row missing a required field is unreadable (`PayloadError`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self, get_args, get_origin, get_type_hints

from bot.enums import PreparationStep, ReminderKind


class PayloadError(ValueError):
    """A stored payload that does not fit its kind."""


_PLAIN: dict[Any, Callable[[Any], Any]] = {
    dt.date: dt.date.fromisoformat,
    dt.datetime: dt.datetime.fromisoformat,
    bool: bool,
    int: int,
    str: str,
}


def _decoder(hint: Any) -> Callable[[Any], Any]:
    """How a JSON value becomes the field's type."""
    if get_origin(hint) in (types.UnionType, typing.Union):
        inner = [a for a in get_args(hint) if a is not type(None)]
        return _decoder(inner[0])
    if hint in _PLAIN:
        return _PLAIN[hint]
    if get_origin(hint) is Literal:
        words = get_args(hint)

        def literal(value: Any) -> Any:
            if value not in words:
                raise PayloadError(f"not one of {words}")
            return value

        return literal
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    raise TypeError(f"unsupported payload field type {hint!r}")


def _encode(value: Any) -> Any:
    if isinstance(value, dt.date):  # datetimes included
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() builds its answer on every call: a province's pass asks a million times.
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


@dataclass(frozen=True, slots=True, kw_only=True)
class Payload:
    """Base of the payloads: JSON in and out."""

    def to_json(self) -> dict[str, Any]:
        """The stored form: unset (None) and false flags are left out."""
        return {
            name: _encode(value)
            for name in _field_names(type(self))
            if (value := getattr(self, name)) is not None and value is not False
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload; PayloadError when a required field is missing or wrong."""
        values = {}
        for name, decode in _decoders(cls).items():
            if data.get(name) is None:
                continue  # the field's default, or a missing required field below
            try:
                values[name] = decode(data[name])
            except (TypeError, ValueError):
                # Named, never quoted: a payload may hold what someone wrote (logs carry ids).
                raise PayloadError(f"{cls.__name__}.{name} does not fit its type") from None
        try:
            return cls(**values)
        except TypeError as exc:
            raise PayloadError(f"{cls.__name__}: {exc}") from None


_DECODERS: dict[type, dict[str, Callable[[Any], Any]]] = {}


def _decoders(cls: type) -> dict[str, Callable[[Any], Any]]:
    """Each field's decoder, worked out once per class."""
    found = _DECODERS.get(cls)
    if found is None:
        hints = get_type_hints(cls)
        found = _DECODERS[cls] = {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(cls)}
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Deadline(Payload):
    """A reminder about the last day of something: `days` before it, or the day after it."""

    due_day: dt.date | None = None
    days: int | None = None
    overdue: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingPayload(Payload):
    """A training's invitation, its reminders (`lead` before it starts), or its cancellation."""

    training_id: int
    lead: Literal["24h", "1h"] | None = None
    cancelled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarPayload(Deadline):
    """A branch's calendar obligation (a rule in a period) not yet logged."""

    branch_id: int
    rule: str
    period: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InductionPayload(Deadline):
    """A new secretary's induction training deadline."""

    branch_id: int
    person_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationPayload(Payload):
    """To the admin: a branch's obligation (or its secretary's induction) is long overdue."""

    about: ReminderKind
    branch_id: int
    due_day: dt.date
    days_overdue: int
    rule: str | None = None
    period: str | None = None
    person_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TermPayload(Payload):
    """A branch committee's term ends `months` from now (the branch election is due)."""

    branch_id: int
    ends_on: dt.date
    months: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MobileReportPayload(Deadline):
    """A mobile member's yearly report to the home branch."""

    request_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GradingPayload(Deadline):
    """A branch's self-assessment, or (with `survey`) a member's satisfaction survey, is due."""

    campaign_id: int
    year: int
    branch_id: int
    survey: bool = False


GradingEvent = Literal["opened", "graded"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GradingNews(Payload):
    """News for a branch's leaders: a grading campaign opened, or the branch was graded."""

    campaign_id: int
    year: int
    branch_id: int
    event: GradingEvent
    deadline: dt.datetime | None = None
    grade: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RectificationPayload(Deadline):
    """A rectification item's deadline; `title` is the problem as it was written."""

    branch_id: int
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestPayload(Payload):
    """The weekly digest: what it lists is read when it is sent."""


MeetingEvent = Literal["invite", "moved", "cancelled", "ask", "soon", "log"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingPayload(Payload):
    """A meeting called with /meet: its invitation, word that it moved (from `moved_from`) or
    is off, the reminders before it (`ask`: not answered yet, `soon`: coming), and the caller's
    "log this meeting?". `starts_at` is the start it was planned for."""

    meeting_id: int
    event: MeetingEvent
    starts_at: dt.datetime | None = None
    moved_from: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparationPayload(Deadline):
    """A step of preparing the year's organisational life meeting, not yet marked done."""

    branch_id: int
    year: int
    step: PreparationStep


@dataclass(frozen=True, slots=True, kw_only=True)
class ThemedDayPayload(Payload):
    """The branch's themed Party day is on `day` and not yet logged this month."""

    branch_id: int
    day: dt.date


@dataclass(frozen=True, slots=True, kw_only=True)
class DuesPayload(Deadline):
    """A member's dues for a month (`month`: 2026-11) on the branch's collection day, with
    what they owed before it when the reminder was planned."""

    branch_id: int
    person_id: int
    month: str
    amount_fen: int
    months_owed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DuesCollectionPayload(Deadline):
    """To a branch's leaders: the collection of a period (2026-11 or 2026-Q4) is not complete."""

    branch_id: int
    period: str
    unpaid: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DuesAccountPayload(Payload):
    """The branch's yearly dues account, published to its members (totals only)."""

    branch_id: int
    year: int
    collected_fen: int
    payers: int
    arrears_months: int
    members: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LapsePayload(Payload):
    """A member with no organisational life and no dues for `months` whole months since
    `since` (2026-08); `last_part` and `last_paid` are the last months of each, if any."""

    branch_id: int
    person_id: int
    since: str
    months: int
    last_part: str | None = None
    last_paid: str | None = None
    mobile: bool = False
    escalated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LostContactPayload(Payload):
    """A lost-contact register row's timer: `months` since the member lost contact on
    `lost_on`; the branch and the admin decide (the person, when the row names one)."""

    branch_id: int
    entry_id: int
    lost_on: dt.date
    months: int
    person_id: int | None = None


ReminderPayload = (
    TrainingPayload
    | CalendarPayload
    | InductionPayload
    | EscalationPayload
    | TermPayload
    | MobileReportPayload
    | GradingPayload
    | GradingNews
    | RectificationPayload
    | DigestPayload
    | MeetingPayload
    | PreparationPayload
    | ThemedDayPayload
    | DuesPayload
    | DuesCollectionPayload
    | DuesAccountPayload
    | LapsePayload
    | LostContactPayload
)

_BY_KIND: dict[ReminderKind, type[Payload]] = {
    ReminderKind.TRAINING: TrainingPayload,
    ReminderKind.TRAINING_INVITE: TrainingPayload,
    ReminderKind.CALENDAR: CalendarPayload,
    ReminderKind.ESCALATION: EscalationPayload,
    ReminderKind.INDUCTION: InductionPayload,
    ReminderKind.TERM: TermPayload,
    ReminderKind.MOBILE_REPORT: MobileReportPayload,
    ReminderKind.GRADING: GradingPayload,
    ReminderKind.RECTIFICATION: RectificationPayload,
    ReminderKind.DIGEST: DigestPayload,
    ReminderKind.MEETING_NEWS: MeetingPayload,
    ReminderKind.MEETING: MeetingPayload,
    ReminderKind.PREPARATION: PreparationPayload,
    ReminderKind.THEMED_DAY: ThemedDayPayload,
    ReminderKind.DUES: DuesPayload,
    ReminderKind.DUES_COLLECTION: DuesCollectionPayload,
    ReminderKind.DUES_ACCOUNT: DuesAccountPayload,
    ReminderKind.LAPSE: LapsePayload,
    ReminderKind.LOST_CONTACT: LostContactPayload,
}


def payload_of(kind: str, data: Mapping[str, Any]) -> ReminderPayload:
    """A stored reminder's payload, typed by its kind; PayloadError when it does not fit."""
    try:
        reminder_kind = ReminderKind(kind)
    except ValueError:
        raise PayloadError("unknown reminder kind") from None
    cls = _BY_KIND.get(reminder_kind)
    if cls is None:
        raise PayloadError("no reminder is stored of this kind")
    if reminder_kind is ReminderKind.GRADING and "event" in data:
        cls = GradingNews
    return typing.cast(ReminderPayload, cls.from_json(data))
