"""Forged dues and class-hours buttons (issue 11's standard): each family replayed with the ids
of DEMO-B1's branch, member, payment, leave, training and lecture, by the secretary of another
branch, a member, the admin of a sibling committee and a stranger. Nothing changes, nothing
about the objects is revealed, and the presser gets a short refusal in their language. A new
`dues:` or `hrs:` family without a case fails the test."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.dues.ledger import record_leave, record_payment, set_standard
from bot.enums import LeaveReason, TrainingAudience, TrainingKind
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeMessage, FakeUser
from bot.rules.dues import month_index
from bot.rules.kinds import ActivityKind
from handlers.buttons import Button
from storage import queries
from storage import training_queries as tq
from storage.db import SessionFactory
from tests.support.dues import branch, meeting, person, snapshot
from tests.support.notices import SIBLING_ADMIN_ID, STRANGER_ID, sibling_committee
from tests.support.reminders import at

NOW = at("2026-11-20 10:00")
NOV = month_index(2026, 11)
REFUSED = {
    "en": "Sorry, this is not available for your role. Nothing was changed.",
    "zh": "抱歉，您的角色无权进行此操作，未做任何更改。",
}
NOT_REGISTERED = "You are not registered yet"
SECRET = ("张伟", "12.50", "10.00")


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Settings, "now", lambda self: NOW)


async def _objects(db: SessionFactory) -> dict[str, int]:
    """DEMO-B1's objects the forged buttons name."""
    b1 = await branch(db, "DEMO-B1")
    zhang = await person(db, "张伟")
    async with db.begin() as session:
        await set_standard(session, person=zhang, from_month=NOV - 3, fen=1000, actor=None, now=NOW)
        payment = await record_payment(
            session,
            branch=b1,
            person=zhang,
            month=NOV - 1,
            latest=NOV,
            actor=None,
            today=NOW.date(),
        )
        leave = await record_leave(
            session, person=zhang, first=NOV, last=NOV, reason=LeaveReason.SICK, actor=None
        )
        demo_node = await queries.org_by_code(session, "DEMO")
        assert demo_node is not None
        training = await tq.add_training(
            session,
            org=demo_node,
            kind=TrainingKind.ROTATION,
            audience=TrainingAudience.SECRETARIES,
            title="Closed study",
            place="Room 1",
            starts_at=NOW + dt.timedelta(days=3),
            created_by=None,
        )
        ids = {"b1": b1.id, "zhang": zhang.id, "payment": payment.id, "leave": leave.id}
        ids["training"] = training.id
    ids["lecture"] = await meeting(
        db, "DEMO-B1", dt.date(2026, 11, 10), kinds=(ActivityKind.LECTURE,)
    )
    ids["b2"] = (await branch(db, "DEMO-B2")).id
    return ids


def _cases(ids: dict[str, int]) -> dict[str, list[tuple[str, str]]]:
    """Per family, (persona, forged data); personas: secretary (of DEMO-B2), member (of
    DEMO-B1), sibling (the admin of another committee), stranger."""
    month = "2026-11"
    everyone = ("secretary", "member", "sibling", "stranger")
    named = {
        "dues:m": f"dues:m:{ids['b1']}:{month}",
        "dues:t": f"dues:t:{ids['b1']}:{month}:0",
        "dues:p": f"dues:p:{ids['b1']}:{month}:{ids['zhang']}:0",
        "dues:a": f"dues:a:{ids['b1']}:{month}",
        "dues:ay": f"dues:ay:{ids['b1']}:{month}",
        "dues:v": f"dues:v:{ids['payment']}:0",
        "dues:vy": f"dues:vy:{ids['payment']}:mistake:0",
        "dues:pub": f"dues:pub:{ids['b1']}:2026",
        "dues:puby": f"dues:puby:{ids['b1']}:2026",
        "dues:l": f"dues:l:{ids['b1']}:0",
        "dues:mb": f"dues:mb:{ids['zhang']}",
        "dues:s": f"dues:s:{ids['zhang']}",
        "dues:lv": f"dues:lv:{ids['zhang']}:sick:3",
        "dues:lx": f"dues:lx:{ids['leave']}",
        "hrs:t": f"hrs:t:{ids['training']}",
        "hrs:ts": f"hrs:ts:{ids['training']}:16",
        "hrs:a": f"hrs:a:{ids['lecture']}:0",
        "hrs:as": f"hrs:as:{ids['lecture']}:8:0",
    }
    cases = {prefix: [(who, data) for who in everyone] for prefix, data in named.items()}
    # A leader of another branch naming their own branch with a DEMO-B1 member.
    cases["dues:p"].append(("secretary", f"dues:p:{ids['b2']}:{month}:{ids['zhang']}:0"))
    # Buttons that name no object: only who may press them at all.
    cases["dues:me"] = [("stranger", "dues:me")]
    cases["dues:r"] = [("secretary", f"dues:r:{month}"), ("member", f"dues:r:{month}")]
    cases["dues:r"].append(("stranger", f"dues:r:{month}"))
    return cases


async def _press(user: FakeUser, message: FakeMessage, data: str) -> str:
    """Press a forged button; the refusal the presser gets (an alert, or a message)."""
    update_id = await user.press_data(message, data)
    answer = await user.callback_answer(update_id)
    if answer.get("text"):
        return str(answer["text"])
    return (await user.wait_reply()).text


async def test_forged_dues_and_hours_buttons_change_and_reveal_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await sibling_committee(db)
    ids = await _objects(db)
    personas = {
        "secretary": (
            await client.user(demo["陈静"].telegram_id, "陈静", language_code="zh-hans"),
            "zh",
        ),
        "member": (await client.user(demo["李强"].telegram_id, "Li", language_code="en"), "en"),
        "sibling": (await client.user(SIBLING_ADMIN_ID, "Wang", language_code="en"), "en"),
        "stranger": (await client.user(STRANGER_ID, "Stranger", language_code="en"), "en"),
    }
    messages = {}
    for name, (user, _) in personas.items():
        await user.send("/help")
        messages[name] = await user.wait_reply()
    cases = _cases(ids)
    families = {p for p in Button.registry if p.startswith(("dues:", "hrs:"))}
    assert families == set(cases), f"families without a case: {families - set(cases)}"
    for prefix, presses in cases.items():
        for who, data in presses:
            user, language = personas[who]
            before = await snapshot(db)
            refusal = await _press(user, messages[who], data)
            expected = NOT_REGISTERED if who == "stranger" else REFUSED[language]
            assert refusal.startswith(expected), (prefix, who, data, refusal)
            assert not any(secret in refusal for secret in SECRET), (prefix, who, refusal)
            assert await snapshot(db) == before, (prefix, who, data)
            await user.skip_pending()
