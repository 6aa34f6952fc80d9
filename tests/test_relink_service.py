"""The relink service on a real database: storage, scope, roster effects, audit, pocket members."""

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from bot.accounts import principal_of
from bot.demo import DemoUser
from bot.enums import PersonStatus, RequestState, RequestType
from bot.relink import (
    Accept,
    AcceptTransfer,
    AssignedTo,
    Audience,
    Complete,
    CompleteStep,
    DuesSettled,
    EducationTalkHeld,
    IssueLetter,
    RefusalCode,
    SystemFlagCleared,
    counting,
    identity,
    service,
)
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_relink import LostContactEntry, RelinkRequest
from tests.support.relink import (
    NOW,
    THROTTLE,
    account_of,
    act,
    add_register_rows,
    request_row,
)


async def _submit(
    db: SessionFactory,
    telegram_id: int,
    kind: RequestType,
    *,
    name: str,
    home: str,
    receiving: str | None = None,
    join_year: int | None = 2005,
) -> service.Outcome:
    account, _ = await account_of(db, telegram_id)
    async with db.begin() as session:
        home_unit = await queries.org_by_code(session, home)
        other = await queries.org_by_code(session, receiving) if receiving else None
        assert home_unit is not None
        account = await session.get(Account, account.id)
        assert account is not None
        return await service.submit_request(
            session,
            account=account,
            new=service.NewRequest(
                type=kind,
                name=name,
                home_id=home_unit.id,
                receiving_id=other.id if other else None,
                join_year=join_year,
                city="深圳",
                phone="13812345678",
            ),
            now=NOW,
            throttle=THROTTLE,
        )


async def test_mobile_member_accepted_is_seen_by_both_branches(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    li = demo["李强"].telegram_id
    outcome = await _submit(
        db, li, RequestType.MOBILE, name="李强", home="DEMO-B1", receiving="DEMO-B2"
    )
    assert outcome.ok and outcome.request is not None
    # The home branch's secretary reviews it.
    assert [r.account.telegram_id for r in outcome.recipients] == [demo["王芳"].telegram_id]
    again = await _submit(db, li, RequestType.RECONNECT, name="李强", home="DEMO-B1")
    assert again.problem is service.Problem.ALREADY_OPEN
    accepted = await act(db, demo["王芳"].telegram_id, outcome.request.id, Accept())
    assert accepted.ok
    assert {(r.account.telegram_id, r.audience) for r in accepted.recipients} == {
        (li, Audience.REQUESTER),
        (demo["陈静"].telegram_id, Audience.RECEIVING_SIDE),
    }
    row = await request_row(db)
    assert row.state is RequestState.ACTIVE and row.version == 2 and row.last_report_at == NOW
    async with db() as session:
        person = await session.scalar(select(Person).where(Person.name == "李强"))
        assert person is not None and person.status is PersonStatus.MOBILE
        rows = [
            (e.action, e.actor_account_id is not None, e.details["to"])
            for e in await queries.audit_entries(session)
        ]
        assert rows == [
            ("relink.submitted", True, "submitted"),
            ("relink.accepted", True, "active"),
        ]
        # Both branches see it; a third branch doesn't.
        for name, visible in (("王芳", True), ("陈静", True), ("周涛", False), ("林书记", True)):
            account = await queries.account_by_telegram_id(session, demo[name].telegram_id)
            assert account is not None
            principal = await principal_of(session, account)
            fresh = await session.get(RelinkRequest, row.id)
            assert fresh is not None
            await session.refresh(fresh, ["home_branch", "receiving_branch"])
            assert service.may_see(principal, account.id, fresh) is visible


async def test_transfer_moves_the_member_only_when_the_receiving_branch_accepts(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    li = demo["李强"].telegram_id
    outcome = await _submit(
        db, li, RequestType.TRANSFER, name="李强", home="DEMO-B1", receiving="DEMO-B2"
    )
    assert outcome.request is not None
    rid = outcome.request.id
    assert (await act(db, demo["王芳"].telegram_id, rid, Accept())).ok
    issued = await act(db, demo["王芳"].telegram_id, rid, IssueLetter("(2026) 7", 10))
    assert issued.ok
    assert {r.audience for r in issued.recipients} == {Audience.REQUESTER, Audience.RECEIVING_SIDE}
    own = await act(db, demo["王芳"].telegram_id, rid, AcceptTransfer())
    assert own.refusal is not None
    assert own.refusal.code is RefusalCode.ISSUING_BRANCH_CANNOT_ACCEPT
    async with db() as session:
        person = await session.scalar(select(Person).where(Person.name == "李强"))
        assert person is not None
        branch = await queries.org_by_id(session, person.branch_id or 0)
        assert branch is not None and branch.code == "DEMO-B1"  # a letter doesn't move anyone
    moved = await act(
        db, demo["陈静"].telegram_id, rid, AcceptTransfer(), NOW + dt.timedelta(days=3)
    )
    assert moved.ok
    async with db() as session:
        person = await session.scalar(select(Person).where(Person.name == "李强"))
        assert person is not None
        branch = await queries.org_by_id(session, person.branch_id or 0)
        assert branch is not None and branch.code == "DEMO-B2"
    row = await request_row(db, rid)
    assert row.state is RequestState.COMPLETED and row.completed_at is not None


async def test_expired_letter_flags_a_pocket_member_to_secretaries_and_admin(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    outcome = await _submit(
        db,
        demo["张伟"].telegram_id,
        RequestType.TRANSFER,
        name="张伟",
        home="DEMO-B1",
        receiving="DEMO-B3",
    )
    assert outcome.request is not None
    rid = outcome.request.id
    await act(db, demo["王芳"].telegram_id, rid, Accept())
    await act(db, demo["王芳"].telegram_id, rid, IssueLetter("(2026) 8", 30))
    async with db.begin() as session:
        assert await service.flag_pocket_members(session, now=NOW + dt.timedelta(days=29)) == []
    async with db.begin() as session:
        flagged = await service.flag_pocket_members(session, now=NOW + dt.timedelta(days=30))
    assert len(flagged) == 1
    told = {r.account.telegram_id for r in flagged[0].recipients}
    assert told == {
        demo["张伟"].telegram_id,
        demo["王芳"].telegram_id,
        demo["周涛"].telegram_id,
        demo["林书记"].telegram_id,
    }
    row = await request_row(db, rid)
    assert row.state is RequestState.LETTER_EXPIRED and row.pocket_flagged_at is not None
    async with db.begin() as session:
        assert await service.flag_pocket_members(session, now=NOW + dt.timedelta(days=40)) == []
        entries = await queries.audit_entries(session, action="relink.letter_expired")
        assert [(e.actor_label, e.actor_account_id) for e in entries] == [("system", None)]


async def test_reconnect_puts_the_member_back_on_a_roster(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await add_register_rows(
        db, ("黄晓明", "DEMO-B2", 2004), ("黄小明", "DEMO-B1", 2005), ("何大伟", "DEMO-B1", 2005)
    )
    outcome = await _submit(db, 77001, RequestType.RECONNECT, name="黄小明", home="DEMO-B1")
    assert outcome.request is not None
    rid = outcome.request.id
    async with db() as session:
        row = await queries_request(session, rid)
        matches = await identity.register_matches(session, row)
    assert [m.entry.name for m in matches] == ["黄小明", "黄晓明"]
    assert (await act(db, demo["王芳"].telegram_id, rid, Accept())).ok
    secretary, principal = await account_of(db, demo["王芳"].telegram_id)
    async with db.begin() as session:
        confirmed = await identity.confirm_register_identity(
            session,
            request_id=rid,
            entry_id=matches[0].entry.id,
            account=secretary,
            principal=principal,
            now=NOW,
        )
        assert confirmed.ok
    steps = (
        EducationTalkHeld(dt.date(2026, 11, 20), "王芳"),
        DuesSettled(6),
        AssignedTo("DEMO-B1"),
    )
    for step in steps:
        assert (await act(db, demo["王芳"].telegram_id, rid, CompleteStep(step))).ok
    early = await act(db, demo["王芳"].telegram_id, rid, Complete())
    assert early.refusal is not None and early.refusal.code is RefusalCode.STEPS_INCOMPLETE
    assert (await act(db, demo["王芳"].telegram_id, rid, CompleteStep(SystemFlagCleared()))).ok
    assert (await act(db, demo["王芳"].telegram_id, rid, Complete())).ok
    async with db() as session:
        account = await queries.account_by_telegram_id(session, 77001)
        assert account is not None and account.person is not None
        assert account.person.name == "黄小明" and account.person.status is PersonStatus.REGULAR
        assert account.person.branch is not None and account.person.branch.code == "DEMO-B1"
        entry = await session.get(LostContactEntry, matches[0].entry.id)
        assert entry is not None and entry.relinked_at is not None
        relinked = await counting.relinked_this_year(session, NOW, "Asia/Shanghai")
        assert [r.id for r in relinked] == [rid]


async def test_a_stale_decision_does_not_overwrite_a_newer_one(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    outcome = await _submit(
        db, demo["李强"].telegram_id, RequestType.MOBILE, name="李强", home="DEMO-B1"
    )
    assert outcome.request is not None
    async with db() as first:
        stale = await first.get(RelinkRequest, outcome.request.id)
        assert stale is not None
        assert (await act(db, demo["王芳"].telegram_id, outcome.request.id, Accept())).ok
        stale.state = RequestState.REJECTED
        stale.version = 2
        with pytest.raises(StaleDataError):
            await first.commit()


def test_phone_numbers_are_masked() -> None:
    assert counting.mask_phone("13800000000") == "138****0000"
    assert counting.mask_phone("+86 138 1234 5678") == "138****5678"
    assert counting.mask_phone("12345") == "***45"
    assert counting.mask_phone(None) == ""


async def queries_request(session, request_id: int) -> RelinkRequest:
    from storage import relink_queries

    row = await relink_queries.request_by_id(session, request_id)
    assert row is not None
    return row


async def test_a_secretary_filing_a_request_is_decided_by_the_admin(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    outcome = await _submit(
        db, demo["王芳"].telegram_id, RequestType.MOBILE, name="王芳", home="DEMO-B1"
    )
    assert outcome.request is not None
    assert [r.account.telegram_id for r in outcome.recipients] == [demo["林书记"].telegram_id]
    own = await act(db, demo["王芳"].telegram_id, outcome.request.id, Accept())
    assert own.refusal is not None and own.refusal.code is RefusalCode.OWN_REQUEST
    assert (await act(db, demo["林书记"].telegram_id, outcome.request.id, Accept())).ok
