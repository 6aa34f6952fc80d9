"""Forged meeting, calendar and committee buttons (issue 11's table, for issue 12's prefixes):
a real button of one branch replayed with the ids of another branch's meeting, someone else's
invitation or a branch not led, or pressed outside the sign-in window, as a secretary of
another branch, a member, the admin of a sibling committee and a stranger. Nothing changes,
nothing about the meeting is revealed, and the presser gets a short refusal in their
language."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.fake_telegram.client import FakeMessage, FakeUser
from storage import queries
from storage.db import SessionFactory
from tests.support.bot import running_bot, settings_for
from tests.support.meetings import call_meeting, has, snapshot, until
from tests.support.notices import SIBLING_ADMIN_ID, STRANGER_ID, sibling_committee
from tests.support.reminders import Clock, at

AGENDA = "Closed agenda of the First Branch"
REFUSED = {
    "en": "Sorry, this is not available for your role. Nothing was changed.",
    "zh": "抱歉，您的角色无权进行此操作，未做任何更改。",
}
NOT_REGISTERED = "You are not registered yet"
NOT_A_LEADER = {
    "en": "Only the secretary or deputy secretary of a branch can log or change its",
    "zh": "只有党支部书记或副书记",
}
SIGN_IN = "Sign-in is open from"
STALE = "This button is no longer active."


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Every Settings.now() in the bot reads this clock: Friday 2026-11-20 10:00 in Shanghai."""
    moving = Clock(at("2026-11-20 10:00"))
    monkeypatch.setattr(Settings, "now", lambda self: moving())
    return moving


@pytest.fixture
async def bot_at(
    database_url: str, telegram: FakeTelegramServer, clock: Clock
) -> AsyncIterator[ZhibuApp]:
    """The real bot, started after the clock is in place."""
    async with running_bot(settings_for(database_url, telegram)) as application:
        yield application


async def _press(user: FakeUser, message: FakeMessage, data: str) -> str:
    """Press a forged button; the refusal the presser gets (an alert, or a message)."""
    update_id = await user.press_data(message, data)
    answer = await user.callback_answer(update_id)
    if answer.get("text"):
        return str(answer["text"])
    return (await user.wait_reply()).text


async def _something_to_press(user: FakeUser) -> FakeMessage:
    await user.send("/help")
    return await user.wait_reply()


async def test_forged_meeting_buttons_change_nothing_and_reveal_nothing(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    await sibling_committee(db)
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    member = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    other_secretary = await client.user(demo["陈静"].telegram_id, "陈静", language_code="zh-hans")
    other_member = await client.user(demo["杨磊"].telegram_id, "杨磊", language_code="en")
    sibling = await client.user(SIBLING_ADMIN_ID, "Wang", language_code="en")
    stranger = await client.user(STRANGER_ID, "Stranger", language_code="en")
    preview = await call_meeting(
        secretary,
        kinds=("committee_meeting",),
        when="2026-11-25 14:00",
        place="Room 1",
        agenda=AGENDA,
        reason=True,
    )
    await secretary.press(preview, data="meet:send")
    await secretary.wait_edit()
    invitation = await until(member, has("invited to a meeting"), edits=False)
    async with db() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        him = await queries.person_in_branch(session, branch=b1, name="李强")  # type: ignore[arg-type]
    assert b1 is not None and him is not None
    # Buttons of meeting #1 of DEMO-B1: its invitation, its card, its record; DEMO-B1's calendar.
    answers = ["mt:y:1", "mt:rm:1", "mt:n:1", "mt:l:1", "mt:why:1:sick", "mt:why:none:1", "mt:v:1"]
    manage = [
        "mt:card:1",
        "mt:chk:1:0",
        f"mt:tick:1:{him.id}:0",
        "mt:x:1",
        "mt:xy:1:1",
        "mt:mv:1",
        "mt:log:1",
    ]
    calendar = [f"du:td:{b1.id}", f"du:tds:{b1.id}:5", f"du:prep:{b1.id}:study"]
    other_secretary_message = await _something_to_press(other_secretary)
    other_member_message = await _something_to_press(other_member)
    sibling_message = await _something_to_press(sibling)
    stranger_message = await _something_to_press(stranger)
    cases: list[tuple[FakeUser, FakeMessage, str, str]] = []
    # The secretary of another branch: neither invited to it nor managing it.
    for data in answers + manage[:-1] + calendar:
        cases.append((other_secretary, other_secretary_message, data, REFUSED["zh"]))
    cases.append((other_secretary, other_secretary_message, "mt:log:1", NOT_A_LEADER["zh"]))
    # A member of another branch answering someone else's invitation.
    for data in answers:
        cases.append((other_member, other_member_message, data, REFUSED["en"]))
    # An invitee of the meeting: their own answers work, managing it does not; "I'm here"
    # before sign-in opens changes nothing; remotely is not offered to a regular member.
    for data in manage[:-1] + calendar:
        cases.append((member, invitation, data, REFUSED["en"]))
    cases.append((member, invitation, "mt:log:1", NOT_A_LEADER["en"]))
    cases.append((member, invitation, "mt:here:1", SIGN_IN))
    cases.append((member, invitation, "mt:rm:1", REFUSED["en"]))
    # The admin of a sibling committee and someone who never registered.
    for data in answers + manage[:-1] + calendar:
        cases.append((sibling, sibling_message, data, REFUSED["en"]))
        cases.append((stranger, stranger_message, data, NOT_REGISTERED))
    # Another conversation's buttons outside it are only stale.
    for data in ("meet:send", "meet:aud:branch", "mt:mvy", "mt:nonote", "acs:cmp:1:youth"):
        cases.append((other_secretary, other_secretary_message, data, "这个按钮已失效"))
    for user, message, data, expected in cases:
        before = await snapshot(db)
        refusal = await _press(user, message, data)
        assert refusal.startswith(expected) or expected in refusal, (user, data, refusal)
        assert AGENDA not in refusal and "Room 1" not in refusal, (user, data, refusal)
        assert await snapshot(db) == before, (user, data)
    # The secretary's own checklist refuses a person not invited, and outside the window.
    async with db() as session:
        b2 = await queries.org_by_code(session, "DEMO-B2")
        stranger_person = await queries.person_in_branch(session, branch=b2, name="杨磊")  # type: ignore[arg-type]
    assert stranger_person is not None
    card = await _something_to_press(secretary)
    clock.set(at("2026-11-25 14:10"))
    for data in (f"mt:tick:1:{stranger_person.id}:0",):
        before = await snapshot(db)
        assert (await _press(secretary, card, data)).startswith(SIGN_IN)
        assert await snapshot(db) == before
    clock.set(at("2026-11-26 14:10"))
    for data in ("mt:here:1", f"mt:tick:1:{him.id}:0", "mt:chk:1:0"):
        before = await snapshot(db)
        user, message = (member, invitation) if data == "mt:here:1" else (secretary, card)
        assert (await _press(user, message, data)).startswith(SIGN_IN), data
        assert await snapshot(db) == before
