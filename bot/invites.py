"""Invite codes: creation, hashing, redemption and slowing down guessing."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import OrgKind, Role
from storage import queries
from storage.models import Account, Invite, InviteFailure, OrgUnit, Person

# No 0/O, 1/I/L: codes are read aloud and typed from paper as often as tapped.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_DURATION_RE = re.compile(r"^(\d{1,4})([dhm])$")


def new_code() -> str:
    """A random code with about 59 bits of entropy, valid as a Telegram deep-link parameter."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str:
    """Codes are case-insensitive and may be typed with spaces or dashes."""
    return re.sub(r"[\s-]", "", code).upper()


def hash_code(code: str) -> str:
    """Only this hash is stored; codes are random enough that no salt is needed."""
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def parse_duration(text: str) -> dt.timedelta:
    """Parse `7d`, `12h` or `30m`; raises ValueError otherwise."""
    match = _DURATION_RE.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"not a duration like 7d, 12h or 30m: {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return {
        "d": dt.timedelta(days=amount),
        "h": dt.timedelta(hours=amount),
        "m": dt.timedelta(minutes=amount),
    }[unit]


def deep_link(bot_username: str, code: str) -> str:
    """The t.me link that opens the bot with the code."""
    return f"https://t.me/{bot_username}?start={code}"


class InviteError(Exception):
    """An invite can't be created as asked (message is for the CLI and logs)."""


async def create_invite(
    session: AsyncSession,
    *,
    role: Role,
    org: OrgUnit,
    now: dt.datetime,
    person: Person | None = None,
    uses: int = 1,
    valid_for: dt.timedelta = dt.timedelta(days=7),
    created_by: Account | None = None,
) -> tuple[str, Invite]:
    """Create an invite and return the plain code (shown once, never stored)."""
    if role is not Role.ADMIN and org.kind is not OrgKind.BRANCH:
        raise InviteError(
            f"a {role.value} invite must name a branch, and {org.code} is a {org.kind.value}"
        )
    if not 1 <= uses <= 1000:
        raise InviteError("uses must be between 1 and 1000")
    if person is not None and role is not Role.ADMIN and person.branch_id != org.id:
        raise InviteError(f"{person.name} is not on the roster of {org.code}")
    if person is not None and uses != 1:
        raise InviteError("an invite for a named person can be used once")
    code = new_code()
    invite = Invite(
        code_hash=hash_code(code),
        role=role,
        org_unit_id=org.id,
        person_id=person.id if person else None,
        max_uses=uses,
        uses=0,
        expires_at=now + valid_for,
        created_by=created_by.id if created_by else None,
    )
    session.add(invite)
    await session.flush()
    await queries.audit(
        session,
        action="invite.create",
        actor=created_by,
        actor_label="cli" if created_by is None else "bot",
        target_type="invite",
        target_id=invite.id,
        org_unit_id=org.id,
        details={
            "role": role.value,
            "uses": uses,
            "expires_at": invite.expires_at.isoformat(),
            "person_id": person.id if person else None,
        },
    )
    return code, invite


class Redeem(enum.StrEnum):
    """What happened to a code someone sent."""

    LINKED = "linked"  # account now linked to the invite's person
    ROLE_ADDED = "role_added"  # already registered; the role was added
    NEEDS_NAME = "needs_name"  # valid; the bot must ask the newcomer's name
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"
    THROTTLED = "throttled"
    PERSON_TAKEN = "person_taken"  # the named person already has another account
    OTHER_PERSON = "other_person"  # this account belongs to someone else than the invite names
    OTHER_BRANCH = "other_branch"  # a member invite for another branch than the person's


@dataclass(frozen=True, slots=True)
class RedeemResult:
    """Outcome of a code, with the invite when it was valid."""

    outcome: Redeem
    invite: Invite | None = None
    retry_after: dt.timedelta | None = None


async def _throttle(
    session: AsyncSession,
    telegram_id: int,
    now: dt.datetime,
    max_failures: int,
    window: dt.timedelta,
) -> dt.timedelta | None:
    since = now - window
    failures = list(
        await session.scalars(
            select(InviteFailure.at)
            .where(InviteFailure.telegram_id == telegram_id, InviteFailure.at > since)
            .order_by(InviteFailure.at)
        )
    )
    if len(failures) < max_failures:
        return None
    # Wait until the oldest failure that counts leaves the window.
    oldest = failures[-max_failures]
    return max(oldest + window - now, dt.timedelta(seconds=1))


async def check_code(
    session: AsyncSession,
    *,
    code: str,
    account: Account,
    now: dt.datetime,
    max_failures: int,
    window: dt.timedelta,
) -> RedeemResult:
    """Validate a code for an account without consuming it; counts wrong codes."""
    retry = await _throttle(session, account.telegram_id, now, max_failures, window)
    if retry is not None:
        return RedeemResult(Redeem.THROTTLED, retry_after=retry)
    invite = None
    if _CODE_RE.match(normalise(code) or "-"):
        invite = await session.scalar(select(Invite).where(Invite.code_hash == hash_code(code)))
    if invite is None:
        session.add(InviteFailure(telegram_id=account.telegram_id, at=now))
        return RedeemResult(Redeem.UNKNOWN)
    if invite.expires_at <= now:
        return RedeemResult(Redeem.EXPIRED, invite)
    if invite.uses >= invite.max_uses:
        return RedeemResult(Redeem.USED_UP, invite)
    if account.person_id is not None:
        if invite.person_id is not None and invite.person_id != account.person_id:
            return RedeemResult(Redeem.OTHER_PERSON, invite)
        person = await session.get(Person, account.person_id)
        if (
            invite.role is Role.MEMBER
            and person is not None
            and person.branch_id != invite.org_unit_id
        ):
            return RedeemResult(Redeem.OTHER_BRANCH, invite)
        return RedeemResult(Redeem.ROLE_ADDED, invite)
    if invite.person_id is not None:
        taken = await session.scalar(
            select(func.count()).select_from(Account).where(Account.person_id == invite.person_id)
        )
        if taken:
            return RedeemResult(Redeem.PERSON_TAKEN, invite)
        return RedeemResult(Redeem.LINKED, invite)
    return RedeemResult(Redeem.NEEDS_NAME, invite)


async def redeem(
    session: AsyncSession,
    *,
    code: str,
    account: Account,
    now: dt.datetime,
    max_failures: int,
    window: dt.timedelta,
) -> RedeemResult:
    """Check a code and, when it needs nothing more from the person, use it at once."""
    result = await check_code(
        session, code=code, account=account, now=now, max_failures=max_failures, window=window
    )
    if result.outcome not in (Redeem.LINKED, Redeem.ROLE_ADDED) or result.invite is None:
        return result
    invite = await consume(session, result.invite.id, now)
    if invite is None:  # used up or expired between the check and now
        return RedeemResult(Redeem.USED_UP, result.invite)
    await complete_registration(session, invite=invite, account=account)
    return RedeemResult(result.outcome, invite)


async def consume(session: AsyncSession, invite_id: int, now: dt.datetime) -> Invite | None:
    """Count one use atomically; None when the code expired or ran out meanwhile."""
    result = await session.execute(
        update(Invite)
        .where(Invite.id == invite_id, Invite.uses < Invite.max_uses, Invite.expires_at > now)
        .values(uses=Invite.uses + 1)
        .returning(Invite.id)
    )
    if result.scalar_one_or_none() is None:
        return None
    return await session.get(Invite, invite_id, populate_existing=True)


async def complete_registration(
    session: AsyncSession,
    *,
    invite: Invite,
    account: Account,
    name: str | None = None,
    phone: str | None = None,
) -> Person:
    """Link the account (creating the person when the invite named none) and grant the role."""
    org = await session.get(OrgUnit, invite.org_unit_id)
    assert org is not None  # FK guarantees it
    if account.person_id is not None:
        person = await session.get(Person, account.person_id)
        assert person is not None
    elif invite.person_id is not None:
        person = await session.get(Person, invite.person_id)
        assert person is not None
    else:
        branch_id = org.id if org.kind is OrgKind.BRANCH else None
        person = Person(name=name or "?", branch_id=branch_id, phone=phone, added_by_invite=True)
        session.add(person)
        await session.flush()
    account.person_id = person.id
    account.person = person
    if invite.role is not Role.MEMBER:
        await queries.grant_role(session, person=person, org_unit=org, role=invite.role)
    await queries.audit(
        session,
        action="invite.redeem",
        actor=account,
        target_type="person",
        target_id=person.id,
        org_unit_id=org.id,
        details={"invite_id": invite.id, "role": invite.role.value},
    )
    return person
