"""The sandbox's people beyond seed_demo: full rosters, a mobile member, a newcomer's invite.

Not everyone on a roster uses the bot, so each branch gets members without an account (the
attendance figures then look like a real branch's). One member works away from home as a
mobile member, and a newcomer named on a branch's roster holds an invite they have not used:
their phone has no account yet, as nothing is stored about anyone before they agree to the
privacy notice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.demo import DemoUser, _person
from bot.enums import PersonStatus, Role
from bot.invites import InvitePolicy, create_invite
from storage import queries

# People on the rosters who do not use the bot (yet).
OFFLINE_MEMBERS = {
    "DEMO-B1": ("黄敏", "郭静", "何勇", "罗欣"),
    "DEMO-B2": ("许娜", "邓超", "冯雪"),
    "DEMO-B3": ("曹阳", "彭丽", "蒋涛"),
}
MOBILE_MEMBER = ("DEMO-B1", "刘洋")
NEWCOMER = ("DEMO-B2", "何平")
# Simulated Telegram users with no account: the newcomer, then strangers made on the page.
NEWCOMER_ID = 990001


async def seed_people(
    session: AsyncSession, settings: Settings, users: list[DemoUser], now: dt.datetime
) -> list[DemoUser]:
    """Fill the rosters, make one member mobile and invite the newcomer; the sandbox's phones."""
    for code, names in OFFLINE_MEMBERS.items():
        branch = await queries.org_by_code(session, code)
        assert branch is not None
        for number, name in enumerate(names):
            person = await _person(session, name=name, branch_id=branch.id)
            person.joined_on = dt.date(2001 + 3 * number, 7, 1)
    phones = [_mobile(user) if user.name == MOBILE_MEMBER[1] else user for user in users]
    branch = await queries.org_by_code(session, MOBILE_MEMBER[0])
    assert branch is not None
    mobile = await queries.person_in_branch(session, branch=branch, name=MOBILE_MEMBER[1])
    assert mobile is not None
    mobile.status = PersonStatus.MOBILE
    phones.append(await invite_newcomer(session, settings, now))
    return phones


def _mobile(user: DemoUser) -> DemoUser:
    return dataclasses.replace(
        user, kind="mobile", description=f"mobile member of {MOBILE_MEMBER[0]}"
    )


async def invite_newcomer(session: AsyncSession, settings: Settings, now: dt.datetime) -> DemoUser:
    """The newcomer on the roster, with a fresh single-use invite naming them."""
    code, name = NEWCOMER
    branch = await queries.org_by_code(session, code)
    assert branch is not None
    person = await _person(session, name=name, branch_id=branch.id)
    invite_code, _invite = await create_invite(
        session,
        policy=InvitePolicy.of(settings),
        role=Role.MEMBER,
        org=branch,
        person=person,
        now=now,
        valid_for=dt.timedelta(days=7),
    )
    return DemoUser(
        NEWCOMER_ID,
        name,
        f"newcomer to {code}, holding an invite",
        "zh-hans",
        "newcomer",
        code,
        invite_code,
    )


async def invite_stranger(
    session: AsyncSession, settings: Settings, now: dt.datetime, *, telegram_id: int, name: str
) -> DemoUser:
    """A stranger with an invite to join the first branch as a member (they give their name)."""
    code = MOBILE_MEMBER[0]
    branch = await queries.org_by_code(session, code)
    assert branch is not None
    invite_code, _invite = await create_invite(
        session,
        policy=InvitePolicy.of(settings),
        role=Role.MEMBER,
        org=branch,
        now=now,
        valid_for=dt.timedelta(days=7),
    )
    return DemoUser(
        telegram_id,
        name,
        f"stranger invited to {code}",
        "zh-hans",
        "newcomer",
        code,
        invite_code,
    )
