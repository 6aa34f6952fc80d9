"""Helpers for notice tests: demo people as fake users, composing a notice, a settable clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import PrivateAttr

from bot.app import ZhibuApp
from bot.config import Settings
from bot.delivery import DELIVERY_KEY, DeliveryService
from bot.demo import DemoUser
from bot.enums import NoticeAudience
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
