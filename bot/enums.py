"""The shared vocabulary: enumerations stored in the database and used by every layer.

A leaf module: it imports nothing of the project, so the pure rules, the services and the
storage models can all name a role or a request state without depending on one another.
The values are stable keys (database columns, callback data, dedupe keys): never rename one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class OrgKind(StrEnum):
    """Levels of the organisation tree."""

    COMMITTEE = "committee"
    GENERAL_BRANCH = "general_branch"
    BRANCH = "branch"
    PARTY_GROUP = "party_group"


class PersonStatus(StrEnum):
    """Membership status of a person on a roster."""

    REGULAR = "regular"
    MOBILE = "mobile"
    LOST_CONTACT = "lost_contact"


class Role(StrEnum):
    """Roles; admin applies to a subtree, secretary, deputy and committee member to a branch,
    group leader to a party group."""

    ADMIN = "admin"
    SECRETARY = "secretary"
    DEPUTY = "deputy"
    MEMBER = "member"
    # A member of the branch committee (支部委员) besides the secretary and deputy.
    COMMITTEE = "committee"
    # The leader of a party group (党小组长): calls the group's meetings.
    GROUP_LEADER = "group_leader"


class CampaignStatus(StrEnum):
    """A campaign is open until the admin finalises the grades."""

    OPEN = "open"
    FINALISED = "finalised"


class SurveyGroup(StrEnum):
    """Who answered a satisfaction survey."""

    MEMBER = "member"
    MASS = "mass"
    # Members judging a finished rectification item.
    RECTIFICATION = "rectification"


class RectificationStatus(StrEnum):
    """Progress of one rectification item."""

    OPEN = "open"
    DONE = "done"


class NoticeAudience(StrEnum):
    """Who a notice goes to, within the admin's subtree."""

    EVERYONE = "everyone"
    SECRETARIES = "secretaries"
    COMMITTEE = "committee"
    MEMBERS = "members"
    MOBILE = "mobile"
    BRANCHES = "branches"


class NoticeState(StrEnum):
    """A notice's life: waiting for its time, going out, finished or stopped."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    """One recipient's copy of a notice."""

    PENDING = "pending"
    # Claimed and committed just before the HTTP call: the only state a crash can leave open.
    SENDING = "sending"
    SENT = "sent"
    # Was in flight when the process died: counted as delivered, never sent again (see
    # bot.delivery for why), and listed so an admin can re-send.
    UNCONFIRMED = "unconfirmed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"


class MediaKind(StrEnum):
    """An optional attachment sent with the notice."""

    PHOTO = "photo"
    DOCUMENT = "document"


class ReminderState(StrEnum):
    """A reminder's life."""

    PENDING = "pending"
    # Claimed and committed just before the HTTP call: the only state a crash can leave open.
    SENDING = "sending"
    SENT = "sent"
    # Was in flight when its process died: counted as delivered and never sent again, because
    # a repeated reminder is worse than a missing one (the digest still lists the subject).
    UNCONFIRMED = "unconfirmed"
    # Soft items are not sent on their own to someone who gets the weekly digest.
    IN_DIGEST = "in_digest"
    MUTED = "muted"
    # The planner no longer wants it (the obligation was done, the training cancelled...).
    CANCELLED = "cancelled"
    # Obsolete at send time (the training already started) or the recipient blocked the bot.
    SKIPPED = "skipped"
    FAILED = "failed"


class ReminderKind(StrEnum):
    """What a reminder is about; the values are stable keys (settings buttons, dedupe keys)."""

    TRAINING_INVITE = "training_invite"
    TRAINING = "training"
    CALENDAR = "calendar"
    ESCALATION = "escalation"
    INDUCTION = "induction"
    TERM = "term"
    GRADING = "grading"
    RECTIFICATION = "rectification"
    MOBILE_REPORT = "mobile_report"
    DIGEST = "digest"
    # Meetings called with /meet: invitations and word of a move or a cancellation, and the
    # secretary's "log this meeting?" (answers, so they cannot be muted) ...
    MEETING_NEWS = "meeting_news"
    # ... and the reminders before one (24 hours and 1 hour).
    MEETING = "meeting"
    # The organisational life meeting's preparation steps, and the themed Party day's date.
    PREPARATION = "preparation"
    THEMED_DAY = "themed_day"
    # Not a kind of row: a deputy's opt-out of the branch's calendar reminders (/reminders).
    DEPUTY_CALENDAR = "deputy_calendar"
    # Party dues: a member's monthly reminder, the branch's collection for its leaders, the
    # yearly account published to members, warnings before a member lapses, and the timers
    # the lost-contact register starts.
    DUES = "dues"
    DUES_COLLECTION = "dues_collection"
    DUES_ACCOUNT = "dues_account"
    LAPSE = "lapse"
    LOST_CONTACT = "lost_contact"


class TrainingAudience(StrEnum):
    """Who is invited to a training, within the organiser's chosen node."""

    SECRETARIES = "secretaries"
    COMMITTEE = "committee"
    EVERYONE = "everyone"


class TrainingKind(StrEnum):
    """Rotation training (轮训) or induction training (任职培训) for new secretaries."""

    ROTATION = "rotation"
    INDUCTION = "induction"


class BranchCategory(StrEnum):
    """Village and community branches serve five-year terms, the others three."""

    VILLAGE = "village"
    COMMUNITY = "community"
    OTHER = "other"


class RequestType(StrEnum):
    """What the member asks for."""

    MOBILE = "mobile"
    TRANSFER = "transfer"
    RECONNECT = "reconnect"


class RequestState(StrEnum):
    """Where a request stands."""

    SUBMITTED = "submitted"
    NEEDS_INFO = "needs_info"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    ACTIVE = "active"
    LETTER_ISSUED = "letter_issued"
    LETTER_EXPIRED = "letter_expired"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


FINAL_STATES: Final = frozenset(
    {RequestState.COMPLETED, RequestState.WITHDRAWN, RequestState.CANCELLED}
)


class ReconnectStep(StrEnum):
    """Steps of re-linking a lost-contact member, all required."""

    IDENTITY = "identity"
    EDUCATION_TALK = "education_talk"
    DUES = "dues"
    ASSIGNMENT = "assignment"
    SYSTEM_FLAG = "system_flag"


class LeaveReason(StrEnum):
    """Why a member is excused from organisational life for some months (not counted as
    missing by the lapse warning)."""

    SICK = "sick"
    EXCUSED = "excused"


class DuesVoidReason(StrEnum):
    """Why a dues entry was voided (it stays in the ledger, marked void)."""

    MISTAKE = "mistake"
    NOT_PAID = "not_paid"
    DUPLICATE = "duplicate"
    REPLACED = "replaced"


class DeletionState(StrEnum):
    """A person's request to delete their data (/forgetme), decided by an admin."""

    OPEN = "open"
    DONE = "done"
    DECLINED = "declined"


class CommitteePost(StrEnum):
    """A branch committee member's post (组织委员, 宣传委员 ...)."""

    ORGANISATION = "organisation"
    PROPAGANDA = "propaganda"
    DISCIPLINE = "discipline"
    YOUTH = "youth"
    WOMEN = "women"
    OTHER = "other"


class MeetingAudience(StrEnum):
    """Who a meeting called with /meet invites."""

    BRANCH = "branch"
    COMMITTEE = "committee"
    PARTY_GROUP = "party_group"
    CHOSEN = "chosen"


class Rsvp(StrEnum):
    """An invitee's answer to a meeting (none yet is NULL)."""

    YES = "yes"
    # Mobile members may join from where they are.
    REMOTE = "remote"
    NO = "no"
    LATER = "later"


class PreparationStep(StrEnum):
    """The organisational life meeting's preparation, in order."""

    STUDY = "study"
    TALKS = "talks"
    OPINIONS = "opinions"
    MEETING = "meeting"
