"""Registration in tests: invites made with the bot's key, and agreeing to the privacy notice."""

from __future__ import annotations

import datetime as dt

from bot.enums import Role
from bot.fake_telegram import FakeMessage, FakeUser
from bot.invites import InvitePolicy, create_invite
from storage import queries
from storage.db import SessionFactory
from tests.support.bot import SECRET_KEY

POLICY = InvitePolicy(key=SECRET_KEY.encode())


async def make_invite(
    db: SessionFactory,
    role: Role,
    org_code: str,
    *,
    person: str | None = None,
    uses: int = 1,
    valid_for: dt.timedelta = dt.timedelta(days=7),
) -> str:
    """A new invite's code, as `zhibu invite create` would print it."""
    async with db.begin() as session:
        org = await queries.org_by_code(session, org_code)
        assert org is not None
        named = await queries.person_in_branch(session, branch=org, name=person) if person else None
        code, _ = await create_invite(
            session,
            policy=POLICY,
            role=role,
            org=org,
            now=dt.datetime.now(dt.UTC),
            person=named,
            uses=uses,
            valid_for=valid_for,
        )
    return code


async def agree_to_privacy(user: FakeUser) -> FakeMessage:
    """Wait for the privacy notice and press its first button (I agree); returns the notice."""
    notice = await user.wait_reply()
    assert notice.buttons, f"expected the privacy notice, got {notice}"
    label, data = notice.buttons[0][0]
    assert data is not None and data.startswith(("reg:ok:", "pv:ok:")), notice
    await user.press(notice, label)
    return notice


async def relink_as_stranger(user: FakeUser) -> FakeMessage:
    """/relink from someone with no account: agree to the privacy notice, then /relink again;
    returns the first question of the request."""
    await user.send("/relink")
    await agree_to_privacy(user)
    await user.wait_edit()  # thanked, and told to send /relink again
    await user.send("/relink")
    return await user.wait_reply()
