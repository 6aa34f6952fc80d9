"""Invite codes against the database: hashing, expiry, uses, throttling, registration."""

import datetime as dt

import pytest
from sqlalchemy import select

from bot.enums import OrgKind, Role
from bot.invites import (
    InviteError,
    Redeem,
    check_code,
    complete_registration,
    consume,
    create_invite,
    hash_code,
    normalise,
    parse_duration,
)
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Invite

NOW = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=10)


async def _setup(db: SessionFactory):
    async with db.begin() as session:
        committee = await queries.add_org_unit(
            session, code="C", kind=OrgKind.COMMITTEE, name="党委"
        )
        branch = await queries.add_org_unit(
            session, code="B", kind=OrgKind.BRANCH, name="支部", parent=committee
        )
        account = Account(telegram_id=555)
        session.add(account)
        await session.flush()
        return committee.id, branch.id, account.id


async def _check(session, code: str, account_id: int, now=NOW):
    account = await session.get(Account, account_id)
    return await check_code(
        session, code=code, account=account, now=now, max_failures=5, window=WINDOW
    )


async def test_code_is_stored_hashed_and_normalised(db: SessionFactory) -> None:
    _committee, branch_id, account_id = await _setup(db)
    async with db.begin() as session:
        branch = await queries.org_by_id(session, branch_id)
        code, _invite = await create_invite(session, role=Role.MEMBER, org=branch, now=NOW)
    async with db() as session:
        stored = list(await session.scalars(select(Invite.code_hash)))
    assert stored == [hash_code(code)] and code not in stored[0]
    messy = " ".join(code[i : i + 4].lower() for i in range(0, len(code), 4))
    assert normalise(messy) == code
    async with db.begin() as session:
        assert (await _check(session, messy, account_id)).outcome is Redeem.NEEDS_NAME


async def test_expired_used_and_unknown(db: SessionFactory) -> None:
    _c, branch_id, account_id = await _setup(db)
    async with db.begin() as session:
        branch = await queries.org_by_id(session, branch_id)
        code, invite = await create_invite(
            session, role=Role.MEMBER, org=branch, now=NOW, valid_for=parse_duration("1h")
        )
    async with db.begin() as session:
        later = NOW + dt.timedelta(hours=2)
        assert (await _check(session, code, account_id, later)).outcome is Redeem.EXPIRED
        assert await consume(session, invite.id, later) is None
        assert await consume(session, invite.id, NOW) is not None
        assert await consume(session, invite.id, NOW) is None  # single use
        assert (await _check(session, code, account_id)).outcome is Redeem.USED_UP
        assert (await _check(session, "NOPE-NOPE", account_id)).outcome is Redeem.UNKNOWN


async def test_five_wrong_codes_then_wait(db: SessionFactory) -> None:
    _c, branch_id, account_id = await _setup(db)
    async with db.begin() as session:
        branch = await queries.org_by_id(session, branch_id)
        code, _invite = await create_invite(session, role=Role.MEMBER, org=branch, now=NOW)
    for i in range(5):
        async with db.begin() as session:
            result = await _check(session, f"WRONG{i}XX", account_id, NOW + dt.timedelta(seconds=i))
            assert result.outcome is Redeem.UNKNOWN
    async with db.begin() as session:
        blocked = await _check(session, code, account_id, NOW + dt.timedelta(minutes=1))
    assert blocked.outcome is Redeem.THROTTLED
    assert (
        blocked.retry_after is not None and dt.timedelta(minutes=8) < blocked.retry_after <= WINDOW
    )
    async with db.begin() as session:
        later = await _check(session, code, account_id, NOW + dt.timedelta(minutes=11))
    assert later.outcome is Redeem.NEEDS_NAME


async def test_counted_invite_registers_several_people(db: SessionFactory) -> None:
    _c, branch_id, _account_id = await _setup(db)
    async with db.begin() as session:
        branch = await queries.org_by_id(session, branch_id)
        _code, invite = await create_invite(session, role=Role.MEMBER, org=branch, now=NOW, uses=2)
        for telegram_id, name in ((1, "甲"), (2, "乙")):
            account = Account(telegram_id=telegram_id)
            session.add(account)
            await session.flush()
            used = await consume(session, invite.id, NOW)
            assert used is not None
            person = await complete_registration(session, invite=used, account=account, name=name)
            assert person.branch_id == branch_id
        assert await consume(session, invite.id, NOW) is None


async def test_invite_rules(db: SessionFactory) -> None:
    committee_id, _branch_id, _ = await _setup(db)
    async with db.begin() as session:
        committee = await queries.org_by_id(session, committee_id)
        with pytest.raises(InviteError, match="must name a branch"):
            await create_invite(session, role=Role.SECRETARY, org=committee, now=NOW)
        with pytest.raises(InviteError, match="between 1 and 1000"):
            await create_invite(session, role=Role.ADMIN, org=committee, now=NOW, uses=0)
        _code, admin_invite = await create_invite(session, role=Role.ADMIN, org=committee, now=NOW)
        entries = await queries.audit_entries(session, action="invite.create")
        assert [e.target_id for e in entries] == [admin_invite.id]
    with pytest.raises(ValueError):
        parse_duration("7 weeks")
