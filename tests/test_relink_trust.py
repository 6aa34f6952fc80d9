"""Relink against hostile use, on a real database: register scope, offered rows only, throttled
filing, unverified name matches, and leader roles that end with a transfer."""

import datetime as dt

from sqlalchemy import select

from bot.accounts import principal_of
from bot.demo import DemoUser
from bot.enums import PersonStatus, RequestState, RequestType, Role
from bot.relink import identity, service
from bot.relink.model import Accept, AcceptTransfer, IssueLetter, RefusalCode, Withdraw
from storage import queries, relink_queries
from storage.db import SessionFactory
from storage.models import Account, Person, RoleAssignment
from storage.models_relink import LostContactEntry
from tests.support.relink import (
    NOW,
    THROTTLE,
    account_of,
    act,
    add_register_rows,
    request_row,
    sibling_committee,
)


async def _submit(
    db: SessionFactory,
    telegram_id: int,
    kind: RequestType,
    *,
    name: str,
    home: str,
    receiving: str | None = None,
    now: dt.datetime = NOW,
) -> service.Outcome:
    account, _ = await account_of(db, telegram_id)
    async with db.begin() as session:
        home_unit = await queries.org_by_code(session, home)
        other = await queries.org_by_code(session, receiving) if receiving else None
        stored = await session.get(Account, account.id)
        assert home_unit is not None and stored is not None
        return await service.submit_request(
            session,
            account=stored,
            new=service.NewRequest(
                type=kind,
                name=name,
                home_id=home_unit.id,
                receiving_id=other.id if other else None,
                join_year=2005,
            ),
            now=now,
            throttle=THROTTLE,
        )


async def _confirm_entry(
    db: SessionFactory, telegram_id: int, request_id: int, entry_id: int | None
) -> service.Outcome:
    account, principal = await account_of(db, telegram_id)
    async with db.begin() as session:
        return await identity.confirm_register_identity(
            session,
            request_id=request_id,
            entry_id=entry_id,
            account=account,
            principal=principal,
            now=NOW,
        )


async def _entry_id(db: SessionFactory, name: str, branch_code: str) -> int:
    async with db() as session:
        entry_id = await session.scalar(
            select(LostContactEntry.id).where(
                LostContactEntry.name == name, LostContactEntry.branch_code == branch_code
            )
        )
    assert entry_id is not None
    return entry_id


async def test_register_matching_never_leaves_the_home_committees_subtree(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await sibling_committee(db)  # SIB-B1 has a 黄小明 of 2005 too
    await add_register_rows(db, ("黄晓明", "DEMO-B2", 2004), ("黄小明", None, 2005))
    outcome = await _submit(db, 77001, RequestType.RECONNECT, name="黄小明", home="DEMO-B1")
    assert outcome.request is not None
    async with db() as session:
        row = await relink_queries.request_by_id(session, outcome.request.id)
        assert row is not None
        matches = await identity.register_matches(session, row, limit=10)
    # Only the DEMO committee's row: not the sibling committee's, not the branchless one.
    assert [(m.entry.name, m.entry.branch_code) for m in matches] == [("黄晓明", "DEMO-B2")]


async def test_only_a_register_row_the_card_offers_is_accepted(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await sibling_committee(db)
    await add_register_rows(db, ("黄小明", "DEMO-B1", 2005), ("何大伟", "DEMO-B1", 2005))
    outcome = await _submit(db, 77001, RequestType.RECONNECT, name="黄小明", home="DEMO-B1")
    assert outcome.request is not None
    rid = outcome.request.id
    secretary = demo["王芳"].telegram_id
    assert (await act(db, secretary, rid, Accept())).ok
    # Another committee's lost-contact member, and a row of the branch whose name doesn't match.
    for forged in (
        await _entry_id(db, "黄小明", "SIB-B1"),
        await _entry_id(db, "何大伟", "DEMO-B1"),
    ):
        refused = await _confirm_entry(db, secretary, rid, forged)
        assert refused.problem is service.Problem.NOT_OFFERED
    row = await request_row(db, rid)
    assert row.register_entry_id is None and row.version == 2
    async with db() as session:
        assert await queries.audit_entries(session, action="relink.step_recorded") == []
    # Someone who may not record the step learns nothing about any row.
    stranger = await _confirm_entry(db, demo["周涛"].telegram_id, rid, 1)
    assert stranger.problem is service.Problem.NOT_FOUND
    member = await _confirm_entry(db, 77001, rid, await _entry_id(db, "黄小明", "DEMO-B1"))
    assert member.refusal is not None and member.refusal.code is RefusalCode.OWN_REQUEST
    # The row the card offers is taken.
    offered = await _confirm_entry(db, secretary, rid, await _entry_id(db, "黄小明", "DEMO-B1"))
    assert offered.ok
    assert (await request_row(db, rid)).register_entry_id == await _entry_id(
        db, "黄小明", "DEMO-B1"
    )


async def test_filing_and_withdrawing_are_limited_per_account(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    li = demo["李强"].telegram_id
    # Three requests filed and withdrawn within a day: six actions, the limit.
    for hour in range(3):
        filed = await _submit(
            db,
            li,
            RequestType.MOBILE,
            name="李强",
            home="DEMO-B1",
            now=NOW + dt.timedelta(hours=hour),
        )
        assert filed.request is not None
        withdrawn = await act(
            db, li, filed.request.id, Withdraw(), NOW + dt.timedelta(hours=hour, minutes=1)
        )
        assert withdrawn.ok
    later = NOW + dt.timedelta(hours=5)
    refused = await _submit(db, li, RequestType.MOBILE, name="李强", home="DEMO-B1", now=later)
    assert refused.problem is service.Problem.THROTTLED
    # The first filing leaves the 24-hour window a day after it was made.
    assert refused.retry_after == NOW + dt.timedelta(hours=24) - later
    async with db() as session:
        assert len(await queries.audit_entries(session, action="relink.submitted")) == 3
    # Another member is not held back; and a day later this one may file again.
    other = await _submit(
        db, demo["张伟"].telegram_id, RequestType.MOBILE, name="张伟", home="DEMO-B1", now=later
    )
    assert other.ok
    again = await _submit(
        db, li, RequestType.MOBILE, name="李强", home="DEMO-B1", now=NOW + dt.timedelta(hours=25)
    )
    assert again.ok


async def test_withdrawing_counts_against_the_limit(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    li = demo["李强"].telegram_id
    account, principal = await account_of(db, li)
    throttle = service.Throttle(limit=3, window=dt.timedelta(hours=1))

    async def withdraw(request_id: int) -> service.Outcome:
        async with db.begin() as session:
            return await service.perform(
                session,
                request_id=request_id,
                action=Withdraw(),
                account=await session.get(Account, account.id),
                principal=principal,
                now=NOW,
                throttle=throttle,
            )

    first = await _submit(db, li, RequestType.MOBILE, name="李强", home="DEMO-B1")
    assert first.request is not None and (await withdraw(first.request.id)).ok
    second = await _submit(db, li, RequestType.MOBILE, name="李强", home="DEMO-B1")
    assert second.request is not None
    # Filed, withdrawn, filed: a third action in the hour is one too many.
    held = await withdraw(second.request.id)
    assert held.problem is service.Problem.THROTTLED
    assert (await request_row(db, second.request.id)).state is RequestState.SUBMITTED


async def _unregistered_person(db: SessionFactory, name: str, branch_code: str) -> int:
    async with db.begin() as session:
        branch = await queries.org_by_code(session, branch_code)
        assert branch is not None
        person = Person(name=name, branch_id=branch.id, joined_on=dt.date(2005, 7, 1))
        session.add(person)
        await session.flush()
        return person.id


async def _settle_claim(
    db: SessionFactory, telegram_id: int, request_id: int, same: bool
) -> service.Outcome:
    account, principal = await account_of(db, telegram_id)
    async with db.begin() as session:
        return await identity.confirm_claimed_identity(
            session,
            request_id=request_id,
            same_person=same,
            account=account,
            principal=principal,
            now=NOW,
        )


async def test_a_name_that_matches_the_roster_is_only_a_claim(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    zhao = await _unregistered_person(db, "赵六", "DEMO-B1")
    outcome = await _submit(
        db, 77010, RequestType.TRANSFER, name="赵六", home="DEMO-B1", receiving="DEMO-B3"
    )
    assert outcome.request is not None
    rid = outcome.request.id
    row = await request_row(db, rid)
    assert (row.person_id, row.claimed_person_id) == (None, zhao)
    secretary = demo["王芳"].telegram_id
    assert (await act(db, secretary, rid, Accept())).ok
    assert (await act(db, secretary, rid, IssueLetter("(2026) 1", 30))).ok
    assert (await act(db, demo["周涛"].telegram_id, rid, AcceptTransfer())).ok
    async with db() as session:
        person = await session.get(Person, zhao)
        stranger = await queries.account_by_telegram_id(session, 77010)
        assert person is not None and stranger is not None
        # Nobody confirmed who the member is: the roster's 赵六 stays where they were, and the
        # Telegram account is not theirs.
        branch = await queries.org_by_id(session, person.branch_id or 0)
        assert branch is not None and branch.code == "DEMO-B1"
        assert stranger.person_id != zhao
        assert await relink_queries.account_of_person(session, zhao) is None


async def test_the_deciders_confirm_a_claimed_identity_before_the_account_is_linked(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    zhao = await _unregistered_person(db, "赵六", "DEMO-B1")
    outcome = await _submit(db, 77011, RequestType.MOBILE, name="赵六", home="DEMO-B1")
    assert outcome.request is not None
    rid = outcome.request.id
    # Only the home side settles it: not the member, not another branch's secretary.
    own = await _settle_claim(db, 77011, rid, True)
    assert own.refusal is not None and own.refusal.code is RefusalCode.OWN_REQUEST
    other = await _settle_claim(db, demo["周涛"].telegram_id, rid, True)
    assert other.problem is service.Problem.NOT_FOUND
    assert (await request_row(db, rid)).person_id is None
    assert (await act(db, demo["王芳"].telegram_id, rid, Accept())).ok
    async with db() as session:
        person = await session.get(Person, zhao)
        assert person is not None and person.status is PersonStatus.REGULAR
    confirmed = await _settle_claim(db, demo["王芳"].telegram_id, rid, True)
    assert confirmed.problem is None and confirmed.refusal is None
    row = await request_row(db, rid)
    assert row.person_id == zhao
    async with db() as session:
        account = await queries.account_by_telegram_id(session, 77011)
        person = await session.get(Person, zhao)
        assert account is not None and account.person_id == zhao
        # Confirmed after acceptance: the member is now the mobile member on the roster.
        assert person is not None and person.status is PersonStatus.MOBILE
        entries = await queries.audit_entries(session, action="relink.identity_confirmed")
        assert [e.details["person"] for e in entries] == [zhao]
    # Settled once: nothing left to confirm.
    again = await _settle_claim(db, demo["王芳"].telegram_id, rid, True)
    assert again.refusal is not None


async def test_a_dropped_claim_leaves_the_roster_alone(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _unregistered_person(db, "赵六", "DEMO-B1")
    outcome = await _submit(db, 77012, RequestType.MOBILE, name="赵六", home="DEMO-B1")
    assert outcome.request is not None
    dropped = await _settle_claim(db, demo["王芳"].telegram_id, outcome.request.id, False)
    assert dropped.problem is None and dropped.refusal is None
    row = await request_row(db, outcome.request.id)
    assert (row.person_id, row.claimed_person_id) == (None, None)


async def test_a_claim_on_someone_registered_is_never_linked(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    # 张伟 of DEMO-B1 uses the bot already; a stranger files under that name.
    outcome = await _submit(db, 77013, RequestType.MOBILE, name="张伟", home="DEMO-B1")
    assert outcome.request is not None
    taken = await _settle_claim(db, demo["王芳"].telegram_id, outcome.request.id, True)
    assert taken.problem is service.Problem.PERSON_TAKEN
    async with db() as session:
        stranger = await queries.account_by_telegram_id(session, 77013)
        assert stranger is not None and stranger.person_id is None


async def test_a_completed_transfer_ends_the_leader_roles_of_the_old_branch(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    wang = demo["王芳"].telegram_id
    outcome = await _submit(
        db, wang, RequestType.TRANSFER, name="王芳", home="DEMO-B1", receiving="DEMO-B2"
    )
    assert outcome.request is not None
    rid = outcome.request.id
    admin = demo["林书记"].telegram_id  # the secretary's own request: the admin decides
    assert (await act(db, admin, rid, Accept())).ok
    assert (await act(db, admin, rid, IssueLetter("(2026) 9", 30))).ok
    _, before = await account_of(db, wang)
    assert before.led_branches()
    assert (await act(db, demo["陈静"].telegram_id, rid, AcceptTransfer())).ok
    account, after = await account_of(db, wang)
    # A member of DEMO-B2 now, and no longer the secretary of DEMO-B1.
    assert after.led_branches() == [] and Role.SECRETARY not in after.roles()
    async with db() as session:
        roles = list(
            await session.scalars(
                select(RoleAssignment).where(RoleAssignment.person_id == account.person_id)
            )
        )
        assert roles == []
        person = await session.get(Person, account.person_id)
        assert person is not None
        branch = await queries.org_by_id(session, person.branch_id or 0)
        assert branch is not None and branch.code == "DEMO-B2"
        ended = await queries.audit_entries(session, action="relink.roles_ended")
        assert [(e.details["roles"], e.details["request"]) for e in ended] == [(["secretary"], rid)]
        fresh = await queries.account_by_telegram_id(session, wang)
        assert fresh is not None
        assert (await principal_of(session, fresh)).leads_branch(person.branch_id or 0) is False
    assert (await request_row(db, rid)).state is RequestState.COMPLETED


async def test_a_reconnect_settles_identity_through_the_register_only(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    zhao = await _unregistered_person(db, "赵六", "DEMO-B1")
    outcome = await _submit(db, 77014, RequestType.RECONNECT, name="赵六", home="DEMO-B1")
    assert outcome.request is not None
    assert (await request_row(db, outcome.request.id)).claimed_person_id == zhao
    refused = await _settle_claim(db, demo["王芳"].telegram_id, outcome.request.id, True)
    assert refused.refusal is not None
    assert refused.refusal.code is RefusalCode.NOT_ALLOWED_FOR_ROLE
    async with db() as session:
        stranger = await queries.account_by_telegram_id(session, 77014)
        assert stranger is not None and stranger.person_id is None
