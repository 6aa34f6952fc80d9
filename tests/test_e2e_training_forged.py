"""Forged training buttons (issue 11): a button of one subtree replayed with the ids of another's
trainings, invitees and nodes, by a member, a secretary, the admin of a sibling committee and a
stranger. Nothing changes, nothing about the training is revealed, and the presser gets a short
refusal in their language."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import TrainingAudience, TrainingKind
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeMessage, FakeUser
from storage import queries
from storage import training_queries as tq
from storage.db import SessionFactory
from storage.models import Person
from tests.support.notices import SIBLING_ADMIN_ID, STRANGER_ID, sibling_committee, snapshot

TITLE = "Closed study of the First Branch"
REFUSED = {
    "en": "Sorry, this is not available for your role. Nothing was changed.",
    "zh": "抱歉，您的角色无权进行此操作，未做任何更改。",
}
NOT_OPEN = "This invitation is no longer open."
NOT_REGISTERED = "You are not registered yet"


async def _training(db: SessionFactory, code: str, starts_at: dt.datetime) -> int:
    """A training of a node's secretaries (DEMO: 王芳, 陈静, 周涛 are invited)."""
    async with db.begin() as session:
        org = await queries.org_by_code(session, code)
        assert org is not None
        training = await tq.add_training(
            session,
            org=org,
            kind=TrainingKind.ROTATION,
            audience=TrainingAudience.SECRETARIES,
            title=TITLE,
            place="Room 1",
            starts_at=starts_at,
            created_by=None,
        )
        return training.id


async def _person(db: SessionFactory, name: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Person.id).where(Person.name == name))
    assert found is not None
    return found


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


async def test_forged_training_buttons_change_nothing_and_reveal_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await sibling_committee(db)
    now = dt.datetime.now(dt.UTC)
    coming = await _training(db, "DEMO", now + dt.timedelta(days=3))
    held = await _training(db, "DEMO", now - dt.timedelta(hours=1))
    theirs = await _training(db, "SIB", now - dt.timedelta(hours=1))
    wang = await _person(db, "王芳")
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="zh-hans")
    sibling = await client.user(SIBLING_ADMIN_ID, "Wang", language_code="en")
    stranger = await client.user(STRANGER_ID, "Stranger", language_code="en")
    pressed = {
        user: await _something_to_press(user) for user in (member, secretary, sibling, stranger)
    }
    cases = [
        # Only invitees answer, each their own invitation.
        (member, f"trn:y:{coming}", NOT_OPEN),
        (member, f"trn:n:{coming}", NOT_OPEN),
        (sibling, f"trn:y:{coming}", NOT_OPEN),
        # Members and secretaries administer no trainings.
        (member, f"trn:v:{coming}", REFUSED["en"]),
        (member, f"trn:c:{coming}", REFUSED["en"]),
        (member, f"trn:cy:{coming}", REFUSED["en"]),
        (member, f"trn:att:{held}:0", REFUSED["en"]),
        (member, f"trn:a:{held}:{wang}:0", REFUSED["en"]),
        (member, "trn:m:1", REFUSED["en"]),
        (secretary, f"trn:cy:{coming}", REFUSED["zh"]),
        (secretary, f"trn:a:{held}:{wang}:0", REFUSED["zh"]),
        # The admin of the sibling committee: DEMO's trainings are not theirs, nor is a DEMO
        # person an invitee of their own training.
        (sibling, f"trn:v:{coming}", REFUSED["en"]),
        (sibling, f"trn:c:{coming}", REFUSED["en"]),
        (sibling, f"trn:cy:{coming}", REFUSED["en"]),
        (sibling, f"trn:att:{held}:0", REFUSED["en"]),
        (sibling, f"trn:a:{held}:{wang}:0", REFUSED["en"]),
        (sibling, f"trn:a:{theirs}:{wang}:0", REFUSED["en"]),
        # Someone who never registered.
        (stranger, f"trn:y:{coming}", NOT_REGISTERED),
        (stranger, f"trn:v:{coming}", NOT_REGISTERED),
        (stranger, f"trn:cy:{coming}", NOT_REGISTERED),
        (stranger, f"trn:a:{held}:{wang}:0", NOT_REGISTERED),
    ]
    for user, data, expected in cases:
        before = await snapshot(db)
        refusal = await _press(user, pressed[user], data)
        assert refusal.startswith(expected), (user, data, refusal)
        assert TITLE not in refusal, (user, data, refusal)
        assert await snapshot(db) == before, (user, data)
    # The sibling admin's menu lists their own training only.
    await sibling.send("/training")
    menu = await sibling.wait_reply()
    assert [b for b in menu.button_texts if TITLE in b] and len(menu.button_texts) == 2
    # A forged page number shows the last page there is: the same, unchanged.
    await sibling.callback_answer(await sibling.press_data(menu, "trn:m:3"))
    shown = await sibling.last_message()
    assert shown is not None and shown.button_texts == menu.button_texts


async def test_a_sibling_admin_cannot_schedule_for_another_subtree(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    ids = await sibling_committee(db)
    sibling = await client.user(SIBLING_ADMIN_ID, "Wang", language_code="en")
    await sibling.send("/training")
    await sibling.press(await sibling.wait_reply(), "➕ New training")
    question = await sibling.wait_edit()
    assert question.button_texts == ["Sibling", "兄弟支部"]
    before = await snapshot(db)
    assert await _press(sibling, question, f"trn:org:{ids['DEMO']}") == REFUSED["en"]
    assert await snapshot(db) == before
    await sibling.press(question, "Sibling")
    await sibling.wait_edit()
    for answer in ("Sibling study", "2030-05-05 09:00", "Room 9"):
        await sibling.send(answer)
        audiences = await sibling.wait_reply()
    # Inviting only part of another committee: refused, the draft stays as it was.
    before = await snapshot(db)
    assert await _press(sibling, audiences, f"trn:sub:{ids['DEMO-B1']}") == REFUSED["en"]
    assert await snapshot(db) == before
    await sibling.press_data(audiences, f"trn:sub:{ids['SIB-B1']}")
    assert "Who in 兄弟支部 is invited?" in (await sibling.wait_edit()).text
