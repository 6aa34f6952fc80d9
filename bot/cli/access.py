"""`zhibu invite`, `people`, `role`, `account` and `deletion`: invites, and taking access away.

The command line acts for the organisation department: it is not limited to a subtree. Every
change that takes access away says what it will do and asks first (`--yes` answers for you),
is audited as done from the command line, and counts from the person's next update.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot import privacy, revocation
from bot.cli.common import confirm, prepare_database
from bot.cli.data import import_command
from bot.cli.invites import invite_create, invite_list, invite_revoke
from bot.config import Settings
from bot.enums import Role
from bot.errors import CommandError
from storage import access_queries, queries
from storage.db import transaction
from storage.models import Person

ROLES = [role.value for role in Role]


def add_parsers(sub: Any) -> None:
    """`invite`, `people`, `role`, `account` and `deletion`."""
    _invite_parsers(sub)
    people = sub.add_parser("people", help="the roster: import, find, remove from a branch")
    actions = people.add_subparsers(dest="action", required=True)
    imp = actions.add_parser("import", help="import a roster file, all or nothing")
    imp.add_argument("file", help="CSV (UTF-8 or GB18030) or XLSX file")
    imp.set_defaults(handler=lambda settings, args: import_command(settings, "people", args.file))
    find = actions.add_parser("find", help="people whose name contains the text, with their ids")
    find.add_argument("name")
    find.set_defaults(handler=people_find)
    remove = actions.add_parser("remove", help="take a person off their branch's roster")
    _person_and_yes(remove)
    remove.set_defaults(handler=people_remove)
    role = sub.add_parser("role", help="take back a role")
    role_actions = role.add_subparsers(dest="action", required=True)
    revoke = role_actions.add_parser("revoke", help="take back one role of a person")
    _person_and_yes(revoke)
    revoke.add_argument("--role", required=True, choices=[r for r in ROLES if r != "member"])
    revoke.add_argument("--org", required=True, help="code of the node the role is held at")
    revoke.set_defaults(handler=role_revoke)
    account = sub.add_parser("account", help="Telegram accounts of people")
    account_actions = account.add_subparsers(dest="action", required=True)
    unlink = account_actions.add_parser("unlink", help="detach a person's Telegram account")
    _person_and_yes(unlink)
    unlink.set_defaults(handler=account_unlink)
    _deletion_parsers(sub)


def _invite_parsers(sub: Any) -> None:
    invite = sub.add_parser("invite", help="invite codes: create, list, withdraw")
    actions = invite.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="print a new code and its link")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--org", required=True, help="code of the organisation node")
    create.add_argument("--person", help="name of a person on that branch's roster")
    create.add_argument("--uses", type=int, default=1, help="people who may use it (default 1)")
    create.add_argument(
        "--expires", default="7d", help="validity such as 7d, 12h, 30m (default 7d)"
    )
    create.set_defaults(handler=invite_create)
    listing = actions.add_parser("list", help="the invites that can still be used")
    listing.add_argument("--org", help="only those into this node's subtree")
    listing.set_defaults(handler=invite_list)
    revoke = actions.add_parser("revoke", help="withdraw an invite (by the id `list` shows)")
    revoke.add_argument("invite_id", type=int)
    revoke.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    revoke.set_defaults(handler=invite_revoke)


def _deletion_parsers(sub: Any) -> None:
    deletion = sub.add_parser("deletion", help="people's requests to delete their data")
    actions = deletion.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="undecided requests").set_defaults(handler=deletion_list)
    for name, confirmed in (("confirm", True), ("decline", False)):
        decide = actions.add_parser(name, help=f"{name} a request (by the id `list` shows)")
        decide.add_argument("request_id", type=int)
        decide.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        decide.set_defaults(
            handler=lambda settings, args, confirmed=confirmed: deletion_decide(
                settings, args, confirmed=confirmed
            )
        )


def _person_and_yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--person", type=int, required=True, help="the id `people find` shows")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


async def _person(session: Any, person_id: int) -> Person:
    person = await access_queries.person_by_id(session, person_id)
    if person is None:
        raise CommandError(f"no person with id {person_id}")
    return person


def people_find(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu people find NAME`: id, name, branch, roles and whether an account is linked."""

    async def find() -> list[str]:
        async with transaction(settings.database_url) as session:
            lines = []
            for person in await access_queries.people_in_scope(
                session, paths=["/"], name=args.name, offset=0, limit=50
            ):
                roles = [
                    f"{a.role.value}@{a.org_unit.code}"
                    for a in await queries.roles_of(session, person.id)
                ]
                linked = await access_queries.account_of_person(session, person.id) is not None
                branch = person.branch.code if person.branch else "-"
                lines.append(
                    f"{person.id}\t{person.name}\t{branch}\t{','.join(roles) or '-'}\t"
                    f"{'account linked' if linked else 'no account'}"
                )
            return lines

    prepare_database(settings)
    lines = asyncio.run(find())
    print("\n".join(lines) if lines else f"nobody's name contains {args.name!r}")
    return 0


def people_remove(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu people remove --person ID`: off the roster, kept in history."""

    async def describe() -> str:
        async with transaction(settings.database_url) as session:
            person = await _person(session, args.person)
            if person.branch is None:
                raise CommandError(f"{person.name} (id {person.id}) is on no branch roster")
            return (
                f"remove {person.name} (id {person.id}) from the roster of {person.branch.code}, "
                "with their roles in that branch (they stay in its records)"
            )

    async def act() -> str:
        async with transaction(settings.database_url) as session:
            person = await _person(session, args.person)
            roles = await revocation.remove_from_branch(
                session, person=person, actor=None, now=settings.now()
            )
            return f"removed; roles taken back: {', '.join(r.value for r in roles) or 'none'}"

    return _confirmed(settings, args, describe, act)


def role_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu role revoke --person ID --role ROLE --org CODE`."""

    async def assignment(session: Any) -> Any:
        person = await _person(session, args.person)
        for held in await queries.roles_of(session, person.id):
            if held.role.value == args.role and held.org_unit.code == args.org:
                return person, held
        raise CommandError(f"{person.name} (id {person.id}) is not {args.role} of {args.org}")

    async def describe() -> str:
        async with transaction(settings.database_url) as session:
            person, _held = await assignment(session)
            return (
                f"take back the role {args.role} of {args.org} from {person.name} (id {person.id})"
            )

    async def act() -> str:
        async with transaction(settings.database_url) as session:
            _person_row, held = await assignment(session)
            await revocation.revoke_role(session, assignment=held, actor=None)
            return "role taken back"

    return _confirmed(settings, args, describe, act)


def account_unlink(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu account unlink --person ID`."""

    async def describe() -> str:
        async with transaction(settings.database_url) as session:
            person = await _person(session, args.person)
            if await access_queries.account_of_person(session, person.id) is None:
                raise CommandError(f"{person.name} (id {person.id}) has no Telegram account")
            return f"unlink the Telegram account of {person.name} (id {person.id})"

    async def act() -> str:
        async with transaction(settings.database_url) as session:
            person = await _person(session, args.person)
            await revocation.unlink_account(session, person=person, actor=None)
            return "account unlinked"

    return _confirmed(settings, args, describe, act)


def deletion_list(settings: Settings, _args: argparse.Namespace) -> int:
    """`zhibu deletion list`."""

    async def listing() -> list[str]:
        async with transaction(settings.database_url) as session:
            found = await access_queries.open_deletion_requests(session, paths=["/"], limit=500)
            return [
                f"{r.id}\t{p.name} (person {p.id})\trequested {r.requested_at:%Y-%m-%d}"
                for r, p in found
            ]

    prepare_database(settings)
    lines = asyncio.run(listing())
    print("\n".join(lines) if lines else "no undecided deletion requests")
    return 0


def deletion_decide(settings: Settings, args: argparse.Namespace, *, confirmed: bool) -> int:
    """`zhibu deletion confirm|decline ID`."""

    async def request(session: Any) -> Any:
        found = await access_queries.deletion_request_by_id(session, args.request_id)
        if found is None:
            raise CommandError(f"no deletion request {args.request_id}")
        return found

    async def describe() -> str:
        async with transaction(settings.database_url) as session:
            found = await request(session)
            person = await _person(session, found.person_id)
            if confirmed:
                return f"erase the name, phone and account of {person.name} (id {person.id})"
            return f"decline the deletion request of {person.name} (id {person.id})"

    async def act() -> str:
        async with transaction(settings.database_url) as session:
            problem = await privacy.decide_deletion(
                session,
                request=await request(session),
                confirm=confirmed,
                actor=None,
                now=settings.now(),
            )
            if problem is not None:
                raise CommandError("this request was already decided")
            return "erased" if confirmed else "declined"

    return _confirmed(settings, args, describe, act)


def _confirmed(settings: Settings, args: argparse.Namespace, describe: Any, act: Any) -> int:
    """Describe, ask, then act in a fresh transaction (none is held open while asking)."""
    prepare_database(settings)
    confirm(f"about to {asyncio.run(describe())}", yes=args.yes)
    print(asyncio.run(act()))
    return 0
