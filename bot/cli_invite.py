"""Invite creation for the command line (the first admin is created this way)."""

from __future__ import annotations

from bot.config import Settings
from bot.enums import Role
from bot.errors import CommandError
from bot.invites import InviteError, create_invite, deep_link, parse_duration
from storage import queries
from storage.db import create_engine, session_factory


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
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            org = await queries.org_by_code(session, org_code)
            if org is None:
                raise CommandError(f"no organisation node with code {org_code!r}")
            person = None
            if person_name:
                person = await queries.person_in_branch(session, branch=org, name=person_name)
                if person is None:
                    raise CommandError(
                        f"no person named {person_name!r} on the roster of {org_code}"
                    )
            try:
                code, _invite = await create_invite(
                    session,
                    role=Role(role),
                    org=org,
                    now=settings.now(),
                    person=person,
                    uses=uses,
                    valid_for=valid_for,
                )
            except InviteError as exc:
                raise CommandError(str(exc)) from None
    finally:
        await engine.dispose()
    return code, deep_link(await bot_username(settings), code)
