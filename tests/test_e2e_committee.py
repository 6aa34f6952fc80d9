"""The branch committee and party groups: committee members and group leaders come with the
roster import and admins appoint committee members in /access; a party group's leader calls
the group's meeting; a secretary sends a short notice to the branch or one party group with
the delivery, acknowledgement and progress of /notify."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import CommitteePost, Role
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.imports import ImportFailed, import_file
from storage import queries
from storage.db import SessionFactory
from storage.models import Person, RoleAssignment
from storage.models_meetings import MeetingInvitee
from tests.support.bot import running_bot, settings_for
from tests.support.meetings import add_members, add_party_group, grant, has, until
from tests.support.notices import wait_status
from tests.support.reminders import Clock

ORG = [
    "code,parent,kind,name,name_en",
    "C1,,committee,城关镇党委,Chengguan",
    "B1,C1,branch,第一党支部,First Branch",
    "B2,C1,branch,第二党支部,",
    "G1,B1,party_group,第一党小组,",
    "G2,B2,party_group,第二党小组,",
]
PEOPLE = [
    "name,branch,role,group,post",
    "王芳,B1,secretary,,",
    "李强,B1,committee,G1,organisation",
    "张伟,B1,支部委员,,宣传委员",
    "刘洋,B1,党小组长,G1,",
    "赵敏,B1,member,G1,",
]


@pytest.fixture
async def bot_at(
    database_url: str, telegram: FakeTelegramServer, clock: Clock
) -> AsyncIterator[ZhibuApp]:
    """The real bot, started after the clock is in place."""
    async with running_bot(settings_for(database_url, telegram)) as application:
        yield application


def _csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_roster_import_grants_committee_posts_groups_and_group_leaders(
    db: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url)
    await import_file(settings, "org", _csv(tmp_path / "org.csv", ORG))
    summary = await import_file(settings, "people", _csv(tmp_path / "people.csv", PEOPLE))
    assert summary == "people: 5 created, 0 updated, 0 unchanged"
    async with db() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
        roles = {
            (people_name, a.org_unit.code, a.role, a.post)
            for people_name, person in people.items()
            for a in await queries.roles_of(session, person.id)
        }
        g1 = await queries.org_by_code(session, "G1")
    assert roles == {
        ("王芳", "B1", Role.SECRETARY, None),
        ("李强", "B1", Role.COMMITTEE, CommitteePost.ORGANISATION),
        ("张伟", "B1", Role.COMMITTEE, CommitteePost.PROPAGANDA),
        ("刘洋", "G1", Role.GROUP_LEADER, None),
    }
    assert g1 is not None
    assert {n for n, p in people.items() if p.party_group_id == g1.id} == {"李强", "刘洋", "赵敏"}
    # Importing the same file again changes nothing; bad rows import nothing.
    again = await import_file(settings, "people", _csv(tmp_path / "people.csv", PEOPLE))
    assert again == "people: 0 created, 0 updated, 5 unchanged"
    bad = [
        "name,branch,role,group,post",
        "甲,B1,member,,organisation",
        "乙,B1,group_leader,,",
        "丙,B1,,G2,",
    ]
    with pytest.raises(ImportFailed) as failed:
        await import_file(settings, "people", _csv(tmp_path / "bad.csv", bad))
    text = str(failed.value)
    assert "a post is for committee members" in text
    assert "a party group leader needs the party group" in text
    assert "G2 is not a party group of B1" in text


async def test_an_admin_appoints_a_committee_member_with_a_post(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    await admin.send("/access")
    await admin.wait_reply()
    await admin.send("杨磊")
    found = await admin.wait_reply()
    await admin.press(found, found.button_texts[0])
    card = await admin.wait_edit()
    await admin.press(card, "Appoint to the branch committee")
    posts = await admin.wait_edit()
    assert "Appoint 杨磊 to the committee of Second Party Branch? Choose their post." in posts.text
    await admin.press(posts, "propaganda member")
    card = await admin.wait_edit()
    assert "Appointed to the branch committee (propaganda member)." in card.text
    assert "branch committee member (propaganda member) of Second Party Branch" in card.text
    assert "Appoint to the branch committee" not in card.button_texts
    async with db() as session:
        assignment = await session.scalar(
            select(RoleAssignment).where(RoleAssignment.role == Role.COMMITTEE)
        )
        audit = await queries.audit_entries(session, action="role.grant")
    assert assignment is not None and assignment.post is CommitteePost.PROPAGANDA
    assert audit and audit[0].details["post"] == "propaganda"


async def test_a_group_leader_calls_the_groups_meeting(
    bot_at: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await add_party_group(db, "DEMO-B1", "DEMO-B1-G1", "第一党小组")
    await add_members(
        db, "DEMO-B1", [("组员甲", 940001, "en"), ("组员乙", 940002, "en")], group="DEMO-B1-G1"
    )
    await grant(db, "组员甲", "DEMO-B1-G1", Role.GROUP_LEADER)
    leader = await client.user(940001, "组员甲", language_code="en")
    other = await client.user(940002, "组员乙", language_code="en")
    outside = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    await leader.send("/meet")
    assert "When is it?" in (await leader.wait_reply()).text
    for answer in ("2026-11-25 19:00", "Tea room", "Group study"):
        await leader.send(answer)
        question = await leader.wait_reply()
    await leader.press(question, data="meet:rsn:0")
    preview = await leader.wait_edit()
    assert "Invited: 2 (one party group)." in preview.text
    assert "party group meeting" in preview.text
    await leader.press(preview, data="meet:send")
    await leader.wait_edit()
    await until(other, has("invited to a meeting"), edits=False)
    await outside.expect_no_reply(within=0.5)
    async with db() as session:
        invited = list(await session.scalars(select(MeetingInvitee.person_id)))
    assert len(invited) == 2
    # The group's leader manages its meeting, and nothing of the branch's.
    await leader.press_data(preview, "mt:card:1")
    assert "Meeting #1" in (await leader.wait_edit()).text


async def test_a_secretary_notifies_the_branch_or_one_party_group(
    bot_at: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await add_party_group(db, "DEMO-B1", "DEMO-B1-G1", "第一党小组")
    await add_members(db, "DEMO-B1", [("组员甲", 940001, "en")], group="DEMO-B1-G1")
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    members = {
        name: await client.user(demo[name].telegram_id, name, language_code="en")
        for name in ("李强", "张伟", "刘洋")
    }
    grouped = await client.user(940001, "组员甲", language_code="en")
    other_branch = await client.user(demo["杨磊"].telegram_id, "杨磊", language_code="en")

    async def notify(node: str, text: str) -> None:
        await secretary.send("/notify")
        nodes = await secretary.wait_reply()
        assert nodes.button_texts == ["DEMO-B1", "DEMO-B1-G1"]
        await secretary.press(nodes, node)
        await secretary.wait_edit()
        await secretary.send(text)
        await secretary.press(await secretary.wait_reply(), data="ntf:second:skip")
        ack = await secretary.wait_edit()
        assert "acknowledge" in ack.text
        await secretary.press(ack, data="ntf:ack:1")
        await secretary.press(await secretary.wait_edit(), data="ntf:when:now")
        summary = await until(
            secretary, lambda m: bool(m.button_texts) and "Confirm and send" in m.button_texts
        )
        await secretary.press(summary, "Confirm and send")
        await wait_status(secretary, "has gone out")

    await notify("DEMO-B1", "Branch meeting moved to Friday")
    for user in (*members.values(), grouped):
        copy = await until(user, has("Branch meeting moved to Friday"), edits=False)
        await user.press(copy, "Acknowledge")
    await other_branch.expect_no_reply(within=0.5)
    await notify("DEMO-B1-G1", "Group study on Sunday")
    await until(grouped, has("Group study on Sunday"), edits=False)
    for user in members.values():
        assert not any("Group study" in m.text for m in await user.messages())
