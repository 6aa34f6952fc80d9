"""The demo organisation used by the offline sandbox (and handy in tests and benchmarks).

`seed_demo` makes the committee, its three branches, their secretaries and members with
linked accounts: what tests and benchmarks build on. The sandbox adds the rest of the rosters,
a mobile member, a newcomer holding an invite (`bot.demo.people`) and a year of history
(`bot.demo.history`), all through the services, dated relative to the clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import OrgKind, Role
from storage import queries
from storage.models import Account, Person

COMMITTEE = "DEMO"
# (code, name, name_en, secretary, members)
BRANCHES = (
    ("DEMO-B1", "第一党支部", "First Party Branch", "王芳", ("李强", "张伟", "刘洋")),
    ("DEMO-B2", "第二党支部", "Second Party Branch", "陈静", ("杨磊", "赵敏")),
    ("DEMO-B3", "机关党支部", "Office Party Branch", "周涛", ("吴军", "孙丽", "马超", "胡婷")),
)
ADMIN_ID = 900001


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A demo person with the Telegram identity the sandbox lets you act as.

    `kind` is admin, secretary, member, mobile or newcomer; `org` the node's code; a newcomer
    holds `invite_code` (shown once when made, as the bot's /invite shows it).
    """

    telegram_id: int
    name: str
    description: str
    language_code: str
    kind: str = "member"
    org: str = COMMITTEE
    invite_code: str | None = None


async def seed_demo(session: AsyncSession) -> list[DemoUser]:
    """Create the demo committee, branches, roster and linked accounts (idempotent)."""
    committee = await queries.org_by_code(session, COMMITTEE)
    if committee is None:
        committee = await queries.add_org_unit(
            session,
            code=COMMITTEE,
            kind=OrgKind.COMMITTEE,
            name="示范街道党工委",
            name_en="Demo Sub-district Committee",
        )
    users: list[DemoUser] = []
    admin = await _person(session, name="林书记", branch_id=None)
    await queries.grant_role(session, person=admin, org_unit=committee, role=Role.ADMIN)
    users.append(
        await _account(session, admin, ADMIN_ID, "admin of DEMO", "zh-hans", "admin", COMMITTEE)
    )
    telegram_id = 900010
    for code, name, name_en, secretary_name, member_names in BRANCHES:
        branch = await queries.org_by_code(session, code)
        if branch is None:
            branch = await queries.add_org_unit(
                session,
                code=code,
                kind=OrgKind.BRANCH,
                name=name,
                name_en=name_en,
                parent=committee,
            )
        secretary = await _person(session, name=secretary_name, branch_id=branch.id)
        await queries.grant_role(session, person=secretary, org_unit=branch, role=Role.SECRETARY)
        users.append(
            await _account(
                session,
                secretary,
                telegram_id,
                f"secretary of {code}",
                "zh-hans",
                "secretary",
                code,
            )
        )
        telegram_id += 1
        for member_name in member_names:
            member = await _person(session, name=member_name, branch_id=branch.id)
            users.append(
                await _account(
                    session, member, telegram_id, f"member of {code}", "en", "member", code
                )
            )
            telegram_id += 1
        telegram_id = (telegram_id // 10 + 1) * 10
    return users


async def _person(session: AsyncSession, *, name: str, branch_id: int | None) -> Person:
    if branch_id is not None:
        branch = await queries.org_by_id(session, branch_id)
        assert branch is not None
        existing = await queries.person_in_branch(session, branch=branch, name=name)
        if existing is not None:
            return existing
    person = Person(name=name, branch_id=branch_id)
    session.add(person)
    await session.flush()
    return person


async def _account(
    session: AsyncSession,
    person: Person,
    telegram_id: int,
    description: str,
    language: str,
    kind: str,
    org: str,
) -> DemoUser:
    account = await queries.account_by_telegram_id(session, telegram_id)
    if account is None:
        session.add(
            Account(telegram_id=telegram_id, person_id=person.id, telegram_language=language)
        )
        await session.flush()
    return DemoUser(telegram_id, person.name, description, language, kind, org)
