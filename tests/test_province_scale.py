"""Sets larger than a statement's bind parameters (32,767 in asyncpg and SQLite): a notice to
33,000 people, a campaign over 33,000 branches, a roster of 33,000 rows. Each used to put one
parameter per person or branch into a query and fail; now the database works on the set."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.config import Settings
from bot.enums import DeliveryState, NoticeAudience, NoticeState, OrgKind, Role
from bot.grading.announce import start_and_announce
from bot.grading.service import make_config
from bot.imports import import_file
from storage import notice_audiences as na
from storage import notice_queries as nq
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_grading import GradingAssessment
from storage.models_notices import NoticeDelivery
from storage.models_reminders import Reminder
from tests.support.province import (
    BEYOND_BIND_LIMIT,
    NOW,
    committee_with_branches,
    members,
)


async def _admin(db: SessionFactory, code: str) -> None:
    """An admin of the committee (on no roster): reached through the role alone."""
    async with db.begin() as session:
        node = await queries.org_by_code(session, code)
        assert node is not None
        person = Person(name="组织部干部")
        session.add(person)
        await session.flush()
        session.add(Account(telegram_id=42, person_id=person.id, telegram_language="en"))
        await queries.grant_role(session, person=person, org_unit=node, role=Role.ADMIN)


async def test_a_notice_reaches_more_people_than_a_statement_has_parameters(
    db: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Slices of 10,000 accounts, so this audience takes several.
    monkeypatch.setattr(nq, "FILL_SPAN", 10_000)
    branches = await committee_with_branches(db, code="BIG", branches=30)
    people = await members(db, branches, per_branch=BEYOND_BIND_LIMIT // 30)
    await _admin(db, "BIG")
    async with db.begin() as session:
        # Ten members blocked the bot.
        blocked = select(Account.id).order_by(Account.id).limit(10).scalar_subquery()
        await session.execute(
            update(Account).where(Account.id.in_(blocked)).values(unreachable_since=NOW)
        )
    async with db.begin() as session:
        root = await queries.org_by_code(session, "BIG")
        assert root is not None
        counted = await na.audience_count(session, root=root, audience=NoticeAudience.EVERYONE)
        assert counted == na.AudienceCount(people + 1 - 10, 10)
        notice = await nq.create_notice(
            session,
            org=root,
            created_by=None,
            audience=NoticeAudience.EVERYONE,
            branch_ids=[],
            texts={"zh_Hans": "通知"},
            primary_locale="zh_Hans",
            require_ack=True,
            media_kind=None,
            media_file_id=None,
            send_at=NOW,
            admin_chat_id=None,
            progress_message_id=None,
        )
        notice_id = notice.id
    # The worker writes the audience a slice per transaction until it is complete.
    slices = 0
    while True:
        async with db.begin() as session:
            due = await nq.due_notices(session, NOW)
            if not due:
                break
            assert [n.id for n in due] == [notice_id]
            await nq.start_notice(session, due[0], NOW)
            slices += 1
    async with db() as session:
        last_account = await session.scalar(select(func.max(Account.id)))
    ends = [nq.slice_end(0)]
    while ends[-1] < int(last_account or 0):
        ends.append(nq.slice_end(ends[-1]))
    assert slices == len(ends) > 1 and ends[-1] - ends[-2] == nq.FILL_SPAN
    async with db() as session:
        states = dict(
            (
                await session.execute(
                    select(NoticeDelivery.state, func.count())
                    .where(NoticeDelivery.notice_id == notice_id)
                    .group_by(NoticeDelivery.state)
                )
            ).all()
        )
        assert states == {DeliveryState.PENDING: people + 1 - 10, DeliveryState.UNREACHABLE: 10}
        distinct = await session.scalar(
            select(func.count(func.distinct(NoticeDelivery.account_id))).where(
                NoticeDelivery.notice_id == notice_id
            )
        )
        assert distinct == people + 1
        # Members count under their branch, the admin (no branch) under none.
        admin_copy = await session.scalar(
            select(NoticeDelivery.branch_id)
            .join(Account, Account.id == NoticeDelivery.account_id)
            .where(Account.telegram_id == 42)
        )
        assert admin_copy is None
        unbranched = await session.scalar(
            select(func.count()).where(
                NoticeDelivery.notice_id == notice_id, NoticeDelivery.branch_id.is_(None)
            )
        )
        assert unbranched == 1
    # Everyone got it, five acknowledged: the re-send goes to the others, in one statement.
    async with db.begin() as session:
        await session.execute(
            update(NoticeDelivery)
            .where(NoticeDelivery.state == DeliveryState.PENDING)
            .values(state=DeliveryState.SENT)
        )
        acknowledging = (
            select(NoticeDelivery.id)
            .where(NoticeDelivery.state == DeliveryState.SENT)
            .order_by(NoticeDelivery.id)
            .limit(5)
            .scalar_subquery()
        )
        await session.execute(
            update(NoticeDelivery)
            .where(NoticeDelivery.id.in_(acknowledging))
            .values(acknowledged_at=NOW)
        )
    async with db.begin() as session:
        notice = await nq.notice_by_id(session, notice_id)
        assert notice is not None
        resent = await nq.resend_to_unacknowledged(session, notice, held_until=NOW)
        assert resent == people + 1 - 10 - 5
        assert notice.rounds == 2 and notice.state is NoticeState.SENDING


async def test_a_campaign_covers_more_branches_than_a_statement_has_parameters(
    db: SessionFactory,
) -> None:
    branches = await committee_with_branches(db, code="CITY", branches=BEYOND_BIND_LIMIT)
    await members(db, branches, per_branch=1)
    async with db.begin() as session:
        root = await queries.org_by_code(session, "CITY")
        assert root is not None
        started = await start_and_announce(
            session,
            root=root,
            deadline=NOW + dt.timedelta(days=30),
            config=make_config(),
            now=NOW,
        )
        assert (started.branches, started.leaders) == (BEYOND_BIND_LIMIT, BEYOND_BIND_LIMIT)
    async with db() as session:
        assessments = await session.scalar(
            select(func.count()).where(GradingAssessment.campaign_id == started.campaign.id)
        )
        news = await session.scalar(
            select(func.count()).where(Reminder.subject.like(f"grd-news:{started.campaign.id}:%"))
        )
        one = await session.scalar(select(Reminder).order_by(Reminder.id).limit(1))
    assert assessments == news == BEYOND_BIND_LIMIT
    assert one is not None and one.payload == {
        "campaign_id": started.campaign.id,
        "year": 2026,
        "branch_id": branches[0],
        "event": "opened",
        "deadline": (NOW + dt.timedelta(days=30)).isoformat(),
    }


async def test_a_roster_larger_than_a_statement_has_parameters_imports(
    db: SessionFactory, settings: Settings, tmp_path: Path
) -> None:
    await committee_with_branches(db, code="PROV", branches=BEYOND_BIND_LIMIT)
    roster = tmp_path / "roster.csv"
    lines = ["name,branch,role"] + [
        f"党员{n},PROV-B{n},{'secretary' if n % 1000 == 0 else 'member'}"
        for n in range(BEYOND_BIND_LIMIT)
    ]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = await import_file(settings, "people", roster)
    assert f"{BEYOND_BIND_LIMIT}" in summary
    async with db() as session:
        people = await session.scalar(select(func.count()).select_from(Person))
        branch = await queries.org_by_code(session, "PROV-B32999")
        assert branch is not None and branch.kind is OrgKind.BRANCH
        on_roster = await queries.roster(session, branch)
    assert people == BEYOND_BIND_LIMIT
    assert [p.name for p in on_roster] == ["党员32999"]
