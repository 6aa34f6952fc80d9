"""The demo organisation used by the offline sandbox (and handy in tests and benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import OrgKind, Role
from storage import queries
from storage.models import Account, Person

# (code, name, name_en, secretary, members)
BRANCHES = (
    ("DEMO-B1", "第一党支部", "First Party Branch", "王芳", ("李强", "张伟", "刘洋")),
    ("DEMO-B2", "第二党支部", "Second Party Branch", "陈静", ("杨磊", "赵敏")),
    ("DEMO-B3", "机关党支部", "Office Party Branch", "周涛", ("吴军", "孙丽", "马超", "胡婷")),
)


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A demo person with the Telegram identity the sandbox lets you act as."""

    telegram_id: int
    name: str
    description: str
    language_code: str


async def seed_demo(session: AsyncSession) -> list[DemoUser]:
    """Create the demo committee, branches, roster and linked accounts (idempotent)."""
    committee = await queries.org_by_code(session, "DEMO")
    if committee is None:
        committee = await queries.add_org_unit(
            session,
            code="DEMO",
            kind=OrgKind.COMMITTEE,
            name="示范街道党工委",
            name_en="Demo Sub-district Committee",
        )
    users: list[DemoUser] = []
    admin = await _person(session, name="林书记", branch_id=None)
    await queries.grant_role(session, person=admin, org_unit=committee, role=Role.ADMIN)
    users.append(await _account(session, admin, 900001, "admin of DEMO", "zh-hans"))
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
            await _account(session, secretary, telegram_id, f"secretary of {code}", "zh-hans")
        )
        telegram_id += 1
        for member_name in member_names:
            member = await _person(session, name=member_name, branch_id=branch.id)
            users.append(await _account(session, member, telegram_id, f"member of {code}", "en"))
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
    session: AsyncSession, person: Person, telegram_id: int, description: str, language: str
) -> DemoUser:
    account = await queries.account_by_telegram_id(session, telegram_id)
    if account is None:
        session.add(
            Account(telegram_id=telegram_id, person_id=person.id, telegram_language=language)
        )
        await session.flush()
    return DemoUser(telegram_id, person.name, description, language)
