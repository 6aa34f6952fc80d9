"""Invite codes against the database: keyed hashing, expiry, uses, throttling, registration."""

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from bot.enums import OrgKind, Role
from bot.invites import (
    InviteError,
    InvitePolicy,
    Redeem,
    check_code,
    complete_registration,
    consume,
    create_invite,
    hash_code,
    legacy_hash,
    normalise,
    parse_duration,
    revoke_invite,
)
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Invite, InviteFailure

NOW = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=10)
POLICY = InvitePolicy(key=b"k" * 32, failure_window=WINDOW)


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


async def _check(session, code: str, account_id: int, now=NOW, policy=POLICY):
    account = await session.get(Account, account_id)
    return await check_code(
        session,
        code=code,
        telegram_id=account.telegram_id,
        account=account,
        now=now,
        policy=policy,
    )


async def _invite(session, branch_id: int, **kwargs):
    branch = await queries.org_by_id(session, branch_id)
    return await create_invite(
        session, policy=POLICY, role=Role.MEMBER, org=branch, now=NOW, **kwargs
    )


async def test_code_is_stored_as_a_keyed_hash_and_normalised(db: SessionFactory) -> None:
    _committee, branch_id, account_id = await _setup(db)
    async with db.begin() as session:
        code, _invite_row = await _invite(session, branch_id)
    async with db() as session:
        stored = list(await session.scalars(select(Invite.code_hash)))
    assert stored == [hash_code(code, POLICY.key)] and code not in stored[0]
    # A copy of the database alone does not allow testing guesses: the plain hash is not there,
    # and another key gives another hash.
    assert hashlib.sha256(code.encode()).hexdigest() not in stored
    assert hash_code(code, b"x" * 32) != stored[0]
    messy = " ".join(code[i : i + 4].lower() for i in range(0, len(code), 4))
    assert normalise(messy) == code
    async with db.begin() as session:
        assert (await _check(session, messy, account_id)).outcome is Redeem.NEEDS_NAME
        other_key = InvitePolicy(key=b"x" * 32)
        assert (await _check(session, code, account_id, policy=other_key)).outcome is (
            Redeem.UNKNOWN
        )


async def test_a_code_from_before_keyed_hashing_works_once_and_is_rekeyed(
    db: SessionFactory,
) -> None:
    _committee, branch_id, account_id = await _setup(db)
    async with db.begin() as session:
        session.add(
            Invite(
                code_hash=legacy_hash("OLDCODE23456"),
                code_scheme="sha256",
                role=Role.MEMBER,
                org_unit_id=branch_id,
                max_uses=1,
                uses=0,
                expires_at=NOW + dt.timedelta(days=1),
            )
        )
    async with db.begin() as session:
        assert (await _check(session, "oldcode23456", account_id)).outcome is Redeem.NEEDS_NAME
    async with db() as session:
        invite = await session.scalar(select(Invite))
    assert invite.code_scheme == "hmac" and invite.code_hash == hash_code(
        "OLDCODE23456", POLICY.key
    )


async def test_expired_used_revoked_and_unknown(db: SessionFactory) -> None:
    _c, branch_id, account_id = await _setup(db)
    async with db.begin() as session:
        code, invite = await _invite(session, branch_id, valid_for=parse_duration("1h"))
    async with db.begin() as session:
        later = NOW + dt.timedelta(hours=2)
        assert (await _check(session, code, account_id, later)).outcome is Redeem.EXPIRED
        assert await consume(session, invite.id, later) is None
        assert await consume(session, invite.id, NOW) is not None
        assert await consume(session, invite.id, NOW) is None  # single use
        assert (await _check(session, code, account_id)).outcome is Redeem.USED_UP
        assert (await _check(session, "NOPE-NOPE", account_id)).outcome is Redeem.UNKNOWN
        code2, invite2 = await _invite(session, branch_id, uses=5)
        await revoke_invite(session, invite=invite2, actor=None, now=NOW)
        assert (await _check(session, code2, account_id)).outcome is Redeem.REVOKED
        assert await consume(session, invite2.id, NOW) is None
        entries = await queries.audit_entries(session, action="invite.revoke")
        assert [(e.target_id, e.actor_label) for e in entries] == [(invite2.id, "cli")]


async def test_five_wrong_codes_then_wait(db: SessionFactory) -> None:
    _c, branch_id, account_id = await _setup(db)
    async with db.begin() as session:
        code, _invite_row = await _invite(session, branch_id)
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
    async with db() as session:
        # The throttling records name the sender only by a keyed hash of their id.
        keys = set(await session.scalars(select(InviteFailure.sender_key)))
    assert len(keys) == 1 and "555" not in next(iter(keys))
    async with db.begin() as session:
        later = await _check(session, code, account_id, NOW + dt.timedelta(minutes=11))
    assert later.outcome is Redeem.NEEDS_NAME


async def test_counted_invite_registers_several_people(db: SessionFactory) -> None:
    _c, branch_id, _account_id = await _setup(db)
    async with db.begin() as session:
        _code, invite = await _invite(session, branch_id, uses=2)
        for telegram_id, name in ((1, "甲"), (2, "乙")):
            account = Account(telegram_id=telegram_id)
            session.add(account)
            await session.flush()
            used = await consume(session, invite.id, NOW)
            assert used is not None
            person = await complete_registration(session, invite=used, account=account, name=name)
            assert person.branch_id == branch_id
        assert await consume(session, invite.id, NOW) is None


async def test_invite_rules_and_caps(db: SessionFactory) -> None:
    committee_id, branch_id, _ = await _setup(db)
    async with db.begin() as session:
        committee = await queries.org_by_id(session, committee_id)
        with pytest.raises(InviteError, match="must name a branch"):
            await create_invite(session, policy=POLICY, role=Role.SECRETARY, org=committee, now=NOW)
        with pytest.raises(InviteError, match="between 1 and 100"):
            await create_invite(
                session, policy=POLICY, role=Role.ADMIN, org=committee, now=NOW, uses=0
            )
        with pytest.raises(InviteError, match="between 1 and 100"):
            await _invite(session, branch_id, uses=101)
        with pytest.raises(InviteError, match="at most 30 days"):
            await _invite(session, branch_id, valid_for=dt.timedelta(days=31))
        small = InvitePolicy(key=POLICY.key, max_uses=3, max_valid_for=dt.timedelta(days=2))
        branch = await queries.org_by_id(session, branch_id)
        with pytest.raises(InviteError, match="between 1 and 3"):
            await create_invite(
                session, policy=small, role=Role.MEMBER, org=branch, now=NOW, uses=4
            )
        with pytest.raises(InviteError, match="at most 2 days"):
            await create_invite(
                session,
                policy=small,
                role=Role.MEMBER,
                org=branch,
                now=NOW,
                valid_for=dt.timedelta(days=3),
            )
        _code, admin_invite = await create_invite(
            session, policy=POLICY, role=Role.ADMIN, org=committee, now=NOW
        )
        entries = await queries.audit_entries(session, action="invite.create")
        assert [e.target_id for e in entries] == [admin_invite.id]
    with pytest.raises(ValueError):
        parse_duration("7 weeks")
