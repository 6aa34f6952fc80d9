"""Helpers for relink tests: acting as a demo user through the service, register rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.access import Principal
from bot.accounts import principal_of
from bot.enums import OrgKind, RequestType, Role
from bot.relink import Action, service
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_relink import LostContactEntry, RelinkRequest

NOW = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
# The bot's default limit on filing and withdrawing requests.
THROTTLE = service.Throttle(limit=6, window=dt.timedelta(hours=24))


async def account_of(db: SessionFactory, telegram_id: int) -> tuple[Account, Principal]:
    """The account and principal of a Telegram user (created when new, as if they had agreed
    to the privacy notice)."""
    async with db.begin() as session:
        account = await queries.account_by_telegram_id(session, telegram_id)
        if account is None:
            account = await queries.create_account(
                session,
                telegram_id=telegram_id,
                language_code="en",
                username=None,
                consented_at=NOW,
            )
        return account, await principal_of(session, account)


async def act(
    db: SessionFactory, telegram_id: int, request_id: int, action: Action, now: dt.datetime = NOW
) -> service.Outcome:
    """One action by a user, in its own transaction."""
    account, principal = await account_of(db, telegram_id)
    async with db.begin() as session:
        return await service.perform(
            session,
            request_id=request_id,
            action=action,
            account=account,
            principal=principal,
            now=now,
            throttle=THROTTLE,
        )


async def submit_mobile_request(db: SessionFactory, telegram_id: int, name: str = "李强") -> int:
    """A mobile-member request of a DEMO-B1 member taking part in DEMO-B2, filed at NOW
    (10:00 in Shanghai); its id."""
    account, _ = await account_of(db, telegram_id)
    async with db.begin() as session:
        home = await queries.org_by_code(session, "DEMO-B1")
        other = await queries.org_by_code(session, "DEMO-B2")
        requester = await session.get(Account, account.id)
        assert home is not None and other is not None and requester is not None
        outcome = await service.submit_request(
            session,
            account=requester,
            new=service.NewRequest(
                type=RequestType.MOBILE,
                name=name,
                home_id=home.id,
                receiving_id=other.id,
                join_year=2005,
                city="深圳",
            ),
            now=NOW,
            throttle=THROTTLE,
        )
    assert outcome.request is not None
    return outcome.request.id


async def request_row(db: SessionFactory, request_id: int | None = None) -> RelinkRequest:
    """A request (the newest when no id is given) as stored."""
    async with db() as session:
        query = select(RelinkRequest).order_by(RelinkRequest.id.desc())
        if request_id is not None:
            query = query.where(RelinkRequest.id == request_id)
        row = await session.scalar(query.limit(1))
        assert row is not None
        return row


async def add_register_rows(db: SessionFactory, *rows: tuple[str, str | None, int | None]) -> None:
    """Rows of the lost-contact register: (name, branch code, join year)."""
    async with db.begin() as session:
        for name, code, year in rows:
            branch = await queries.org_by_code(session, code) if code else None
            session.add(
                LostContactEntry(
                    name=name,
                    branch_code=code,
                    branch_id=branch.id if branch else None,
                    join_year=year,
                )
            )


SIBLING_ADMIN = 950001
SIBLING_SECRETARY = 950002


async def sibling_committee(db: SessionFactory) -> None:
    """A second committee beside the demo one (SIB, with branch SIB-B1), with its own admin
    and secretary, and a lost-contact member in its register."""
    async with db.begin() as session:
        committee = await queries.add_org_unit(
            session, code="SIB", kind=OrgKind.COMMITTEE, name="兄弟街道党工委", name_en="Sibling"
        )
        branch = await queries.add_org_unit(
            session,
            code="SIB-B1",
            kind=OrgKind.BRANCH,
            name="兄弟第一支部",
            name_en="Sibling Branch",
            parent=committee,
        )
        for telegram_id, name, node, role in (
            (SIBLING_ADMIN, "邻书记", committee, Role.ADMIN),
            (SIBLING_SECRETARY, "邻支书", branch, Role.SECRETARY),
        ):
            person = Person(name=name, branch_id=branch.id if role is Role.SECRETARY else None)
            session.add(person)
            await session.flush()
            await queries.grant_role(session, person=person, org_unit=node, role=role)
            session.add(
                Account(telegram_id=telegram_id, person_id=person.id, telegram_language="en")
            )
        session.add(
            LostContactEntry(
                name="黄小明", branch_code="SIB-B1", branch_id=branch.id, join_year=2005
            )
        )
