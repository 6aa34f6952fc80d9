"""What a record book says: plain, picklable data, so a worker process can render it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from bot.enums import PersonStatus, Role

# Why a photo is not embedded: it could not be downloaded, the CLI has no bot to download it
# with, a collection of many books leaves photos out, or the book would pass Telegram's limit.
PhotoNote = Literal["missing", "cli", "collection", "limit"]

# The earliest year a book may be asked for (/book and zhibu book).
FIRST_YEAR = 2000


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One person on the branch roster, with their leader role there if any."""

    name: str
    status: PersonStatus
    role: Role = Role.MEMBER


@dataclass(frozen=True, slots=True)
class Absence:
    """An absentee of an activity; `reason` is an AbsenceReason value or None."""

    name: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo (embedded when its bytes are at hand) or a document (named only)."""

    kind: str
    file_id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """One logged activity as the book shows it."""

    id: int
    day: dt.date
    kinds: tuple[str, ...]
    topic: str
    present: int
    expected: int
    place: str | None = None
    # The time of day of the meeting it records, when it was called with /meet.
    time: dt.time | None = None
    minutes: str | None = None
    party_group: str | None = None
    absences: tuple[Absence, ...] = ()
    # Names of who was there, only where the roster and the absentees determine them.
    present_names: tuple[str, ...] | None = None
    attachments: tuple[Attachment, ...] = ()
    late: bool = False
    voided: bool = False
    void_reason: str | None = None

    @property
    def photos(self) -> tuple[Attachment, ...]:
        """The photo attachments."""
        return tuple(a for a in self.attachments if a.kind == "photo")


@dataclass(frozen=True, slots=True)
class PeriodState:
    """One period of an obligation and where it stands (an ObligationState value)."""

    kind: str
    start: dt.date
    state: str
    dates: tuple[dt.date, ...] = ()


@dataclass(frozen=True, slots=True)
class ComplianceRow:
    """One obligation over the year: its rule and each period judged so far."""

    rule_key: str
    kind: str
    period: str
    min_count: int
    periods: tuple[PeriodState, ...]


@dataclass(frozen=True, slots=True)
class TrainingRecord:
    """Someone of the branch attended a training."""

    person: str
    title: str
    kind: str
    day: dt.date


@dataclass(frozen=True, slots=True)
class GradingRecord:
    """The branch in a grading campaign of the year."""

    campaign_id: int
    finalised: bool
    self_score: float | None
    final_score: float | None
    grade: str | None


@dataclass(frozen=True, slots=True)
class RectificationRecord:
    """A rectification item of the branch."""

    problem: str
    measures: str
    due_on: dt.date
    responsible: str
    done: bool
    done_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class DuesMonth:
    """One month of the branch's dues collection: totals only, never a member's amount."""

    month: int  # 1..12
    owing: int
    paid: int
    due_fen: int
    collected_fen: int


@dataclass(frozen=True, slots=True)
class DuesSummary:
    """The year's dues from the ledger: each month begun, and the totals the branch's
    yearly account states (and when that account was published, if it was)."""

    months: tuple[DuesMonth, ...]
    collected_fen: int
    payers: int
    members: int
    arrears_months: int
    published_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class BookFacts:
    """Everything one branch's record book for one year says."""

    branch_id: int
    branch_code: str
    branch_name: str
    branch_name_en: str | None
    year: int
    today: dt.date
    leaders: tuple[RosterEntry, ...]
    roster: tuple[RosterEntry, ...]
    activities: tuple[ActivityRecord, ...]
    compliance: tuple[ComplianceRow, ...]
    trainings: tuple[TrainingRecord, ...] = ()
    grading: tuple[GradingRecord, ...] = ()
    rectification: tuple[RectificationRecord, ...] = ()
    # None: nobody on the branch's dues roster has a standard for the year.
    dues: DuesSummary | None = None

    def name(self, locale: str) -> str:
        """The branch's name in the reader's language, falling back to Chinese."""
        return self.branch_name_en if locale == "en" and self.branch_name_en else self.branch_name

    @property
    def photo_ids(self) -> list[str]:
        """The file ids of every photo of the year's activities, in book order."""
        return [photo.file_id for activity in self.activities for photo in activity.photos]


@dataclass(frozen=True, slots=True)
class Copy:
    """Whose copy a book is: in their language, with absence reasons only for leaders."""

    locale: str
    time_zone: str
    with_reasons: bool
    # Photo bytes by file id; a photo not here is named with why: its own note, or the copy's.
    photos: dict[str, bytes] = field(default_factory=dict)
    notes: dict[str, PhotoNote] = field(default_factory=dict)
    photo_note: PhotoNote = "missing"
