"""Forged registration buttons and /start codes: invites into DEMO-B1 that the presser may
not use (withdrawn, or made out to someone else), and the language button."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from bot.enums import Role
from handlers.start import Agree
from storage.models import Invite
from tests.support.forged import Area, B, Case, CommandCase, World, no_object
from tests.support.registration import make_invite

NAMED = "刘洋"


@dataclass(frozen=True)
class Targets:
    withdrawn: str
    named: str


async def setup(world: World) -> Targets:
    """A withdrawn member invite into DEMO-B1, and one made out to 刘洋 (who is registered)."""
    withdrawn = await make_invite(world.db, Role.MEMBER, B, uses=3)
    async with world.db.begin() as session:
        invite = await session.scalar(
            select(Invite).where(Invite.max_uses == 3).order_by(Invite.id.desc())
        )
        assert invite is not None
        invite.revoked_at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    named = await make_invite(world.db, Role.MEMBER, B, person=NAMED)
    return Targets(withdrawn, named)


def markers(t: Targets) -> list[str]:
    return [NAMED, "第一党支部", "First Party Branch"]


AREA = Area(
    "registration",
    setup,
    markers,
    cases=[
        Case(
            "reg:ok",
            lambda t: [Agree(t.withdrawn), Agree(t.named)],
            differs_from_missing=(
                "the code is the presser's own secret, not an id: an unknown one is counted "
                "towards their wrong-code limit and said to be not valid"
            ),
            refused_in_message="the registration step shows its outcome in the pressed message",
        ),
        no_object("reg:no", "declining the privacy notice", harmless="nothing is stored"),
        no_object("reg:skip", "skips the phone question of the presser's own registration"),
        no_object(
            "lang",
            "the presser's language",
            harmless="the presser's own language",
            own_changes="the presser's own language",
        ),
    ],
    commands=[CommandCase("start", lambda t: [f"/start {t.withdrawn}", f"/start {t.named}"])],
)
