"""Requests of mobile and lost-contact members, their transfer letters and steps, the register.

A request row holds what the pure state machine (bot.relink.machine) calls a snapshot: type,
state and a version that grows by one with every transition, so two deciders pressing at the
same moment can't both win. The machine identifies people by *account* id: a lost-contact
member has no roster entry yet, but always has the Telegram account they wrote from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.enums import ReconnectStep, RequestState, RequestType
from storage.models import Account, Base, OrgUnit, Person, UTCDateTime, _enum, utcnow


class RelinkRequest(Base):
    """A member's request: report as mobile, transfer ties, or reconnect after losing contact."""

    __tablename__ = "relink_requests"
    __table_args__ = (
        Index("ix_relink_requests_state_home_branch_id", "state", "home_branch_id"),
        Index("ix_relink_requests_receiving_branch_id", "receiving_branch_id"),
        Index("ix_relink_requests_requester_account_id", "requester_account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[RequestType] = mapped_column(_enum(RequestType, "relink_request_type"))
    state: Mapped[RequestState] = mapped_column(_enum(RequestState, "relink_request_state"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Optimistic locking: an UPDATE only applies to the version it was decided on, so of two
    # secretaries pressing at the same moment one wins and the other is told it changed.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012
    requester_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # The roster entry the member is known to be: their registered account's person, or one
    # the deciders confirmed in an identity step (reconnect: once completed).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # A roster entry of the home branch whose name matches what an unregistered member typed:
    # unverified, shown as such, and linked only if the deciders confirm the identity.
    claimed_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # Home branch; for a member who can't name their branch, the node of the subtree they chose
    # (then that subtree's admins decide).
    home_branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    # Transfer: the receiving branch; mobile: the optional branch where they take part now.
    receiving_branch_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    # What the member said about themself (no ID card numbers, ever).
    name: Mapped[str] = mapped_column(String(100))
    join_year: Mapped[int | None] = mapped_column(Integer)
    # Whereabouts are optional (the member may skip them).
    city: Mapped[str | None] = mapped_column(String(100))
    employer: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500), default="")
    question: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(String(500))
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    transfer_accepted_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    letters_issued: Mapped[int] = mapped_column(Integer, default=0)
    # The register row the secretary confirmed as this member (reconnect).
    register_entry_id: Mapped[int | None] = mapped_column(ForeignKey("lost_contact_register.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    # Mobile members report to the home branch at least once a year; the reminders engine
    # (another feature) reads this to decide when to remind.
    last_report_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the scheduled check flagged an expired, unaccepted letter ("pocket member").
    pocket_flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    requester: Mapped[Account] = relationship(foreign_keys=[requester_account_id])
    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    claimed_person: Mapped[Person | None] = relationship(foreign_keys=[claimed_person_id])
    home_branch: Mapped[OrgUnit] = relationship(foreign_keys=[home_branch_id])
    receiving_branch: Mapped[OrgUnit | None] = relationship(foreign_keys=[receiving_branch_id])


class RelinkLetter(Base):
    """A transfer letter (介绍信); a re-issue adds a row, the newest one counts."""

    __tablename__ = "relink_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("relink_requests.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_days: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    issued_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))


class RelinkStep(Base):
    """A recorded reconnect step; recording it again replaces the details (a correction)."""

    __tablename__ = "relink_steps"
    __table_args__ = (UniqueConstraint("request_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("relink_requests.id"), index=True)
    step: Mapped[ReconnectStep] = mapped_column(_enum(ReconnectStep, "relink_step"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LostContactEntry(Base):
    """A row of the lost-contact register (失联党员), imported by admins."""

    __tablename__ = "lost_contact_register"
    __table_args__ = (Index("ix_lost_contact_register_branch_code_name", "branch_code", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The original branch as written in the register; it may no longer exist.
    branch_code: Mapped[str | None] = mapped_column(String(64))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    join_year: Mapped[int | None] = mapped_column(Integer)
    lost_on: Mapped[dt.date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    relinked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    branch: Mapped[OrgUnit | None] = relationship()
