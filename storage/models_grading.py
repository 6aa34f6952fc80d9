"""Models of classification and grading: campaigns, assessments, surveys, codes, rectification.

Satisfaction responses carry neither a person, an account nor a time: *that* a member answered
(SurveyParticipant, one answer each) is kept apart from *what* was answered. An answer's key is
random, and each new answer rewrites its survey's answers in a shuffled order under fresh keys
(bot.grading.surveys), so neither a key, nor a column, nor the order of the rows in the file
pairs a participant with an answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.enums import CampaignStatus, RectificationStatus, SurveyGroup
from storage.models import Base, UTCDateTime, _enum, utcnow


class GradingCampaign(Base):
    """A grading campaign an admin runs for the branches of a subtree."""

    __tablename__ = "grading_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    # The activity log of this year pre-fills the questionnaire.
    year: Mapped[int] = mapped_column(Integer)
    questionnaire_id: Mapped[str] = mapped_column(String(64))
    questionnaire_version: Mapped[str] = mapped_column(String(32))
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # bot.grading.service.config_to_json(): weights, bands, targets, the satisfaction floor.
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus, "campaign_status"), default=CampaignStatus.OPEN
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finalised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class GradingAssessment(Base):
    """One branch in one campaign: its self-assessment, the superior's scores, its grade."""

    __tablename__ = "grading_assessments"
    __table_args__ = (UniqueConstraint("campaign_id", "branch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("grading_campaigns.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    # item id -> answer; saved item by item so a stopped questionnaire resumes.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # item ids whose answer was a pre-filled suggestion confirmed as it was.
    confirmed: Mapped[list[str]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    self_score: Mapped[float | None] = mapped_column(Float)
    # {"total": 85.0} or {indicator id: points}; None until the admin enters it.
    superior: Mapped[dict[str, float] | None] = mapped_column(JSON)
    # Set when the campaign is finalised.
    final_score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(24))
    member_count: Mapped[int | None] = mapped_column(Integer)


# SQLite makes only an INTEGER primary key the row's own key (so the rows are stored in key
# order, not in the order they were written); PostgreSQL needs 64 bits for a random key.
RandomKey = BigInteger().with_variant(Integer(), "sqlite")


class SatisfactionResponse(Base):
    """One anonymous answer on the four-level satisfaction scale."""

    __tablename__ = "grading_satisfaction"
    __table_args__ = (Index("ix_grading_satisfaction_campaign_branch", "campaign_id", "branch_id"),)

    # Random, and replaced whenever the survey gets a new answer: never a sequence number.
    id: Mapped[int] = mapped_column(RandomKey, primary_key=True, autoincrement=False)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("grading_campaigns.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    group: Mapped[SurveyGroup] = mapped_column(_enum(SurveyGroup, "survey_group"))
    rectification_id: Mapped[int | None] = mapped_column(
        ForeignKey("grading_rectifications.id"), index=True
    )
    # A SatisfactionCounts field name: satisfied, fairly_satisfied, basically_satisfied, ...
    value: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str | None] = mapped_column(String(500))


class SurveyParticipant(Base):
    """That a member answered a survey (never what), so each member answers once."""

    __tablename__ = "grading_survey_participants"
    __table_args__ = (UniqueConstraint("campaign_id", "person_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("grading_campaigns.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # "branch" for the branch survey, "rect:<id>" for a rectification check.
    subject: Mapped[str] = mapped_column(String(32))


class MassSurveyCode(Base):
    """A one-time code that opens the masses' survey; only its hash is stored."""

    __tablename__ = "grading_mass_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("grading_campaigns.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RectificationItem(Base):
    """One problem of a weakly graded branch, with its measures, deadline and owner."""

    __tablename__ = "grading_rectifications"
    __table_args__ = (
        Index("ix_grading_rectifications_campaign_branch", "campaign_id", "branch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("grading_campaigns.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    problem: Mapped[str] = mapped_column(String(500))
    measures: Mapped[str] = mapped_column(String(1000))
    due_on: Mapped[dt.date] = mapped_column(Date)
    responsible: Mapped[str] = mapped_column(String(100))
    status: Mapped[RectificationStatus] = mapped_column(
        _enum(RectificationStatus, "rectification_status"), default=RectificationStatus.OPEN
    )
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
