"""Invite codes: creation, keyed hashing, redemption, revocation and slowing down guessing.

A code is stored only as HMAC-SHA256 under ZHIBU_SECRET_KEY: whoever holds a copy of the
database but not the key cannot test guesses offline (a plain hash of a 59-bit code could be
searched). Wrong codes are counted per sender, the sender kept only as a keyed hash too.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.enums import OrgKind, Role
from storage import invite_queries, queries
from storage.models import Account, Invite, OrgUnit, Person

# No 0/O, 1/I/L: codes are read aloud and typed from paper as often as tapped.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
# What a typed code may look like once normalised (also the callback data alphabet).
CODE_PATTERN = r"[A-Z0-9_]{4,40}"
_CODE_RE = re.compile(CODE_PATTERN)
_DURATION_RE = re.compile(r"^(\d{1,4})([dhm])$")


@dataclass(frozen=True, slots=True)
class InvitePolicy:
    """What invites need from the settings: the hashing key, the caps and the throttle."""

    key: bytes
    max_uses: int = 100
    max_valid_for: dt.timedelta = dt.timedelta(days=30)
    max_failures: int = 5
    failure_window: dt.timedelta = dt.timedelta(minutes=10)

    @classmethod
    def of(cls, settings: Settings) -> InvitePolicy:
        """The policy the settings configure."""
        return cls(
            key=settings.signing_key,
            max_uses=settings.invite_max_uses,
            max_valid_for=dt.timedelta(days=settings.invite_max_days),
            max_failures=settings.invite_max_failures,
            failure_window=dt.timedelta(minutes=settings.invite_failure_window_minutes),
        )


def new_code() -> str:
    """A random code with about 59 bits of entropy, valid as a Telegram deep-link parameter."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str:
    """Codes are case-insensitive and may be typed with spaces or dashes."""
    return re.sub(r"[\s-]", "", code).upper()


def well_formed(code: str) -> str | None:
    """The normalised code, or None when it cannot be one of ours (not worth a lookup)."""
    value = normalise(code)
    return value if _CODE_RE.fullmatch(value) else None


def hash_code(code: str, key: bytes) -> str:
    """The stored form of a code: HMAC-SHA256 under the secret key."""
    return hmac.new(key, b"invite:" + normalise(code).encode(), hashlib.sha256).hexdigest()


def legacy_hash(code: str) -> str:
    """How codes created before keyed hashing were stored (still accepted until they expire)."""
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def sender_key(telegram_id: int, key: bytes) -> str:
    """Who tried a wrong code, as throttling records keep it: not reversible without the key."""
    return hmac.new(key, b"sender:%d" % telegram_id, hashlib.sha256).hexdigest()


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


def _check_request(
    policy: InvitePolicy,
    role: Role,
    org: OrgUnit,
    person: Person | None,
    uses: int,
    valid_for: dt.timedelta,
) -> None:
    if role is not Role.ADMIN and org.kind is not OrgKind.BRANCH:
        raise InviteError(
            f"a {role.value} invite must name a branch, and {org.code} is a {org.kind.value}"
        )
    if not 1 <= uses <= policy.max_uses:
        raise InviteError(f"uses must be between 1 and {policy.max_uses} (ZHIBU_INVITE_MAX_USES)")
    if not dt.timedelta(0) < valid_for <= policy.max_valid_for:
        raise InviteError(
            f"an invite may be valid for at most {policy.max_valid_for.days} days "
            "(ZHIBU_INVITE_MAX_DAYS)"
        )
    if person is not None and role is not Role.ADMIN and person.branch_id != org.id:
        raise InviteError(f"{person.name} is not on the roster of {org.code}")
    if person is not None and uses != 1:
        raise InviteError("an invite for a named person can be used once")


async def create_invite(
    session: AsyncSession,
    *,
    policy: InvitePolicy,
    role: Role,
    org: OrgUnit,
    now: dt.datetime,
    person: Person | None = None,
    uses: int = 1,
    valid_for: dt.timedelta = dt.timedelta(days=7),
    created_by: Account | None = None,
) -> tuple[str, Invite]:
    """Create an invite and return the plain code (shown once, never stored)."""
    _check_request(policy, role, org, person, uses, valid_for)
    code = new_code()
    invite = Invite(
        code_hash=hash_code(code, policy.key),
        code_scheme="hmac",
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


async def revoke_invite(
    session: AsyncSession, *, invite: Invite, actor: Account | None, now: dt.datetime
) -> None:
    """Withdraw an invite: nobody can use it from now on (audited)."""
    invite.revoked_at = now
    await queries.audit(
        session,
        action="invite.revoke",
        actor=actor,
        actor_label="cli",
        target_type="invite",
        target_id=invite.id,
        org_unit_id=invite.org_unit_id,
        details={"role": invite.role.value, "uses": invite.uses, "max_uses": invite.max_uses},
    )


class Redeem(enum.StrEnum):
    """What happened to a code someone sent."""

    LINKED = "linked"  # account now linked to the invite's person
    ROLE_ADDED = "role_added"  # already registered; the role was added
    NEEDS_NAME = "needs_name"  # valid; the bot must ask the newcomer's name
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"
    REVOKED = "revoked"
    THROTTLED = "throttled"
    PERSON_TAKEN = "person_taken"  # the named person already has another account
    OTHER_PERSON = "other_person"  # this account belongs to someone else than the invite names
    OTHER_BRANCH = "other_branch"  # a member invite for another branch than the person's
    # The person already has what the invite gives: not used, so it still works for the one
    # it was meant for.
    ALREADY = "already"


@dataclass(frozen=True, slots=True)
class RedeemResult:
    """Outcome of a code, with the invite when it was valid."""

    outcome: Redeem
    invite: Invite | None = None
    retry_after: dt.timedelta | None = None

    @property
    def usable(self) -> bool:
        """True when the code registers the sender (with or without their name asked)."""
        return self.outcome in (Redeem.LINKED, Redeem.ROLE_ADDED, Redeem.NEEDS_NAME)


async def _throttle(
    session: AsyncSession, sender: str, now: dt.datetime, policy: InvitePolicy
) -> dt.timedelta | None:
    failures = await invite_queries.failures_since(session, sender, now - policy.failure_window)
    if len(failures) < policy.max_failures:
        return None
    # Wait until the oldest failure that counts leaves the window.
    oldest = failures[-policy.max_failures]
    return max(oldest + policy.failure_window - now, dt.timedelta(seconds=1))


async def _find(session: AsyncSession, code: str, policy: InvitePolicy) -> Invite | None:
    keyed = hash_code(code, policy.key)
    invite = await invite_queries.invite_by_hash(session, keyed=keyed, legacy=legacy_hash(code))
    if invite is not None and invite.code_scheme != "hmac":
        # A code from before keyed hashing: store it the new way now that it is known.
        invite.code_hash, invite.code_scheme = keyed, "hmac"
    return invite


async def check_code(
    session: AsyncSession,
    *,
    code: str,
    telegram_id: int,
    account: Account | None,
    now: dt.datetime,
    policy: InvitePolicy,
) -> RedeemResult:
    """Validate a code for a sender (with or without an account) without using it; counts
    wrong codes."""
    sender = sender_key(telegram_id, policy.key)
    retry = await _throttle(session, sender, now, policy)
    if retry is not None:
        return RedeemResult(Redeem.THROTTLED, retry_after=retry)
    invite = await _find(session, code, policy) if well_formed(code) else None
    if invite is None:
        await invite_queries.add_failure(session, sender, now)
        return RedeemResult(Redeem.UNKNOWN)
    state = _invite_state(invite, now)
    if state is not None:
        return RedeemResult(state, invite)
    person_id = account.person_id if account is not None else None
    if person_id is not None:
        if invite.person_id is not None and invite.person_id != person_id:
            return RedeemResult(Redeem.OTHER_PERSON, invite)
        person = await session.get(Person, person_id)
        on_other_roster = (
            person is not None
            and person.branch_id is not None
            and person.branch_id != invite.org_unit_id
        )
        if invite.role is Role.MEMBER and on_other_roster:
            return RedeemResult(Redeem.OTHER_BRANCH, invite)
        if person is not None and await _already_has(session, person, invite):
            return RedeemResult(Redeem.ALREADY, invite)
        return RedeemResult(Redeem.ROLE_ADDED, invite)
    if invite.person_id is not None:
        if await invite_queries.person_has_account(session, invite.person_id):
            return RedeemResult(Redeem.PERSON_TAKEN, invite)
        return RedeemResult(Redeem.LINKED, invite)
    return RedeemResult(Redeem.NEEDS_NAME, invite)


async def _already_has(session: AsyncSession, person: Person, invite: Invite) -> bool:
    if invite.role is Role.MEMBER:
        return person.branch_id == invite.org_unit_id
    return any(
        grant.role is invite.role and grant.org_unit_id == invite.org_unit_id
        for grant in await queries.roles_of(session, person.id)
    )


async def namesake_branch(session: AsyncSession, invite_id: int, name: str) -> OrgUnit | None:
    """The invite's branch when someone of that name is already on its roster: a newcomer
    giving it is that person or a namesake, which only the inviter can tell."""
    invite = await session.get(Invite, invite_id)
    if invite is None:
        return None
    org = await session.get(OrgUnit, invite.org_unit_id)
    if org is None or org.kind is not OrgKind.BRANCH:
        return None
    namesake = await queries.person_in_branch(session, branch=org, name=name)
    return org if namesake is not None else None


def _invite_state(invite: Invite, now: dt.datetime) -> Redeem | None:
    if invite.revoked_at is not None:
        return Redeem.REVOKED
    if invite.expires_at <= now:
        return Redeem.EXPIRED
    if invite.uses >= invite.max_uses:
        return Redeem.USED_UP
    return None


async def redeem(
    session: AsyncSession,
    *,
    code: str,
    account: Account,
    now: dt.datetime,
    policy: InvitePolicy,
) -> RedeemResult:
    """Check a code and, when it needs nothing more from the person, use it at once."""
    result = await check_code(
        session,
        code=code,
        telegram_id=account.telegram_id,
        account=account,
        now=now,
        policy=policy,
    )
    if result.outcome not in (Redeem.LINKED, Redeem.ROLE_ADDED) or result.invite is None:
        return result
    invite = await consume(session, result.invite.id, now)
    if invite is None:  # used up, expired or revoked between the check and now
        return RedeemResult(Redeem.USED_UP, result.invite)
    await complete_registration(session, invite=invite, account=account)
    return RedeemResult(result.outcome, invite)


async def consume(session: AsyncSession, invite_id: int, now: dt.datetime) -> Invite | None:
    """Count one use atomically; None when the code expired, ran out or was revoked."""
    return await invite_queries.consume(session, invite_id, now)


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
    if person.branch_id is None and invite.role is Role.MEMBER and org.kind is OrgKind.BRANCH:
        # Someone removed from a roster comes back with a new member invite.
        person.branch_id, person.left_branch_id, person.left_at = org.id, None, None
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
