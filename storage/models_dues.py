"""Models of the Party dues ledger (党费), members' leave from organisational life, and the
settings a subtree or branch chooses for itself (collection day, study targets).

Amounts are integer fen (0.01 yuan): sums are exact on every database, never floats. Months
are stored as an integer index, year * 12 + month - 1 (2026-11 is 24322), so "the months
between" is a subtraction in SQL on SQLite and PostgreSQL alike (bot.rules.dues converts).
Nothing here is ever deleted: a wrong entry is voided with a reason and stays.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.enums import DuesVoidReason, LeaveReason
from storage.models import Base, UTCDateTime, _enum, utcnow

# Only the entries in force take part in the ledger; void ones stay beside them.
IN_FORCE = text("voided_at IS NULL")


class DuesStandard(Base):
    """A member's monthly dues from a month on, until a later standard (a history, not a
    value: the standard is reset once a year and lowered for those in difficulty)."""

    __tablename__ = "dues_standards"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="positive_amount"),
        Index(
            "ux_dues_standards_person_month",
            "person_id",
            "from_month",
            unique=True,
            sqlite_where=IN_FORCE,
            postgresql_where=IN_FORCE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    from_month: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    # "bot" (entered by a leader) or "import" (zhibu dues import).
    source: Mapped[str] = mapped_column(String(8), default="bot")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[DuesVoidReason | None] = mapped_column(
        _enum(DuesVoidReason, "dues_void_reason")
    )
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))


class DuesPayment(Base):
    """One month's dues recorded as paid by one member (Zhibu records; it never moves money).

    Prepaying several months or settling arrears gives one row per month. At most one row in
    force per member and month: recording a month twice is refused or, for an identical
    import, changes nothing.
    """

    __tablename__ = "dues_payments"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="positive_amount"),
        Index(
            "ux_dues_payments_person_month",
            "person_id",
            "month",
            unique=True,
            sqlite_where=IN_FORCE,
            postgresql_where=IN_FORCE,
        ),
        # A month's collection per branch is one range of this index (amounts included).
        Index(
            "ix_dues_payments_month_branch_id",
            "month",
            "branch_id",
            "amount_fen",
            sqlite_where=IN_FORCE,
            postgresql_where=IN_FORCE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # The branch whose ledger recorded it (the member's branch then).
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    month: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    # The day the member paid, when the bank's export says; a tick records the day of the tick.
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(8), default="bot")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[DuesVoidReason | None] = mapped_column(
        _enum(DuesVoidReason, "dues_payment_void_reason")
    )
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))


class DuesAccount(Base):
    """A branch's yearly dues account as published to its members: totals only, never what
    one member paid."""

    __tablename__ = "dues_accounts"
    __table_args__ = (UniqueConstraint("branch_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(SmallInteger)
    # The months of the year the account covers (through this month index).
    through_month: Mapped[int] = mapped_column(Integer)
    collected_fen: Mapped[int] = mapped_column(BigInteger)
    payers: Mapped[int] = mapped_column(Integer)
    arrears_months: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))


class MemberLeave(Base):
    """Months a member is on recorded sick leave or otherwise excused from organisational life:
    the lapse warning does not count them as missing."""

    __tablename__ = "member_leaves"
    __table_args__ = (
        CheckConstraint("last_month >= first_month", name="months_in_order"),
        Index("ix_member_leaves_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    first_month: Mapped[int] = mapped_column(Integer)
    last_month: Mapped[int] = mapped_column(Integer)
    reason: Mapped[LeaveReason] = mapped_column(_enum(LeaveReason, "leave_reason"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))


class LocalSetting(Base):
    """What a node chose for itself and its subtree (NULL: inherited, else the default):
    the dues collection day of a branch, the yearly study targets."""

    __tablename__ = "local_settings"

    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    dues_day: Mapped[int | None] = mapped_column(SmallInteger)
    study_hours_leader: Mapped[int | None] = mapped_column(SmallInteger)
    study_hours_member: Mapped[int | None] = mapped_column(SmallInteger)
