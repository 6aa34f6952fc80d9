"""Meetings called with /meet and their invitees; a branch's own calendar choices (the themed
Party day's date) and the organisational life meeting's preparation steps."""

from __future__ import annotations

import datetime as dt

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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.enums import MeetingAudience, PreparationStep, Rsvp
from storage.models import Base, OrgUnit, Person, UTCDateTime, _enum, utcnow


class Meeting(Base):
    """A meeting a branch leader called: when, where, what, for whom; the record it became."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_branch_id_starts_at", "branch_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    # The party group of a party group meeting (or of the audience "one party group").
    party_group_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    # ActivityKind values, as in the activity log.
    kinds: Mapped[list[str]] = mapped_column(JSON)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str] = mapped_column(String(200))
    agenda: Mapped[str] = mapped_column(String(200))
    audience: Mapped[MeetingAudience] = mapped_column(_enum(MeetingAudience, "meeting_audience"))
    reason_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # A general meeting that elects or decides: more than half of the voting members needed.
    decides: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    moved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Moves on with every move or cancellation: of two leaders changing it at once, one decides.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The caller's card (counts and names), edited as answers come in.
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    card_dirty: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The activity it was logged as (from its draft, or a hand entry of the same kinds and day).
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))

    branch: Mapped[OrgUnit] = relationship(foreign_keys=[branch_id])


class MeetingInvitee(Base):
    """One person invited to a meeting: their answer and whether they signed in."""

    __tablename__ = "meeting_invitees"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    # What the person was when invited: on the branch committee (its meetings' quorum), with
    # voting rights (a deciding general meeting's), a mobile member (may attend remotely).
    committee: Mapped[bool] = mapped_column(Boolean, default=False)
    voting: Mapped[bool] = mapped_column(Boolean, default=True)
    mobile: Mapped[bool] = mapped_column(Boolean, default=False)
    rsvp: Mapped[Rsvp | None] = mapped_column(_enum(Rsvp, "meeting_rsvp"))
    # bot.activities.AbsenceReason values; the optional words are the member's own.
    reason: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signed_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Who ticked them on the checklist (NULL: they pressed "I'm here" themselves).
    signed_in_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))

    person: Mapped[Person] = relationship()


class BranchCalendar(Base):
    """A branch's own choices for its calendar."""

    __tablename__ = "branch_calendars"

    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    # The day of the month the themed Party day is held (1-28, so every month has it).
    themed_day: Mapped[int | None] = mapped_column(SmallInteger)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PreparationRecord(Base):
    """One preparation step of a year's organisational life meeting, marked done."""

    __tablename__ = "preparation_records"
    __table_args__ = (UniqueConstraint("branch_id", "year", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    step: Mapped[PreparationStep] = mapped_column(_enum(PreparationStep, "preparation_step"))
    done_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
