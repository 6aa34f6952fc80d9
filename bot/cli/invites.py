"""`zhibu invite create|list|revoke` (the first admin is invited this way)."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import confirm, prepare_database
from bot.config import Settings, SettingsError, with_secret_key
from bot.enums import Role
from bot.errors import CommandError
from bot.invites import (
    InviteError,
    InvitePolicy,
    create_invite,
    deep_link,
    parse_duration,
    revoke_invite,
)
from storage import invite_queries, queries
from storage.db import transaction


async def bot_username(settings: Settings) -> str:
    """The bot's @username: from settings, else asked from the Bot API, else a placeholder."""
    if settings.bot_username:
        return settings.bot_username
    if settings.bot_token is not None:
        from telegram import Bot

        async with Bot(settings.bot_token.get_secret_value(), base_url=settings.bot_api_url) as bot:
            return bot.username
    return "your_bot"


async def create_invite_from_cli(
    settings: Settings,
    *,
    role: str,
    org_code: str,
    person_name: str | None,
    uses: int,
    expires: str,
) -> tuple[str, str]:
    """Create an invite and return (code, deep link)."""
    try:
        valid_for = parse_duration(expires)
        policy = InvitePolicy.of(with_secret_key(settings))
    except (ValueError, SettingsError) as exc:
        raise CommandError(str(exc)) from None
    async with transaction(settings.database_url) as session:
        org = await queries.org_by_code(session, org_code)
        if org is None:
            raise CommandError(f"no organisation node with code {org_code!r}")
        person = None
        if person_name:
            person = await queries.person_in_branch(session, branch=org, name=person_name)
            if person is None:
                raise CommandError(f"no person named {person_name!r} on the roster of {org_code}")
        try:
            code, _invite = await create_invite(
                session,
                policy=policy,
                role=Role(role),
                org=org,
                now=settings.now(),
                person=person,
                uses=uses,
                valid_for=valid_for,
            )
        except InviteError as exc:
            raise CommandError(str(exc)) from None
    return code, deep_link(await bot_username(settings), code)


def invite_create(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu invite create ...`: print the code and, last, the deep link."""
    prepare_database(settings)
    code, link = asyncio.run(
        create_invite_from_cli(
            settings,
            role=args.role,
            org_code=args.org,
            person_name=args.person,
            uses=args.uses,
            expires=args.expires,
        )
    )
    print(f"invite code: {code}")
    print(link)
    return 0


def invite_list(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu invite list [--org CODE]`: one line per usable invite, with its id."""

    async def listing() -> list[str]:
        async with transaction(settings.database_url) as session:
            path = "/"
            if args.org:
                org = await queries.org_by_code(session, args.org)
                if org is None:
                    raise CommandError(f"no organisation node with code {args.org!r}")
                path = org.path
            found = await invite_queries.open_invites(
                session, paths=[path], now=settings.now(), offset=0, limit=1000
            )
            return [
                f"{i.id}\t{i.role.value} of {i.org_unit.code}\tused {i.uses} of {i.max_uses}\t"
                f"until {i.expires_at.astimezone(settings.tz):%Y-%m-%d %H:%M}"
                + (f"\tfor {i.person.name}" if i.person else "")
                for i in found
            ]

    prepare_database(settings)
    lines = asyncio.run(listing())
    print("\n".join(lines) if lines else "no usable invites")
    return 0


def invite_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu invite revoke ID`: nobody can use it any more."""

    async def describe() -> str:
        async with transaction(settings.database_url) as session:
            invite = await invite_queries.invite_by_id(session, args.invite_id)
            if invite is None:
                raise CommandError(f"no invite with id {args.invite_id}")
            if invite.revoked_at is not None:
                raise CommandError(f"invite {invite.id} was already withdrawn")
            return f"withdraw invite {invite.id} ({invite.role.value} of {invite.org_unit.code})"

    async def act() -> None:
        async with transaction(settings.database_url) as session:
            invite = await invite_queries.invite_by_id(session, args.invite_id)
            if invite is None or invite.revoked_at is not None:
                raise CommandError(f"invite {args.invite_id} was already withdrawn")
            await revoke_invite(session, invite=invite, actor=None, now=settings.now())

    prepare_database(settings)
    confirm(f"about to {asyncio.run(describe())}", yes=args.yes)
    asyncio.run(act())
    print("invite withdrawn")
    return 0
