"""Reminders (one row per message to one recipient), their settings, trainings and branch terms.

The reminders table is the source of truth: the planner inserts rows keyed by a dedupe key
(inserting the same one twice does nothing) and the engine claims due rows, sends them and
records the outcome. Nothing about what is pending lives only in memory or in APScheduler.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.enums import BranchCategory, ReminderState, TrainingAudience, TrainingKind
from storage.models import Base, OrgUnit, UTCDateTime, _enum, utcnow


class Reminder(Base):
    """One message to one recipient at one time, sent at most once."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_state_due_at", "state", "due_at"),
        Index("ix_reminders_account_id_deadline", "account_id", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not a foreign key: checking it was half of writing a province's reminders at the end of a
    # year (800,000 rows). Each is planned for an account its transaction read, and accounts
    # are deleted only when nothing refers to them, this column included (privacy_queries).
    account_id: Mapped[int] = mapped_column(Integer, info={"references": "accounts.id"})
    kind: Mapped[str] = mapped_column(String(24))
    # What the reminder is about ("cal:12:general_meeting:2026-Q4"): one line in the digest,
    # and the unit the planner cancels when the obligation is done.
    subject: Mapped[str] = mapped_column(String(160), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The deadline the reminder is about, if any (the digest sorts and groups by it).
    deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A hard deadline within 24 hours: ignores quiet hours and cannot be muted.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Listed in the weekly digest instead of sent on its own (to digest readers).
    soft: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[ReminderState] = mapped_column(
        _enum(ReminderState, "reminder_state"), default=ReminderState.PENDING
    )
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    # How many reminders went out in the same message (1 unless coalesced).
    batch_size: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderSettings(Base):
    """One account's reminder preferences; NULL means the organisation's default."""

    __tablename__ = "reminder_settings"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    muted: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Minutes after local midnight.
    quiet_start: Mapped[int | None] = mapped_column(SmallInteger)
    quiet_end: Mapped[int | None] = mapped_column(SmallInteger)
    # ISO weekday 1-7 and local hour of the weekly digest.
    digest_weekday: Mapped[int | None] = mapped_column(SmallInteger)
    digest_hour: Mapped[int | None] = mapped_column(SmallInteger)


class Training(Base):
    """A training an admin scheduled for a subtree."""

    __tablename__ = "trainings"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[TrainingKind] = mapped_column(
        _enum(TrainingKind, "training_kind"), default=TrainingKind.ROTATION
    )
    audience: Mapped[TrainingAudience] = mapped_column(_enum(TrainingAudience, "training_audience"))
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attendance_recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Class hours for those who attend (None: one full day, ZHIBU_TRAINING_CLASS_HOURS).
    class_hours: Mapped[int | None] = mapped_column(SmallInteger)

    org_unit: Mapped[OrgUnit] = relationship()


class TrainingInvitee(Base):
    """One person invited to a training: their answer and, afterwards, whether they came."""

    __tablename__ = "training_invitees"
    __table_args__ = (UniqueConstraint("training_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    # "yes", "no" or NULL (no answer yet).
    rsvp: Mapped[str | None] = mapped_column(String(8))
    attended: Mapped[bool | None] = mapped_column(Boolean)


class BranchTerm(Base):
    """When a branch's committee was elected and how long its term is (换届)."""

    __tablename__ = "branch_terms"

    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    category: Mapped[BranchCategory] = mapped_column(
        _enum(BranchCategory, "branch_category"), default=BranchCategory.OTHER
    )
    term_started_on: Mapped[dt.date] = mapped_column(Date)
    # NULL: by category (configurable defaults).
    term_years: Mapped[int | None] = mapped_column(SmallInteger)


class PlanMark(Base):
    """A branch whose reminders the planner must work out again soon: something they depend
    on changed (an activity, a leader or member, a calendar rule, a campaign).

    Written by plain inserts, never updated (a branch marked twice has two rows), so marking
    never waits for the planner that is deleting the marks it claimed.
    """

    __tablename__ = "plan_marks"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    marked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
