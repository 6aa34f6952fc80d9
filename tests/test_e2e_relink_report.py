"""/report relink through the fake Bot API: counts, the chart, and the workbook's rows."""

import datetime as dt
import io

from openpyxl import load_workbook

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import OrgKind, RequestType, Role
from bot.fake_telegram import FakeTelegramClient
from bot.relink import (
    Accept,
    AssignedTo,
    Complete,
    CompleteStep,
    DuesSettled,
    EducationTalkHeld,
    IdentityConfirmed,
    IssueLetter,
    SystemFlagCleared,
    service,
)
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from tests.support.relink import THROTTLE, account_of, act


async def _submit(
    db: SessionFactory,
    telegram_id: int,
    kind: RequestType,
    *,
    name: str,
    home: str,
    receiving: str | None,
    phone: str | None,
    now: dt.datetime,
) -> int:
    account, _ = await account_of(db, telegram_id)
    async with db.begin() as session:
        home_unit = await queries.org_by_code(session, home)
        other = await queries.org_by_code(session, receiving) if receiving else None
        stored = await session.get(Account, account.id)
        assert home_unit is not None and stored is not None
        outcome = await service.submit_request(
            session,
            account=stored,
            new=service.NewRequest(
                type=kind,
                name=name,
                home_id=home_unit.id,
                receiving_id=other.id if other else None,
                join_year=2005,
                city="深圳",
                phone=phone,
            ),
            now=now,
            throttle=THROTTLE,
        )
    assert outcome.request is not None
    return outcome.request.id


async def test_admin_report_counts_chart_and_workbook(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    now = dt.datetime.now(dt.UTC)
    secretary = demo["王芳"].telegram_id
    await _submit(
        db,
        demo["李强"].telegram_id,
        RequestType.MOBILE,
        name="李强",
        home="DEMO-B1",
        receiving=None,
        phone="13812345678",
        now=now - dt.timedelta(days=3),
    )
    transfer = await _submit(
        db,
        demo["张伟"].telegram_id,
        RequestType.TRANSFER,
        name="张伟",
        home="DEMO-B1",
        receiving="DEMO-B3",
        phone="+86 139 0000 1111",
        now=now - dt.timedelta(days=40),
    )
    assert (await act(db, secretary, transfer, Accept(), now - dt.timedelta(days=39))).ok
    issued = await act(
        db, secretary, transfer, IssueLetter("B1-9", 10), now - dt.timedelta(days=39)
    )
    assert issued.ok
    reconnect = await _submit(
        db,
        70002,
        RequestType.RECONNECT,
        name="黄小明",
        home="DEMO-B1",
        receiving=None,
        phone=None,
        now=now - dt.timedelta(days=2),
    )
    steps = (
        IdentityConfirmed(),
        EducationTalkHeld(now.date() - dt.timedelta(days=1), "王芳"),
        DuesSettled(3),
        AssignedTo("DEMO-B1"),
        SystemFlagCleared(),
    )
    assert (await act(db, secretary, reconnect, Accept(), now)).ok
    for step in steps:
        assert (await act(db, secretary, reconnect, CompleteStep(step), now)).ok
    assert (await act(db, secretary, reconnect, Complete(), now)).ok

    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    async with db.begin() as session:
        account = await queries.account_by_telegram_id(session, demo["林书记"].telegram_id)
        assert account is not None
        account.locale = "en"
    await admin.send("/report relink")
    text = (await admin.wait_reply()).text
    assert "Open requests: 2" in text
    assert "waiting for review: 1 (0-7 days: 1)" in text
    assert "transfer letter issued: 1 (31-90 days: 1)" in text
    assert "Overdue transfers (pocket members): 1" in text and "B1-9" in text
    assert f"Members re-linked in {now.year}: 1" in text
    chart = await admin.wait_reply()
    assert chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")
    assert "Open requests by state" in chart.text
    document = await admin.wait_reply()
    assert document.document is not None
    assert document.document.filename is not None
    assert document.document.filename.startswith("relink-")

    book = load_workbook(io.BytesIO(document.document.data))
    assert book.sheetnames == [
        "Requests",
        "By state and age",
        "Overdue transfers",
        f"Re-linked in {now.year}",
    ]
    rows = list(book["Requests"].iter_rows(values_only=True))
    assert rows[0][:9] == (
        "No.",
        "Type",
        "State",
        "Name",
        "Phone",
        "Home branch",
        "Other branch",
        "Submitted",
        "Age (days)",
    )
    by_name = {row[3]: row for row in rows[1:]}
    assert set(by_name) == {"李强", "张伟", "黄小明"}
    # Phone numbers are masked in every export.
    assert by_name["李强"][4] == "138****5678"
    assert by_name["张伟"][4] == "139****1111"
    assert by_name["黄小明"][4] in ("", None)
    assert by_name["张伟"][2] == "transfer letter issued" and by_name["张伟"][8] == 40
    assert by_name["张伟"][9] == "B1-9"
    ages = list(book["By state and age"].iter_rows(values_only=True))
    assert ages[0] == ("State", "0-7", "8-30", "31-90", "91+", "Total")
    assert ("waiting for review", 1, 0, 0, 0, 1) in ages
    assert ("transfer letter issued", 0, 0, 1, 0, 1) in ages
    assert book["By state and age"]._charts  # the bar chart travels with the data
    overdue = list(book["Overdue transfers"].iter_rows(values_only=True))
    assert [row[3] for row in overdue[1:]] == ["张伟"]
    relinked = list(book[f"Re-linked in {now.year}"].iter_rows(values_only=True))
    assert [(row[3], row[2]) for row in relinked[1:]] == [("黄小明", "completed")]
    raw = document.document.data
    assert b"13812345678" not in raw and b"0000 1111" not in raw


async def test_only_admins_get_the_report_and_only_their_subtree(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        other = await queries.add_org_unit(
            session, code="WEST", kind=OrgKind.COMMITTEE, name="西区党委", name_en="West"
        )
        branch = await queries.add_org_unit(
            session, code="WEST-B1", kind=OrgKind.BRANCH, name="西区第一支部", parent=other
        )
        admin_person = Person(name="西区管理员")
        session.add(admin_person)
        await session.flush()
        await queries.grant_role(session, person=admin_person, org_unit=other, role=Role.ADMIN)
        session.add(Account(telegram_id=800001, person_id=admin_person.id, locale="en"))
    await _submit(
        db,
        70010,
        RequestType.RECONNECT,
        name="郑西",
        home=branch.code,
        receiving=None,
        phone=None,
        now=dt.datetime.now(dt.UTC),
    )
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="zh-hans")
    await secretary.send("/report relink")
    assert "您的角色无权进行此操作" in (await secretary.wait_reply()).text
    admin = await client.user(demo["林书记"].telegram_id, "林书记", language_code="zh-hans")
    await admin.send("/report relink")
    text = (await admin.wait_reply()).text
    assert "DEMO 流动党员和失联党员情况" in text and "办理中的申请：0" in text
    west = await client.user(800001, "West", language_code="en")
    await west.send("/report relink")
    text = (await west.wait_reply()).text
    assert "WEST" in text and "Open requests: 1" in text
