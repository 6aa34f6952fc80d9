"""Helpers for notice tests: demo people as fake users, composing a notice, a settable clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import PrivateAttr
from sqlalchemy import text

from bot.app import ZhibuApp
from bot.config import Settings
from bot.delivery import DELIVERY_KEY, DeliveryService
from bot.demo import DemoUser
from bot.enums import NoticeAudience, OrgKind, Role
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeMessage, FakeUser
from storage import notice_queries as nq
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person

ADMIN = "林书记"


class ClockSettings(Settings):
    """Settings whose now() the test moves by hand."""

    _now: dt.datetime = PrivateAttr(
        default_factory=lambda: dt.datetime(2026, 11, 21, 2, tzinfo=dt.UTC)
    )

    def now(self) -> dt.datetime:
        """The test's time."""
        return self._now

    def advance(self, delta: dt.timedelta) -> None:
        """Move time on."""
        self._now += delta


def with_clock(settings: Settings, **changes: Any) -> ClockSettings:
    """The same settings with a settable clock (and any changed values)."""
    values = {name: getattr(settings, name) for name in Settings.model_fields}
    return ClockSettings(**{**values, **changes})


def delivery(app: ZhibuApp) -> DeliveryService:
    """The running delivery worker."""
    service: DeliveryService = app.bot_data[DELIVERY_KEY]
    return service


async def demo_users(
    client: FakeTelegramClient, demo: dict[str, DemoUser], *, admin_language: str = "en"
) -> dict[str, FakeUser]:
    """Every demo person as a fake Telegram user (so the bot can reach them)."""
    users = {}
    for name, person in demo.items():
        language = admin_language if name == ADMIN else person.language_code
        users[name] = await client.user(person.telegram_id, name, language_code=language)
    return users


async def wait_status(admin: FakeUser, marker: str) -> FakeMessage:
    """The admin's status message once an edit of it contains marker."""
    while True:
        message = await admin.wait_edit(timeout=10)
        if marker in message.text:
            return message


async def compose(
    admin: FakeUser,
    text: str,
    *,
    second: str | None = None,
    audience: str = "members",
    branches: tuple[str, ...] = (),
    ack: bool = False,
    at: str | None = None,
) -> FakeMessage:
    """Drive /notify by button data (any language) up to the summary to confirm; return it."""
    await admin.send("/notify")
    await admin.wait_reply()
    await admin.send(text)
    question = await admin.wait_reply()
    if second is None:
        await admin.press(question, data="ntf:second:skip")
        audiences = await admin.wait_edit()
    else:
        await admin.press(question, data="ntf:second:add")
        await admin.wait_edit()
        await admin.send(second)
        audiences = await admin.wait_reply()
    await admin.press(audiences, data=f"ntf:aud:{audience}")
    step = await admin.wait_edit()
    if audience == "branches":
        for code in branches:
            label = next(b for b in step.button_texts if b.startswith(code + " "))
            await admin.press(step, label)
            step = await admin.wait_edit()
        await admin.press(step, data="ntf:br:done")
        step = await admin.wait_edit()
    await admin.press(step, data=f"ntf:ack:{int(ack)}")
    when = await admin.wait_edit()
    if at is None:
        await admin.press(when, data="ntf:when:now")
    else:
        await admin.press(when, data="ntf:when:later")
        await admin.wait_edit()
        await admin.send(at)
    while True:
        message = await admin.wait_reply()
        if message.button_texts and message.buttons[0][0][1] == "ntf:confirm":
            return message


async def make_people(db: SessionFactory, branch_code: str, first_id: int, count: int) -> list[int]:
    """Add count members with accounts to a branch; return their Telegram ids."""
    async with db.begin() as session:
        branch = await queries.org_by_code(session, branch_code)
        assert branch is not None
        people = [Person(name=f"成员{first_id + i}", branch_id=branch.id) for i in range(count)]
        session.add_all(people)
        await session.flush()
        session.add_all(
            Account(telegram_id=first_id + i, person_id=p.id, telegram_language="en")
            for i, p in enumerate(people)
        )
    return [first_id + i for i in range(count)]


async def notice_now(
    db: SessionFactory,
    *,
    now: dt.datetime,
    audience: NoticeAudience = NoticeAudience.MEMBERS,
    text: str = "Branch meeting on Friday.",
    ack: bool = False,
) -> int:
    """A notice from the demo admin to the demo committee's audience, due now; its id."""
    async with db.begin() as session:
        org = await queries.org_by_code(session, "DEMO")
        assert org is not None
        notice = await nq.create_notice(
            session,
            org=org,
            created_by=None,
            audience=audience,
            branch_ids=[],
            texts={"en": text},
            primary_locale="en",
            require_ack=ack,
            media_kind=None,
            media_file_id=None,
            send_at=now,
            admin_chat_id=None,
            progress_message_id=None,
        )
    return notice.id


# ---- forged buttons: a sibling subtree, strangers, and what must not change ------------------

SIBLING_ADMIN_ID = 970001
SIBLING_MEMBER_ID = 970002
STRANGER_ID = 970099


async def sibling_committee(db: SessionFactory) -> dict[str, int]:
    """A second committee beside DEMO (SIB, with branch SIB-B1), its own admin (admin of SIB and
    of SIB-B1, so /notify and /training ask which node) and a member with an account; the ids
    of the nodes and of DEMO's."""
    async with db.begin() as session:
        sib = await queries.add_org_unit(
            session, code="SIB", kind=OrgKind.COMMITTEE, name="兄弟党委", name_en="Sibling"
        )
        branch = await queries.add_org_unit(
            session, code="SIB-B1", kind=OrgKind.BRANCH, name="兄弟支部", parent=sib
        )
        admin = Person(name="王书记", branch_id=None)
        member = Person(name="兄弟党员", branch_id=branch.id)
        session.add_all([admin, member])
        await session.flush()
        for node in (sib, branch):
            await queries.grant_role(session, person=admin, org_unit=node, role=Role.ADMIN)
        session.add_all(
            [
                Account(telegram_id=SIBLING_ADMIN_ID, person_id=admin.id, telegram_language="en"),
                Account(telegram_id=SIBLING_MEMBER_ID, person_id=member.id, telegram_language="en"),
            ]
        )
        demo = await queries.org_by_code(session, "DEMO")
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert demo is not None and b1 is not None
        return {"SIB": sib.id, "SIB-B1": branch.id, "DEMO": demo.id, "DEMO-B1": b1.id}


async def snapshot(db: SessionFactory) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a forged button could change: notices and copies, trainings and answers,
    reminders and their settings, conversation drafts and the audit log."""
    tables = {
        "notices": "SELECT id, state, send_at, rounds, admin_chat_id, progress_message_id, "
        "finished_at FROM notices",
        "copies": "SELECT id, state, round, acknowledged_at, not_before FROM notice_deliveries",
        "trainings": "SELECT id, cancelled_at, attendance_recorded_at FROM trainings",
        "invitees": "SELECT id, rsvp, attended FROM training_invitees",
        "reminders": "SELECT id, state, due_at FROM reminders",
        "settings": "SELECT account_id, muted, quiet_start, quiet_end, digest_weekday, "
        "digest_hour FROM reminder_settings",
        "drafts": "SELECT name, chat_id, user_id, state, data FROM conversations",
        "audit": "SELECT id, action FROM audit_log",
    }
    found = {}
    async with db() as session:
        for name, query in tables.items():
            rows = await session.execute(text(query))
            found[name] = sorted(tuple(str(value) for value in row) for row in rows)
    return found
