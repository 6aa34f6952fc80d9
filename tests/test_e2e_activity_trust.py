"""Trust in the activity log, through the fake Bot API: forged buttons naming another
branch's activity, branch, party group or person change nothing and reveal nothing; two
leaders changing the same activity at once decide once; absence reasons are optional, with
their purpose shown; 'late' is judged on the bot's clock in the organisation's zone."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import OrgKind, Role
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeUser
from bot.rules.calendar import PeriodKind, period_containing
from bot.rules.kinds import ActivityKind
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, ConversationRecord, Person
from storage.models_activity import Activity
from tests.support.activity import activities, add_activity, as_user, org_today, pin_clock

K = ActivityKind
SECRET_TOPIC = "Budget of the first branch"
SECRET_MINUTES = "Deliberations nobody else may read"
REFUSED = "Nothing was changed"
REFUSED_ZH = "未做任何更改"


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's clock stands still (a run across midnight in Shanghai must not matter)."""
    pin_clock(monkeypatch)


async def _sibling_admin(db: SessionFactory) -> int:
    """A second committee beside the demo one, with its own admin; their Telegram id."""
    async with db.begin() as session:
        other = await queries.add_org_unit(
            session, code="OTHER", kind=OrgKind.COMMITTEE, name="另一党委", name_en="Other"
        )
        await queries.add_org_unit(
            session, code="OTHER-B1", kind=OrgKind.BRANCH, name="另一支部", parent=other
        )
        admin = Person(name="外委书记", branch_id=None)
        session.add(admin)
        await session.flush()
        await queries.grant_role(session, person=admin, org_unit=other, role=Role.ADMIN)
        session.add(Account(telegram_id=990001, person_id=admin.id, telegram_language="en"))
    return 990001


async def _b1_secret(db: SessionFactory) -> tuple[int, int]:
    """A committee meeting of DEMO-B1 with minutes and an excused absentee; (activity, branch)."""
    activity_id = await add_activity(
        db, "DEMO-B1", org_today(), (K.COMMITTEE_MEETING,), topic=SECRET_TOPIC
    )
    async with db.begin() as session:
        activity = await session.get(Activity, activity_id)
        assert activity is not None
        activity.minutes = SECRET_MINUTES
        activity.attachments = [{"type": "document", "file_id": "f1", "name": "minutes.txt"}]
        activity.absences = [{"person_id": 1, "name": "张伟", "reason": "sick"}]
        return activity_id, activity.branch_id


async def _said(user: FakeUser, client: FakeTelegramClient) -> str:
    """Everything the bot told this user: messages as they are now, and alerts."""
    texts = [message.text or "" for message in await user.messages()]
    texts += [
        str(answer.get("text") or "")
        for answer in await client.callback_answers()
        if answer["user_id"] == user.user_id
    ]
    return "\n".join(texts)


async def _refusal(user: FakeUser, anchor: FakeMessage, data: str, *, registered: bool) -> str:
    """Press a forged button; the short refusal the user gets."""
    update_id = await user.press_data(anchor, data)
    if not registered:
        return (await user.wait_reply()).text
    return str((await user.callback_answer(update_id))["text"])


async def test_forged_buttons_naming_another_branch_change_and_reveal_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    activity_id, b1_id = await _b1_secret(db)
    sibling_id = await _sibling_admin(db)
    async with db() as session:
        committee = await queries.org_by_code(session, "DEMO")
        assert committee is not None
    month = period_containing(PeriodKind.MONTH, org_today()).key
    forged = [
        f"ac:v:{activity_id}:0",
        f"ac:f:{activity_id}",
        f"ac:e:{activity_id}",
        f"ac:x:{activity_id}",
        f"du:{b1_id}:{month}",
    ]
    # The same buttons naming nothing at all: the answers must be the same, so a refusal
    # does not even say whether the other branch's activity exists.
    missing = ["ac:v:999999:0", "ac:f:999999", "ac:e:999999", "ac:x:999999", f"du:999999:{month}"]
    personas = [
        (await as_user(client, demo, "陈静"), True, REFUSED),  # secretary of DEMO-B2
        (await as_user(client, demo, "杨磊", "zh-hans"), True, REFUSED_ZH),  # member of B2
        (await client.user(sibling_id, "外委书记", language_code="en"), True, REFUSED),
        (await client.user(424242, "Stranger", language_code="en"), False, "not registered"),
    ]
    for user, registered, refusal in personas:
        await user.send("/help")
        anchor = await user.wait_reply()
        for data, none in zip(forged, missing, strict=True):
            said = await _refusal(user, anchor, data, registered=registered)
            assert refusal in said and len(said) <= 200, (user, data, said)
            assert said == await _refusal(user, anchor, none, registered=registered), (user, data)
        everything = await _said(user, client)
        for secret in (SECRET_TOPIC, SECRET_MINUTES, "张伟", "First Party Branch", "第一党支部"):
            assert secret not in everything, (user, secret)
        async with db() as session:
            drafts = await session.scalars(
                select(ConversationRecord).where(ConversationRecord.user_id == user.user_id)
            )
            assert list(drafts) == [], user  # no correction or voiding was opened
    # An admin of the demo committee may read DEMO-B1's /due, but a committee is no branch.
    admin = await as_user(client, demo, "林书记")
    await admin.send("/help")
    anchor = await admin.wait_reply()
    said = await _refusal(admin, anchor, f"du:{committee.id}:{month}", registered=True)
    assert REFUSED in said
    [stored] = await activities(db)
    assert (stored.version, stored.voided, stored.topic) == (1, False, SECRET_TOPIC)
    async with db() as session:
        assert await queries.audit_entries(session) == []


async def test_forged_party_group_and_absentee_of_another_branch_are_refused(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        b2 = await queries.org_by_code(session, "DEMO-B2")
        assert b1 is not None and b2 is not None
        b1_group = await queries.add_org_unit(
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
        wang = await queries.person_in_branch(session, branch=b1, name="王芳")
        assert wang is not None
        b1_group_id, b2_group_id, wang_id = b1_group.id, b2_group.id, wang.id
    secretary = await as_user(client, demo, "陈静")
    await secretary.send("party group meeting today 2/3 topic: study")
    group = await secretary.wait_reply()
    assert group.button_texts == ["Group two"]
    update_id = await secretary.press_data(group, f"lg:g:{b1_group_id}")
    assert REFUSED in (await secretary.callback_answer(update_id))["text"]
    await secretary.press(group, "Group two")
    summary = await secretary.wait_edit()
    await secretary.press(summary, "Absent")
    absent = await secretary.wait_edit()
    assert "王芳" not in absent.button_texts
    update_id = await secretary.press_data(absent, f"lg:ab:{wang_id}")
    assert REFUSED in (await secretary.callback_answer(update_id))["text"]
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
