"""Trust in the activity log, through the fake Bot API: a committee is no branch for /due;
two leaders changing the same activity at once decide once; absence reasons are optional,
with their purpose shown; 'late' is judged on the bot's clock in the organisation's zone.
(Forged buttons naming another branch's objects: tests/test_forged_buttons.py.)"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import OrgKind, Role
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeUser
from bot.rules.calendar import PeriodKind, period_containing
from bot.rules.kinds import ActivityKind
from storage import queries
from storage.db import SessionFactory
from tests.support.activity import activities, add_activity, as_user, org_today, pin_clock

K = ActivityKind
REFUSED = "Nothing was changed"


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's clock stands still (a run across midnight in Shanghai must not matter)."""
    pin_clock(monkeypatch)


async def _said(user: FakeUser, client: FakeTelegramClient) -> str:
    """Everything the bot told this user: messages as they are now, and alerts."""
    texts = [message.text or "" for message in await user.messages()]
    texts += [
        str(answer.get("text") or "")
        for answer in await client.callback_answers()
        if answer["user_id"] == user.user_id
    ]
    return "\n".join(texts)


# Forged buttons naming another branch's activity, branch, party group or person (ac:v,
# ac:f, ac:e, ac:x, du, lg:b, lg:g, lg:ab) are pressed by tests/test_forged_buttons.py, as
# a secretary of another branch, a member, a sibling committee's admin and a stranger.


async def test_an_admin_over_a_committee_is_refused_its_due_list(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    """An admin of the demo committee may read DEMO-B1's /due, but a committee is no branch."""
    async with db() as session:
        committee = await queries.org_by_code(session, "DEMO")
        assert committee is not None
    month = period_containing(PeriodKind.MONTH, org_today()).key
    admin = await as_user(client, demo, "林书记")
    await admin.send("/help")
    anchor = await admin.wait_reply()
    update_id = await admin.press_data(anchor, f"du:{committee.id}:{month}")
    assert REFUSED in str((await admin.callback_answer(update_id))["text"])


async def test_an_absence_reason_is_optional_and_says_why_it_is_asked(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        b2 = await queries.org_by_code(session, "DEMO-B2")
        assert b1 is not None and b2 is not None
        await queries.add_org_unit(
            session, code="B1-G1", kind=OrgKind.PARTY_GROUP, name="一组", parent=b1
        )
        b2_group = await queries.add_org_unit(
            session,
            code="B2-G1",
            kind=OrgKind.PARTY_GROUP,
            name="二组",
            name_en="Group two",
            parent=b2,
        )
        b2_group_id = b2_group.id
    secretary = await as_user(client, demo, "陈静")
    await secretary.send("party group meeting today 2/3 topic: study")
    group = await secretary.wait_reply()
    assert group.button_texts == ["Group two"]
    await secretary.press(group, "Group two")
    summary = await secretary.wait_edit()
    await secretary.press(summary, "Absent")
    absent = await secretary.wait_edit()
    assert "王芳" not in absent.button_texts
    await secretary.press(absent, "杨磊")
    reason = await secretary.wait_edit()
    assert "record of who was excused" in reason.text and "optional" in reason.text
    assert reason.button_texts[-1] == "Skip"
    await secretary.press(reason, "Skip")
    absent = await secretary.wait_edit()
    assert "Absent so far: 杨磊" in absent.text and "杨磊 (" not in absent.text
    await secretary.press(absent, "Done")
    summary = await secretary.wait_edit()
    assert "Absent: 杨磊\n" in summary.text
    await secretary.press(summary, "Save")
    await secretary.wait_edit()
    [saved] = await activities(db)
    assert saved.branch_id == b2.id and saved.party_group_id == b2_group_id
    assert [(a["name"], a["reason"]) for a in saved.absences] == [("杨磊", None)]
    assert "王芳" not in await _said(secretary, client)


async def _open_correction(user: FakeUser, activity_id: int) -> FakeMessage:
    await user.send("/activities")
    listing = await user.wait_reply()
    await user.press(listing, data=f"ac:v:{activity_id}:0")
    view = await user.wait_edit()
    await user.press(view, "Correct")
    return await user.wait_edit()


async def _two_leaders(
    db: SessionFactory, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> tuple[FakeUser, FakeUser]:
    async with db.begin() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert b1 is not None
        deputy = await queries.person_in_branch(session, branch=b1, name="李强")
        assert deputy is not None
        await queries.grant_role(session, person=deputy, org_unit=b1, role=Role.DEPUTY)
    return await as_user(client, demo, "王芳"), await as_user(client, demo, "李强")


async def test_two_leaders_correcting_at_once_decide_once(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    activity_id = await add_activity(db, "DEMO-B1", org_today(), (K.TALK,), topic="Old")
    wang, li = await _two_leaders(db, client, demo)
    summaries = []
    for user, topic in ((wang, "Topic of the secretary"), (li, "Topic of the deputy")):
        summary = await _open_correction(user, activity_id)
        await user.press(summary, "Topic")
        await user.wait_edit()
        await user.send(topic)
        summaries.append(await user.wait_reply())
    # Both press Save before either answer comes.
    await wang.press(summaries[0], "Save")
    await li.press(summaries[1], "Save")
    outcomes = sorted([(await wang.wait_edit()).text, (await li.wait_edit()).text])
    assert outcomes[0].startswith(f"Activity #{activity_id} was changed by another leader")
    assert outcomes[1].startswith(f"Corrected activity #{activity_id}")
    [stored] = await activities(db)
    assert stored.version == 2
    assert stored.topic in ("Topic of the secretary", "Topic of the deputy")
    async with db() as session:
        assert len(await queries.audit_entries(session, action="activity.corrected")) == 1


async def test_two_leaders_voiding_at_once_decide_once(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    activity_id = await add_activity(db, "DEMO-B1", org_today(), (K.TALK,))
    wang, li = await _two_leaders(db, client, demo)
    reasons = []
    for user in (wang, li):
        await user.send("/activities")
        listing = await user.wait_reply()
        await user.press(listing, data=f"ac:v:{activity_id}:0")
        await user.press(await user.wait_edit(), "Void")
        reasons.append(await user.wait_edit())
    await wang.press(reasons[0], "duplicate entry")
    await li.press(reasons[1], "entered by mistake")
    outcomes = sorted([(await wang.wait_edit()).text, (await li.wait_edit()).text])
    assert outcomes[0].startswith(f"Activity #{activity_id} is void: ")
    assert outcomes[1].startswith(f"Activity #{activity_id} was changed by another leader")
    [stored] = await activities(db)
    assert stored.voided and stored.version == 2
    async with db() as session:
        assert len(await queries.audit_entries(session, action="activity.voided")) == 1


async def test_a_correction_judges_late_on_the_bots_clock_in_the_organisations_zone(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    # The clock is at 00:30 in Shanghai: still the day before in UTC.
    secretary = await as_user(client, demo, "王芳")
    for days in (7, 8):
        day = org_today() - dt.timedelta(days=days)
        await secretary.send(f"heart-to-heart talk {day.isoformat()} 3/4 topic: talk {days}")
        await secretary.press(await secretary.wait_reply(), "Save")
        await secretary.wait_edit()
    first = {a.topic: a for a in await activities(db)}
    assert (first["talk 7"].late, first["talk 8"].late) == (False, True)
    for activity in first.values():
        summary = await _open_correction(secretary, activity.id)
        await secretary.press(summary, "Place")
        await secretary.wait_edit()
        await secretary.send("Room 2")
        await secretary.press(await secretary.wait_reply(), "Save")
        await secretary.wait_edit()
    corrected = {a.topic: a for a in await activities(db)}
    assert (corrected["talk 7"].late, corrected["talk 8"].late) == (False, True)
    assert all(a.place == "Room 2" for a in corrected.values())
    async with db() as session:
        entries = await queries.audit_entries(session, action="activity.corrected")
    assert [e.details["changes"] for e in entries] == [
        {"place": [None, "Room 2"]},
        {"place": [None, "Room 2"]},
    ]
