"""The lapse scan and what the reminder planner adds for dues, lapses and the lost-contact
register, on the database (the sending is in the end-to-end story)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from bot.access import Grant, Principal
from bot.config import Settings
from bot.demo import DemoUser
from bot.dues.lapse import lapse_scan
from bot.dues.ledger import record_leave, record_payment, set_standard
from bot.dues.local import set_dues_period, set_local
from bot.dues.register import register_timers
from bot.enums import (
    LeaveReason,
    MeetingAudience,
    ReminderKind,
    ReminderState,
    RequestState,
    Rsvp,
)
from bot.i18n import Translator
from bot.reminders import sources
from bot.reminders.payloads import LapsePayload, payload_of
from bot.reminders.render import Names
from bot.reminders.render_dues import DUES_LINES
from bot.rules.calendar import PeriodKind
from bot.rules.dues import month_index, month_key
from bot.rules.lapse import Level
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_meetings import Meeting, MeetingInvitee
from storage.models_relink import LostContactEntry, RelinkRequest
from storage.models_reminders import Reminder
from storage.reminder_queries import Mentioned
from tests.support.bot import SECRET_KEY
from tests.support.dues import add_member, arrived, away_as_mobile, branch, meeting, person
from tests.support.reminders import at

MAY = month_index(2026, 5)
B1 = ("王芳", "李强", "张伟", "刘洋")


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings on the test database (the clock is passed explicitly)."""
    return Settings(database_url=database_url, secret_key=SECRET_KEY)  # type: ignore[arg-type]


async def _pay(db: SessionFactory, name: str, *months: int) -> None:
    who = await person(db, name)
    async with db.begin() as session:
        unit = await queries.org_by_id(session, who.branch_id or 0)
        assert unit is not None
        for month in months:
            await record_payment(
                session,
                branch=unit,
                person=who,
                month=month,
                latest=month + 12,
                actor=None,
                today=dt.date(2026, 11, 1),
            )


async def _standards(db: SessionFactory, names: tuple[str, ...], from_month: int = MAY) -> None:
    async with db.begin() as session:
        for name in names:
            await set_standard(
                session,
                person=await person(db, name),
                from_month=from_month,
                fen=1000,
                actor=None,
                now=at("2026-05-01 10:00"),
            )


async def _story_so_far(db: SessionFactory) -> None:
    """B1 from May: everyone at May's meeting and paying May; from June 李强 and 刘洋 are absent
    without a reason, 张伟 excused; 王芳 keeps paying; 刘洋 is on sick leave in Aug and Sep;
    赵刚, mobile with an accepted report, never comes or pays after May."""
    await add_member(db, "DEMO-B1", "赵刚", 900099)
    await arrived(db, at("2026-01-01 10:00"))
    await away_as_mobile(db, "赵刚", "DEMO-B1")
    await _standards(db, (*B1, "赵刚"))
    for name in (*B1, "赵刚"):
        await _pay(db, name, MAY)
    await _pay(db, "王芳", *range(MAY + 1, MAY + 6))
    await meeting(db, "DEMO-B1", dt.date(2026, 5, 20))
    for month in range(6, 11):
        absent = {"李强": None, "刘洋": None, "张伟": "sick", "赵刚": None}
        await meeting(db, "DEMO-B1", dt.date(2026, month, 20), absent)
    async with db.begin() as session:
        await record_leave(
            session,
            person=await person(db, "刘洋"),
            first=MAY + 3,
            last=MAY + 4,
            reason=LeaveReason.SICK,
            actor=None,
        )


async def test_the_scan_counts_whole_months_and_leaves_out_the_excused(
    db: SessionFactory, demo: dict[str, DemoUser], settings: Settings
) -> None:
    await _story_so_far(db)
    async with db() as session:
        found = await lapse_scan(session, settings, dt.date(2026, 11, 2))
    li = await person(db, "李强")
    # 李强: June to October, five whole months; 张伟 was excused each time; 刘洋's sick leave
    # covers August and September, so only October is missing; 赵刚 is away with a report.
    assert [(f.person_id, f.gap.months, month_key(f.gap.since), f.level) for f in found] == [
        (li.id, 5, "2026-06", Level.ADMIN)
    ]
    # Taking part before the months missing is not looked for: none since June, paid May.
    assert (found[0].last_part, month_key(found[0].last_paid or 0)) == (None, "2026-05")
    # In August only two whole months (June, July) were missing: nothing yet.
    async with db() as session:
        assert await lapse_scan(session, settings, dt.date(2026, 8, 31)) == []
        assert [f.gap.months for f in await lapse_scan(session, settings, dt.date(2026, 9, 1))] == [
            3
        ]


async def test_signing_in_at_a_called_meeting_is_organisational_life(
    db: SessionFactory, demo: dict[str, DemoUser], settings: Settings
) -> None:
    await _story_so_far(db)
    li = await person(db, "李强")
    unit = await branch(db, "DEMO-B1")
    # 李强 signed in at a meeting called with /meet in September that was never logged; 刘洋
    # signed in at one that was then called off (that counts for nothing).
    async with db.begin() as session:
        for agenda, starts, cancelled in (
            ("September", at("2026-09-25 19:00"), None),
            ("called off", at("2026-10-25 19:00"), at("2026-10-20 09:00")),
        ):
            called = Meeting(
                branch_id=unit.id,
                kinds=["general_meeting"],
                starts_at=starts,
                place="Room 301",
                agenda=agenda,
                audience=MeetingAudience.BRANCH,
                cancelled_at=cancelled,
            )
            session.add(called)
            await session.flush()
            who = li if cancelled is None else await person(db, "刘洋")
            session.add(
                MeetingInvitee(
                    meeting_id=called.id, person_id=who.id, signed_in_at=starts, rsvp=Rsvp.YES
                )
            )
    async with db() as session:
        found = await lapse_scan(session, settings, dt.date(2026, 11, 2))
        later = await lapse_scan(session, settings, dt.date(2027, 1, 2))
    # Only October is missing for 李强 now; three months later the gap starts in October.
    assert found == []
    by_person = {f.person_id: f for f in later}
    assert (by_person[li.id].gap.months, month_key(by_person[li.id].gap.since)) == (3, "2026-10")
    assert month_key(by_person[li.id].last_part or 0) == "2026-09"
    liu = await person(db, "刘洋")
    assert month_key(by_person[liu.id].gap.since) == "2026-10"


async def _plan(db: SessionFactory, settings: Settings, when: str) -> None:
    async with db.begin() as session:
        await sources.plan_reminders(session, settings, at(when))


async def _rows(db: SessionFactory, kind: ReminderKind) -> list[tuple[str, int, str, str]]:
    async with db() as session:
        rows = await session.execute(
            select(Reminder.dedupe_key, Account.telegram_id, Reminder.state, Reminder.payload)
            .join(Account, Account.id == Reminder.account_id)
            .where(Reminder.kind == kind.value)
            .order_by(Reminder.id)
        )
    return [(key, telegram, str(state), payload) for key, telegram, state, payload in rows]


async def test_lapse_warnings_are_planned_once_per_episode_and_withdrawn_when_paid(
    db: SessionFactory, demo: dict[str, DemoUser], settings: Settings
) -> None:
    await _story_so_far(db)
    await _plan(db, settings, "2026-11-02 01:00")
    rows = await _rows(db, ReminderKind.LAPSE)
    li = await person(db, "李强")
    secretary, admin = demo["王芳"].telegram_id, demo["林书记"].telegram_id
    assert sorted((telegram, key.rsplit(":", 1)[1]) for key, telegram, _, _ in rows) == sorted(
        [(secretary, "w"), (admin, "a")]
    )
    assert all(key.startswith(f"lapse:{li.id}:2026-06:") for key, *_ in rows)
    assert {payload["escalated"] for *_, payload in rows if "escalated" in payload} == {True}
    await _plan(db, settings, "2026-11-02 03:00")
    assert len(await _rows(db, ReminderKind.LAPSE)) == 2
    # He pays November before the warnings go out at nine: both are withdrawn.
    await _pay(db, "李强", MAY + 6)
    await _plan(db, settings, "2026-11-02 08:00")
    assert {state for _, _, state, _ in await _rows(db, ReminderKind.LAPSE)} == {
        ReminderState.CANCELLED.value
    }


async def test_members_are_reminded_on_their_branchs_collection_day_unless_paid(
    db: SessionFactory, demo: dict[str, DemoUser], settings: Settings
) -> None:
    await _standards(db, (*B1, "杨磊", "赵敏", "吴军"))
    async with db.begin() as session:
        b2, b3 = await branch(db, "DEMO-B2"), await branch(db, "DEMO-B3")
        await set_dues_period(session, org=b2, period=PeriodKind.QUARTER)
        await set_local(session, org=b3, changes={"dues_day": 15})
    await _pay(db, "王芳", month_index(2026, 11))
    await _plan(db, settings, "2026-11-05 07:00")
    rows = await _rows(db, ReminderKind.DUES)
    # B1 collects monthly on the 5th (王芳 has paid); B2 collects quarterly (not in November);
    # B3 on the 15th.
    reminded = {telegram for _, telegram, _, _ in rows}
    assert reminded == {demo[name].telegram_id for name in ("李强", "张伟", "刘洋")}
    li = await person(db, "李强")
    payload = next(p for _, t, _, p in rows if t == demo["李强"].telegram_id)
    assert payload == {
        "branch_id": li.branch_id,
        "person_id": li.id,
        "month": "2026-11",
        "amount_fen": 1000,
        "months_owed": 6,
        "due_day": "2026-11-30",
    }
    # 张伟 pays before nine: his reminder is withdrawn; planning again adds nothing.
    await _pay(db, "张伟", month_index(2026, 11))
    await _plan(db, settings, "2026-11-05 08:30")
    states = {t: s for _, t, s, _ in await _rows(db, ReminderKind.DUES)}
    assert states[demo["张伟"].telegram_id] == ReminderState.CANCELLED.value
    assert len(states) == 3
    await _plan(db, settings, "2026-11-15 07:00")
    assert demo["吴军"].telegram_id in {t for _, t, _, _ in await _rows(db, ReminderKind.DUES)}
    await _plan(db, settings, "2027-01-05 07:00")
    january = [t for key, t, _, _ in await _rows(db, ReminderKind.DUES) if "2027-01" in key]
    assert {demo["杨磊"].telegram_id, demo["赵敏"].telegram_id} <= set(january)


async def test_the_collection_is_a_calendar_obligation_of_the_leaders(
    db: SessionFactory, demo: dict[str, DemoUser], settings: Settings
) -> None:
    await _standards(db, B1)
    await _plan(db, settings, "2026-11-23 08:00")
    rows = await _rows(db, ReminderKind.DUES_COLLECTION)
    b1 = await branch(db, "DEMO-B1")
    assert [(key, t) for key, t, _, _ in rows] == [
        (f"dcol:{b1.id}:2026-11:{(await _account(db, '王芳'))}:d7", demo["王芳"].telegram_id)
    ]
    for name in B1:
        await _pay(db, name, month_index(2026, 11))
    await _plan(db, settings, "2026-11-23 09:30")
    assert {s for _, _, s, _ in await _rows(db, ReminderKind.DUES_COLLECTION)} == {
        ReminderState.CANCELLED.value
    }


async def _account(db: SessionFactory, name: str) -> int:
    who = await person(db, name)
    async with db() as session:
        account = await session.scalar(select(Account.id).where(Account.person_id == who.id))
    assert account is not None
    return account


async def test_the_register_starts_the_regulations_timers(
    db: SessionFactory, demo: dict[str, DemoUser], settings: Settings
) -> None:
    b1 = await branch(db, "DEMO-B1")
    async with db.begin() as session:
        session.add(
            LostContactEntry(
                name="失联者", branch_code="DEMO-B1", branch_id=b1.id, lost_on=dt.date(2026, 5, 10)
            )
        )
    await _plan(db, settings, "2026-11-10 07:00")
    rows = await _rows(db, ReminderKind.LOST_CONTACT)
    assert sorted(t for _, t, _, _ in rows) == sorted(
        [demo["王芳"].telegram_id, demo["林书记"].telegram_id]
    )
    assert {p["months"] for *_, p in rows} == {6}
    await _plan(db, settings, "2026-11-10 12:00")
    assert len(await _rows(db, ReminderKind.LOST_CONTACT)) == 2
    await _plan(db, settings, "2027-11-10 07:00")
    assert sorted(p["months"] for *_, p in await _rows(db, ReminderKind.LOST_CONTACT)) == [
        6,
        6,
        18,
        18,
    ]
    async with db() as session:
        grants = await queries.roles_of(session, (await person(db, "林书记")).id)
        principal = Principal(
            grants=tuple(
                Grant(g.role, g.org_unit_id, g.org_unit.path, g.org_unit.kind, g.org_unit.code)
                for g in grants
            )
        )
        timers = await register_timers(session, principal, dt.date(2026, 12, 1))
    assert [(t.name, t.decide_on, t.next_on) for t in timers] == [
        ("失联者", dt.date(2026, 11, 10), dt.date(2027, 11, 10))
    ]
    assert timers[0].decision_due(dt.date(2026, 12, 1))


async def test_a_mobile_member_without_an_accepted_report_is_warned_with_the_mobile_channel(
    db: SessionFactory, demo: dict[str, DemoUser], settings: Settings
) -> None:
    await _story_so_far(db)
    zhao, li = await person(db, "赵刚"), await person(db, "李强")
    # 赵刚 reported as mobile, but the home branch never accepted it: his months count.
    async with db.begin() as session:
        await session.execute(
            update(RelinkRequest)
            .where(RelinkRequest.person_id == zhao.id)
            .values(state=RequestState.SUBMITTED, accepted_by=None)
        )
    async with db() as session:
        found = await lapse_scan(session, settings, dt.date(2026, 11, 2))
    assert sorted((f.person_id, f.gap.months, month_key(f.gap.since), f.mobile) for f in found) == [
        (li.id, 5, "2026-06", False),
        (zhao.id, 5, "2026-06", True),
    ]
    await _plan(db, settings, "2026-11-02 01:00")
    names = Names(Mentioned(branches={}, people={li.id: "李强", zhao.id: "赵刚"}, trainings={}))
    lines: dict[tuple[int, str], str] = {}
    for *_, data in await _rows(db, ReminderKind.LAPSE):
        payload = payload_of(ReminderKind.LAPSE.value, data)
        assert isinstance(payload, LapsePayload)
        for locale in ("en", "zh_Hans"):
            lines[payload.person_id, locale] = DUES_LINES[LapsePayload](
                Translator(locale), payload, names
            )
    assert "reach them through the mobile-member channel" in lines[zhao.id, "en"]
    assert "请通过流动党员渠道" in lines[zhao.id, "zh_Hans"]
    assert "heart-to-heart talk" not in lines[zhao.id, "en"]
    assert "heart-to-heart talk" in lines[li.id, "en"]
    assert "mobile-member channel" not in lines[li.id, "en"]


async def test_the_months_are_configurable_and_the_member_is_never_changed(
    db: SessionFactory, demo: dict[str, DemoUser], database_url: str
) -> None:
    await _story_so_far(db)
    li = await person(db, "李强")
    early = Settings(
        database_url=database_url,  # type: ignore[arg-type]
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
        lapse_warn_months=2,
        lapse_escalate_months=4,
    )
    async with db() as session:
        # Two whole months (June, July) are enough here; four reach the admin.
        assert [
            (f.person_id, f.gap.months, f.level)
            for f in await lapse_scan(session, early, dt.date(2026, 8, 1))
        ] == [(li.id, 2, Level.SECRETARY)]
        assert [
            (f.gap.months, f.level) for f in await lapse_scan(session, early, dt.date(2026, 10, 1))
        ] == [(4, Level.ADMIN)]

    async def members() -> list[tuple[int, int | None, str]]:
        async with db() as session:
            rows = await session.execute(
                select(Person.id, Person.branch_id, Person.status).order_by(Person.id)
            )
        return [(pid, branch_id, str(status)) for pid, branch_id, status in rows]

    # Six whole months (June to November) count as leaving the Party: Zhibu warns, and
    # nobody's status, branch or roster place changes.
    before = await members()
    await _plan(db, early, "2026-12-02 01:00")
    keys = [key for key, *_ in await _rows(db, ReminderKind.LAPSE)]
    assert any(k.startswith(f"lapse:{li.id}:2026-06:") and k.endswith(":a") for k in keys)
    async with db() as session:
        found = await lapse_scan(session, early, dt.date(2026, 12, 2))
    # 刘洋's sick leave covered August and September: October and November are two.
    liu = await person(db, "刘洋")
    assert sorted((f.person_id, f.gap.months) for f in found) == sorted([(li.id, 6), (liu.id, 2)])
    assert await members() == before
