"""Models of the activity log and of admins' overrides of the compliance calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Base, OrgUnit, UTCDateTime, utcnow


class Activity(Base):
    """One logged branch activity; corrections edit it, voiding keeps it (never deleted)."""

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_branch_id_day", "branch_id", "day"),
        Index("ix_activities_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    # Set for a party group meeting of one of the branch's party groups.
    party_group_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    # ActivityKind values: one meeting may count for several obligations.
    kinds: Mapped[list[str]] = mapped_column(JSON)
    day: Mapped[dt.date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(200))
    present: Mapped[int] = mapped_column(Integer)
    expected: Mapped[int] = mapped_column(Integer)
    place: Mapped[str | None] = mapped_column(String(100))
    minutes: Mapped[str | None] = mapped_column(Text)
    # [{"type": "photo" | "document", "file_id": ..., "name": ...}]: Telegram keeps the bytes.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"person_id": ..., "name": ..., "reason": "sick" | "work" | ...}]
    absences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    # A general meeting that elected or decided (it then needs a quorum of voting members).
    decides: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Per kind that needs a quorum, [present, size] of its body (bot.rules.quorum).
    quorum: Mapped[dict[str, list[int]] | None] = mapped_column(JSON)
    # Class hours of a Party lecture for those present (None: ZHIBU_LECTURE_CLASS_HOURS).
    class_hours: Mapped[int | None] = mapped_column(SmallInteger)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    void_reason: Mapped[str | None] = mapped_column(String(200))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Moves on with every correction or voiding: a change is applied only to the version its
    # leader saw, so two leaders changing the same activity at once decide once.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    branch: Mapped[OrgUnit] = relationship(foreign_keys=[branch_id])


class CalendarRuleOverride(Base):
    """An admin's change to one calendar rule for the subtree of a node (None = inherited)."""

    __tablename__ = "calendar_rule_overrides"
    __table_args__ = (UniqueConstraint("org_unit_id", "rule_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    rule_key: Mapped[str] = mapped_column(String(32))
    # PeriodKind / Scope values, validated by bot.compliance before saving.
    period: Mapped[str | None] = mapped_column(String(16))
    min_count: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[str | None] = mapped_column(String(16))
    only_quarter: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool | None] = mapped_column(Boolean)
    # Reminder lead days as "21,7,1" ("" goes back to the period's), the quorum rule, and the
    # month preparation is reminded from (0: not at all).
    lead_days: Mapped[str | None] = mapped_column(String(32))
    quorum: Mapped[bool | None] = mapped_column(Boolean)
    prepare_from: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
