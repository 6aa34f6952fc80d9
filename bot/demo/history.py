"""A year of plausible history for the demo organisation, so every report shows something real.

Written through the services (the activity log, grading, relink, notices, trainings) and the
storage functions they use, each step in its own transaction with the clock travelled to the
moment it tells of (bot.clock.travel), so stored times, column defaults included, are those
moments. Everything is dated relative to `now`: the story is the same whenever it is told.

The first branch keeps the calendar; the second misses a few months; the third (the office
branch) mostly does not, is graded weak and is in rectification. Some entries were logged
late. Two relink requests wait for a decision, a notice from a month ago has been acknowledged
by half its readers, the secretaries had a rotation training and are invited to the next one.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.activities import ActivityDraft, save_draft
from bot.config import Settings
from bot.demo.grading_history import write_campaign
from bot.enums import (
    NoticeAudience,
    RequestType,
    TrainingAudience,
    TrainingKind,
)
from bot.notice_service import acknowledge_copy, confirm_notice, release_notice
from bot.relink.service import NewRequest, submit_request
from bot.reminders.trainings import schedule_training, toggle_attendance
from bot.rules.kinds import ActivityKind
from storage import notice_queries as nq
from storage import notice_reports, queries, relink_queries
from storage import reminder_queries as rq
from storage import training_queries as tq
from storage.db import SessionFactory
from storage.models import Account

K = ActivityKind
# Which months (counted back from this one) a branch skipped: committee meetings, themed days.
SKIPPED = {
    "DEMO-B1": (frozenset(), frozenset()),
    "DEMO-B2": (frozenset({3, 7}), frozenset({4, 9})),
    "DEMO-B3": (frozenset({1, 2, 4, 5, 7, 8, 10, 11}), frozenset({1, 2, 3, 5, 6, 8, 9, 11})),
}
# (branch, months back, kind) entries logged three weeks after the meeting.
LATE = {
    ("DEMO-B2", 5, K.THEMED_DAY),
    ("DEMO-B3", 6, K.COMMITTEE_MEETING),
    ("DEMO-B1", 2, K.THEMED_DAY),
}
COMMITTEE_TOPICS = (
    "研究本月工作安排",
    "讨论发展对象人选",
    "研究党费收缴和使用情况",
    "讨论主题党日活动方案",
    "研究困难党员帮扶",
    "研究年度工作计划",
)
THEMED_TOPICS = (
    "重温入党誓词",
    "走访慰问社区困难群众",
    "参观革命传统教育基地",
    "社区环境整治志愿服务",
    "学习新修订的《中国共产党纪律处分条例》",
    "观看警示教育片",
)
LECTURE_TOPICS = (
    "党课：学党史、悟思想、办实事",
    "支部党员大会暨党课：通报半年工作",
    "党课：全面从严治党永远在路上",
    "支部党员大会：接收预备党员",
)
PLACE = "党员活动室"


@dataclass(frozen=True, slots=True)
class Planned:
    """One activity of the story."""

    branch: str
    kinds: tuple[ActivityKind, ...]
    day: dt.date
    topic: str
    committee: bool
    late: bool


@dataclass(frozen=True, slots=True)
class History:
    """What was written, for the sandbox's banner and the tests."""

    activities: int
    late: int
    campaign_id: int
    weak_branch: str
    relink_requests: int
    notice_id: int
    acknowledged: int
    trainings: int


async def write_history(db: SessionFactory, settings: Settings, now: dt.datetime) -> History:
    """Write the whole story; `now` is the clock's present."""
    zone = settings.tz
    planned = list(plan_activities(now.astimezone(zone).date()))
    async with db.begin() as session:
        for item in planned:
            await _log(session, item, now, zone)
    story = await write_campaign(db, now)
    requests = await _relink_requests(db, now)
    notice_id, acknowledged = await _notice(db, now)
    trainings = await _trainings(db, now)
    return History(
        activities=len(planned),
        late=sum(item.late for item in planned),
        campaign_id=story.campaign_id,
        weak_branch=story.weak_branch,
        relink_requests=requests,
        notice_id=notice_id,
        acknowledged=acknowledged,
        trainings=trainings,
    )


def _month(today: dt.date, back: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 - back
    return index // 12, index % 12 + 1


def plan_activities(today: dt.date) -> Iterator[Planned]:
    """The activities of the last twelve months and this one, up to yesterday."""
    for branch, (no_committee, no_themed) in SKIPPED.items():
        for back in range(12, -1, -1):
            year, month = _month(today, back)
            for item in _month_activities(branch, back, year, month, no_committee, no_themed):
                if item.day < today:
                    yield item


def _month_activities(
    branch: str,
    back: int,
    year: int,
    month: int,
    no_committee: frozenset[int],
    no_themed: frozenset[int],
) -> Iterator[Planned]:
    if back not in no_committee:
        topic = COMMITTEE_TOPICS[month % len(COMMITTEE_TOPICS)]
        late = (branch, back, K.COMMITTEE_MEETING) in LATE
        yield Planned(branch, (K.COMMITTEE_MEETING,), dt.date(year, month, 2), topic, True, late)
    if back not in no_themed:
        topic = THEMED_TOPICS[month % len(THEMED_TOPICS)]
        late = (branch, back, K.THEMED_DAY) in LATE
        yield Planned(branch, (K.THEMED_DAY,), dt.date(year, month, 15), topic, False, late)
    # The general meeting with a Party lecture, in the middle month of each quarter (the third
    # branch managed one in the year, the second missed one).
    quarterly = month % 3 == 2 and (
        branch == "DEMO-B1"
        or (branch == "DEMO-B2" and back not in (6, 7, 8))
        or (branch == "DEMO-B3" and back in (3, 4, 5))
    )
    if quarterly:
        topic = LECTURE_TOPICS[(month // 3) % len(LECTURE_TOPICS)]
        late = (branch, back, K.LECTURE) in LATE
        kinds = (K.GENERAL_MEETING, K.LECTURE)
        yield Planned(branch, kinds, dt.date(year, month, 20), topic, False, late)
    if month == 11 and branch != "DEMO-B3":
        kinds = (K.LIFE_MEETING, K.APPRAISAL)
        topic = "年度组织生活会暨民主评议党员"
        yield Planned(branch, kinds, dt.date(year, month, 27), topic, False, False)


async def _log(session: AsyncSession, item: Planned, now: dt.datetime, zone: dt.tzinfo) -> None:
    """The secretary logs it the evening after (three weeks after, for a late entry)."""
    after = dt.timedelta(days=21 if item.late else 1, hours=20, minutes=30)
    moment = dt.datetime.combine(item.day, dt.time(), zone) + after
    moment = min(moment.astimezone(dt.UTC), now - dt.timedelta(hours=1))
    rng = random.Random(f"{item.branch}{item.day}")
    with clock.travel(moment):
        branch = await queries.org_by_code(session, item.branch)
        assert branch is not None
        roster = await queries.roster_size(session, branch)
        expected = 3 if item.committee else roster
        absent = rng.randint(0, 1) if item.committee else rng.randint(0, 2)
        if item.branch == "DEMO-B3" and not item.committee:
            absent += 2
        secretary = await _secretary_account(session, branch.id)
        draft = ActivityDraft(
            branch_id=branch.id,
            kinds=[kind.value for kind in item.kinds],
            day=item.day,
            topic=item.topic,
            present=max(1, expected - absent),
            expected=expected,
            place=PLACE,
        )
        await save_draft(session, draft, actor=secretary, now=moment, zone=zone)
        # Written now, while the clock stands at the moment (column defaults read it).
        await session.flush()


async def _secretary_account(session: AsyncSession, branch_id: int) -> Account | None:
    leaders = await relink_queries.leader_accounts(session, branch_id)
    return leaders[0] if leaders else None


async def _account_of(session: AsyncSession, telegram_id: int) -> Account:
    account = await queries.account_by_telegram_id(session, telegram_id)
    assert account is not None
    return account


async def _relink_requests(db: SessionFactory, now: dt.datetime) -> int:
    """The mobile member reports where they work now; a member asks to transfer."""
    requests = (
        (900013, "刘洋", "DEMO-B1", None, RequestType.MOBILE, "深圳", "在深圳一家物流公司工作"),
        (900022, "赵敏", "DEMO-B2", "DEMO-B3", RequestType.TRANSFER, None, "调入区政府机关工作"),
    )
    filed = 0
    for days, (telegram_id, name, home, receiving, kind, city, note) in zip(
        (9, 3), requests, strict=True
    ):
        moment = now - dt.timedelta(days=days)
        with clock.travel(moment):
            async with db.begin() as session:
                account = await _account_of(session, telegram_id)
                home_unit = await queries.org_by_code(session, home)
                receiving_unit = (
                    await queries.org_by_code(session, receiving) if receiving else None
                )
                assert home_unit is not None
                new = NewRequest(
                    type=kind,
                    name=name,
                    home_id=home_unit.id,
                    receiving_id=receiving_unit.id if receiving_unit else None,
                    join_year=2012,
                    city=city,
                    note=note,
                )
                outcome = await submit_request(
                    session, account=account, new=new, now=moment, throttle=None
                )
                filed += outcome.ok
    return filed


async def _notice(db: SessionFactory, now: dt.datetime) -> tuple[int, int]:
    """A notice to everyone a month ago, gone out; half its readers acknowledged it."""
    sent = now - dt.timedelta(days=30)
    with clock.travel(sent):
        async with db.begin() as session:
            committee = await queries.org_by_code(session, "DEMO")
            assert committee is not None
            admin = await _account_of(session, 900001)
            confirmed = await confirm_notice(
                session,
                org=committee,
                actor=admin,
                audience=NoticeAudience.EVERYONE,
                branch_ids=(),
                texts={
                    "zh_Hans": "请各支部于本月底前完成年度党费收缴情况自查，并向党工委报告。",
                    "en": "Each branch: check this year's Party dues collection by the end of "
                    "the month and report to the committee.",
                },
                primary_locale="zh_Hans",
                require_ack=True,
                media_kind=None,
                media_file_id=None,
                send_at=None,
                now=sent,
                chat_id=None,
                message_id=None,
            )
            notice = confirmed.notice
            await release_notice(session, notice.id, sent)
            await nq.start_notice(session, notice, sent)
            copies = await nq.pending_copies(session, now=sent, limit=1000)
            claimed = await nq.claim_copies(
                session, [c.delivery_id for c in copies], lease_until=sent
            )
            await nq.mark_sent(session, [(copy_id, None, sent) for copy_id in sorted(claimed)])
            await notice_reports.finished_notices(session, sent)
            notice_id = notice.id
    acknowledged = 0
    for number, copy in enumerate(copies):
        if number % 2 or copy.delivery_id not in claimed:
            continue
        moment = sent + dt.timedelta(hours=2 + 7 * number)
        with clock.travel(moment):
            async with db.begin() as session:
                done = await acknowledge_copy(
                    session, account_id=copy.account_id, delivery_id=copy.delivery_id, now=moment
                )
                acknowledged += done is not None
    return notice_id, acknowledged


async def _trainings(db: SessionFactory, now: dt.datetime) -> int:
    """A rotation training two months ago (attendance recorded) and the next one, in 3 days."""
    held = now - dt.timedelta(days=60)
    scheduled = held - dt.timedelta(days=14)
    with clock.travel(scheduled):
        async with db.begin() as session:
            committee = await queries.org_by_code(session, "DEMO")
            assert committee is not None
            past, _count = await schedule_training(
                session,
                org=committee,
                kind=TrainingKind.ROTATION,
                audience=TrainingAudience.SECRETARIES,
                title="基层党组织书记轮训（第一期）",
                place="区委党校",
                starts_at=held,
                actor=None,
                now=scheduled,
            )
            # Its invitations went out then; they are not news today.
            accounts = await tq.invitee_accounts(session, past.id)
            await rq.cancel_reminders(session, [(f"trn:{past.id}", a[0]) for a in accounts])
            past_id = past.id
    recorded = held + dt.timedelta(days=1)
    with clock.travel(recorded):
        async with db.begin() as session:
            training = await tq.training_by_id(session, past_id)
            assert training is not None
            for invitee, _name in (await tq.invitees(session, past_id))[:-1]:
                await toggle_attendance(
                    session,
                    training=training,
                    person_id=invitee.person_id,
                    actor=None,
                    now=recorded,
                )
    announced = now - dt.timedelta(days=1)
    starts = (now + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    with clock.travel(announced):
        async with db.begin() as session:
            committee = await queries.org_by_code(session, "DEMO")
            assert committee is not None
            await schedule_training(
                session,
                org=committee,
                kind=TrainingKind.ROTATION,
                audience=TrainingAudience.SECRETARIES,
                title="基层党组织书记轮训（第二期）",
                place="区委党校",
                starts_at=starts,
                actor=None,
                now=announced,
            )
    return 2
