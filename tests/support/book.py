"""A branch's year for record book tests: twenty activities (late, void, absentees with and
without reasons, minutes, photos, a document), a training, a grading result, a rectification
item; and reading a DOCX back."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

import docx
from docx.document import Document
from docx.oxml.ns import qn
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import CampaignStatus, RectificationStatus, TrainingAudience, TrainingKind
from bot.rules.kinds import ActivityKind
from storage import queries
from storage.db import SessionFactory
from storage.models import Person
from storage.models_activity import Activity
from storage.models_grading import GradingAssessment, GradingCampaign, RectificationItem
from storage.models_reminders import Training, TrainingInvitee
from tests.support.activity import NOW

K = ActivityKind
YEAR = 2026
KINDS = (
    (K.GENERAL_MEETING, K.LECTURE),
    (K.COMMITTEE_MEETING,),
    (K.THEMED_DAY,),
    (K.COMMITTEE_MEETING, K.THEMED_DAY),
)
SICK_TOPIC = "学习党章第{n}次"


@dataclass(frozen=True, slots=True)
class SeededYear:
    """What the seed stored, for the assertions."""

    branch_id: int
    activity_ids: list[int]
    topics: list[str]
    days: list[dt.date]


def photo_bytes(colour: tuple[int, int, int] = (180, 30, 30)) -> bytes:
    """A small JPEG, like the ones Telegram keeps."""
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def _day(index: int) -> dt.date:
    # Two a month from January, in date order, all before the pinned today (20 November).
    return dt.date(YEAR, 1 + index // 2, 3 + 12 * (index % 2))


async def seed_year(
    db: SessionFactory, code: str = "DEMO-B1", *, count: int = 20, photo_ids: tuple[str, ...] = ()
) -> SeededYear:
    """Store a year of the branch: `count` activities, the first ones with `photo_ids`."""
    async with db.begin() as session:
        branch = await queries.org_by_code(session, code)
        assert branch is not None
        # On the roster since January, so present members can be named from it.
        await session.execute(
            update(Person)
            .where(Person.branch_id == branch.id)
            .values(created_at=dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC))
        )
        people = list(
            await session.scalars(
                select(Person).where(Person.branch_id == branch.id).order_by(Person.id)
            )
        )
        ids, topics, days = [], [], []
        for index in range(count):
            topic = SICK_TOPIC.format(n=index + 1)
            absent = people[-2:] if index % 3 == 0 else []
            attachments = (
                [{"type": "photo", "file_id": photo_ids[index]}] if index < len(photo_ids) else []
            )
            if index == 1:
                attachments.append({"type": "document", "file_id": "doc-1", "name": "计划.docx"})
            activity = Activity(
                branch_id=branch.id,
                kinds=[kind.value for kind in KINDS[index % len(KINDS)]],
                day=_day(index),
                topic=topic,
                present=len(people) - len(absent),
                expected=len(people),
                place="党员活动室",
                minutes=f"会议记录第一行 {index + 1}\n第二行：表决通过",
                attachments=attachments,
                absences=[
                    {"person_id": p.id, "name": p.name, "reason": "sick" if n == 0 else None}
                    for n, p in enumerate(absent)
                ],
                late=index == 4,
                voided=index == 7,
                void_reason="重复录入" if index == 7 else None,
                created_at=NOW,
            )
            session.add(activity)
            await session.flush()
            ids.append(activity.id)
            topics.append(topic)
            days.append(activity.day)
        await _training_and_grading(session, branch.id, people[0].id)
    return SeededYear(branch.id, ids, topics, days)


async def _training_and_grading(session: AsyncSession, branch_id: int, person_id: int) -> None:
    committee = await queries.org_by_code(session, "DEMO")
    assert committee is not None
    training = Training(
        org_unit_id=committee.id,
        kind=TrainingKind.ROTATION,
        audience=TrainingAudience.SECRETARIES,
        title="支部书记轮训班",
        place="党校",
        starts_at=dt.datetime(YEAR, 5, 10, 1, 0, tzinfo=dt.UTC),
    )
    session.add(training)
    await session.flush()
    session.add(TrainingInvitee(training_id=training.id, person_id=person_id, attended=True))
    campaign = GradingCampaign(
        org_unit_id=committee.id,
        year=YEAR,
        questionnaire_id="default-2012",
        questionnaire_version="1",
        deadline=dt.datetime(YEAR, 10, 1, tzinfo=dt.UTC),
        status=CampaignStatus.FINALISED,
    )
    session.add(campaign)
    await session.flush()
    session.add(
        GradingAssessment(
            campaign_id=campaign.id,
            branch_id=branch_id,
            self_score=82.0,
            final_score=76.5,
            grade="ordinary",
        )
    )
    session.add(
        RectificationItem(
            campaign_id=campaign.id,
            branch_id=branch_id,
            problem="主题党日不够规范",
            measures="每月固定日期开展",
            due_on=dt.date(YEAR, 12, 31),
            responsible="王芳",
            status=RectificationStatus.OPEN,
        )
    )


def open_docx(data: bytes) -> Document:
    """A DOCX read back with python-docx."""
    assert zipfile.is_zipfile(io.BytesIO(data))
    return docx.Document(io.BytesIO(data))


def all_text(document: Document) -> str:
    """Every paragraph's and table cell's text, in document order (roughly)."""
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    for section in document.sections:
        parts.extend(paragraph.text for paragraph in section.footer.paragraphs)
    return "\n".join(parts)


def headings(document: Document, level: int) -> list[str]:
    """The texts of the headings of one level, in order."""
    style = f"Heading {level}"
    return [p.text for p in document.paragraphs if p.style is not None and p.style.name == style]


def instructions(document: Document) -> str:
    """Every field instruction of the body and the footers."""
    elements = [document.element.body]
    elements += [section.footer._element for section in document.sections]
    return " ".join(
        node.text or "" for element in elements for node in element.iter(qn("w:instrText"))
    )
