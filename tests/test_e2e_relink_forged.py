"""A decider's forged register row or unit, through the fake Bot API: DEMO-B1's secretary
may take only the register row a reconnect card offers and a unit under the home node.

(Every relink button naming a request outside the presser's reach, pressed by a secretary of
another branch, a member, a sibling committee's admin and a stranger, and the forged choices
of a request being written: tests/test_forged_buttons.py with tests/forged/relink.py.)"""

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeUser
from handlers import relink_buttons as rb
from storage.db import SessionFactory
from storage.models import Account, AuditEntry, ConversationRecord, Person, RoleAssignment
from storage.models_relink import (
    LostContactEntry,
    RelinkLetter,
    RelinkRequest,
    RelinkStep,
)
from tests.forged.relink import relink_objects
from tests.support.relink import sibling_committee

NOW = dt.datetime.now(dt.UTC)


async def _everything(db: SessionFactory) -> dict[str, Any]:
    """What a press could change: requests, their records, the register, the roster, roles,
    accounts, drafts and the audit log."""
    async with db() as session:

        async def count(model: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        requests = await session.scalars(select(RelinkRequest).order_by(RelinkRequest.id))
        entries = await session.scalars(select(LostContactEntry).order_by(LostContactEntry.id))
        people = await session.scalars(select(Person).order_by(Person.id))
        accounts = await session.scalars(select(Account).order_by(Account.id))
        return {
            "requests": [
                (r.id, r.state, r.version, r.person_id, r.claimed_person_id, r.register_entry_id)
                for r in requests
            ],
            "register": [(e.id, e.person_id, e.relinked_at) for e in entries],
            "people": [(p.id, p.branch_id, p.status) for p in people],
            "accounts": [(a.id, a.person_id) for a in accounts],
            "counts": [
                await count(m)
                for m in (RelinkStep, RelinkLetter, RoleAssignment, AuditEntry, ConversationRecord)
            ],
        }


async def _press(user: FakeUser, data: str) -> dict[str, Any]:
    message = await user.last_message()
    assert message is not None
    return await user.callback_answer(await user.press_data(message, data))


async def test_a_decider_cannot_take_a_register_row_or_unit_the_card_does_not_offer(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await sibling_committee(db)
    found = await relink_objects(db, demo["王芳"].telegram_id, NOW)
    reconnect = found.ids["reconnect"]
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    await secretary.send("/relink")
    await secretary.wait_reply()
    before = await _everything(db)
    # Another committee's lost-contact member, pulled in with a forged identity button.
    forged = rb.IdentityStep(reconnect, found.sibling_entry).data
    answer = await _press(secretary, forged)
    assert answer["text"] == (
        "That register entry is not one this request's card offers. Nothing was changed."
    )
    # Another committee's branch as the assignment.
    forged = rb.AssignUnit(reconnect, found.sibling_branch).data
    assert (await _press(secretary, forged))["show_alert"] is True
    assert await _everything(db) == before
    # The row the card offers is taken.
    offered = await _press(secretary, rb.IdentityStep(reconnect, found.entry).data)
    assert offered["text"] is None
    card = await secretary.wait_edit()
    assert "✓ Identity confirmed" in card.button_texts
    async with db() as session:
        row = await session.get(RelinkRequest, reconnect)
        assert row is not None and row.register_entry_id == found.entry
