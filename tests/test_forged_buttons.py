"""Forged buttons and commands, across the whole application (issue 11).

The button patterns are discovered from the application (conversations' entry points, states
and fallbacks included), so a handler registered without a case here fails
`test_every_registered_button_and_command_has_a_case`, naming it. Each button family has a
case in one of the areas (tests/forged/*.py): its real button, built with the family's codec
as a tampered client would, naming an object of another branch (DEMO-B1), is pressed by the
secretary of another branch, a member, the admin of a sibling subtree and a stranger; nothing
changes, nothing about the object is revealed, and each gets a short refusal in their
language (tests/support/forged.py says exactly what is checked). Commands that name an
object are sent the same way.

One bot and one organisation serve every case (set up once: a press that changes nothing
leaves them as they were), on a pinned clock, with its background jobs stopped.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram.ext import (
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    DictPersistence,
)

from bot.app import ZhibuApp, add_handlers
from bot.context import BotContext
from bot.demo import seed_demo
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from handlers.buttons import Button
from storage import queries
from storage.db import create_engine, session_factory
from tests.forged import (
    access,
    activity,
    book,
    dues,
    grading,
    meetings,
    notices,
    registration,
    relink,
    reminders,
    training,
)
from tests.support import database
from tests.support.activity import pin_clock
from tests.support.bot import TOKEN, running_bot, settings_for
from tests.support.forged import (
    Area,
    Case,
    CommandCase,
    Forged,
    Persona,
    World,
    assert_nothing_revealed,
    assert_refusal,
    command,
    foreign_changes,
    missing,
    press,
    settle,
    tables,
)
from tests.support.relink import sibling_committee
from tests.support.snapshot import changes

AREAS: tuple[Area[Any], ...] = (
    activity.AREA,
    relink.AREA,
    grading.AREA,
    access.AREA,
    registration.AREA,
    book.AREA,
    notices.AREA,
    training.AREA,
    reminders.AREA,
    meetings.AREA,
    dues.AREA,
)

# A conversation's fallback for its own stale buttons (`^prefix:`): it answers "This button is
# no longer active." and keeps the draft. The forged presses of that prefix's families reach
# it whenever the persona is not in the state the family belongs to.
STALE_FALLBACKS = {"reg", "inv", "acs", "rlq", "rlx", "gq", "lg", "ntf", "trn", "meet"}

# Commands that name no object, and why (/start and /due take a code: they have cases).
NO_ID_COMMANDS = {
    "help": "lists the sender's own commands",
    "me": "shows the sender's own account",
    "lang": "offers the languages",
    "cancel": "ends the sender's own conversation",
    "mydata": "exports the sender's own data",
    "forgetme": "files the sender's own deletion request (after a button)",
    "invite": "asks for a node among the sender's own grants (inv:org is a case)",
    "access": "asks for a name searched in the admin's own subtrees",
    "relink": "shows or starts the sender's own request, or the leader's own list",
    "log": "the branch comes from the sender's grants (lg:b is a case); a quick log names none",
    "activities": "the sender's own branches and subtrees",
    "report": "sub-reports and months; the subtree comes from the admin's own grants",
    "grade": "the sender's own branches and subtrees",
    "survey": "the sender's own branch",
    "book": "a year and search words; branches come from the sender's own grants (bk:b, bk:t "
    "and bk:s are cases)",
    "meet": "the branch or party group comes from the sender's grants (meet:for is a case)",
    "meetings": "the sender's own invitations and the meetings of what they lead",
    "notify": "asks for a node among the admin's own grants (ntf:org is a case)",
    "notices": "lists the notices of the admin's own subtrees",
    "training": "the admin's own subtrees' trainings, or the sender's own training record",
    "reminders": "shows the sender's own reminder settings",
    "dues": "the sender's own months, or the collection of a branch they lead",
}


# ---- what the application registers ---------------------------------------------------------


@dataclass
class Registered:
    """Every button pattern and command the application registers, by what it is."""

    families: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    stale: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    unknown: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    catch_all: list[str] = field(default_factory=list)
    commands: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def _walk(handler: BaseHandler[Any, Any, Any], where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(handler, ConversationHandler):
        name = str(handler.name)
        for inner in handler.entry_points:
            yield from _walk(inner, f"{name}/entry")
        for state, handlers in handler.states.items():
            for inner in handlers:
                yield from _walk(inner, f"{name}/{state}")
        for inner in handler.fallbacks:
            yield from _walk(inner, f"{name}/fallback")
        return
    yield where, handler


def _families_of(pattern: str) -> list[str] | None:
    """The prefixes of the families a pattern accepts (one, or several joined by
    `family_pattern`), or None when it is not made of families."""
    bare = {
        re.sub(r"\?P<\w+>", "", family.pattern): prefix
        for prefix, family in Button.registry.items()
    }
    exact = {family.pattern: prefix for prefix, family in Button.registry.items()}
    if pattern in exact:
        return [exact[pattern]]
    if pattern.startswith("(?:") and pattern.endswith(")"):
        parts = pattern[3:-1].split(")|(?:")
        if all(part in bare for part in parts):
            return [bare[part] for part in parts]
    return None


def _registered() -> Registered:
    application = (
        ApplicationBuilder()
        .token("1:X")
        .context_types(ContextTypes(context=BotContext))
        .updater(None)
        .persistence(DictPersistence())
        .build()
    )
    add_handlers(application)
    found = Registered()
    for group, handlers in application.handlers.items():
        for top in handlers:
            for where, handler in _walk(top, f"group {group}"):
                name = f"{where}: {getattr(handler.callback, '__qualname__', handler.callback)}"
                if isinstance(handler, CommandHandler):
                    for word in handler.commands:
                        found.commands[word].append(name)
                if not isinstance(handler, CallbackQueryHandler):
                    continue
                pattern = handler.pattern
                if pattern is None:
                    found.catch_all.append(name)
                    continue
                text = pattern.pattern if isinstance(pattern, re.Pattern) else str(pattern)
                families = _families_of(text)
                if families is not None:
                    for prefix in families:
                        found.families[prefix].append(name)
                elif re.fullmatch(r"\^[a-z]+:", text):
                    found.stale[text[1:-1]].append(name)
                else:
                    found.unknown[text].append(name)
    return found


CASES: dict[str, tuple[Area[Any], Case[Any]]] = {}
for _area in AREAS:
    for _case in _area.cases:
        assert _case.prefix not in CASES, f"{_case.prefix} has two cases"
        CASES[_case.prefix] = (_area, _case)
COMMAND_CASES: dict[str, tuple[Area[Any], CommandCase[Any]]] = {
    f"/{c.command} ({area.name})": (area, c) for area in AREAS for c in area.commands
}


def test_every_registered_button_and_command_has_a_case() -> None:
    registered = _registered()
    families = set(registered.families)
    without_case = sorted(families - set(CASES))
    assert not without_case, (
        f"button families registered without a forged-button case: {without_case} "
        f"(handlers: {[registered.families[p] for p in without_case]}); add a Case to the "
        "area in tests/forged/"
    )
    stale_cases = sorted(set(CASES) - families)
    assert not stale_cases, f"cases for families the application does not register: {stale_cases}"
    # Families declared by the application's own modules; tests declare toy families.
    declared = {
        p for p, family in Button.registry.items() if not family.__module__.startswith("tests")
    }
    assert declared <= families, f"families no handler takes: {sorted(declared - families)}"
    assert not registered.unknown, (
        f"callback patterns that are no button family: {dict(registered.unknown)}; declare "
        "a Button family (handlers/buttons.py) and give it a case"
    )
    stale = set(registered.stale)
    assert stale == STALE_FALLBACKS, (
        f"conversations' stale-button fallbacks: {sorted(stale)}; "
        f"accounted for: {sorted(STALE_FALLBACKS)}"
    )
    for word in STALE_FALLBACKS:
        assert any(p.split(":")[0] == word for p in CASES), f"no case reaches ^{word}:"
    assert len(registered.catch_all) == 1, registered.catch_all  # common.stale_button
    commands = set(registered.commands)
    with_case = {c.command for _, c in COMMAND_CASES.values()}
    unaccounted = sorted(commands - set(NO_ID_COMMANDS) - with_case)
    assert not unaccounted, (
        f"commands neither with a forged case nor in NO_ID_COMMANDS: {unaccounted}"
    )
    assert not set(NO_ID_COMMANDS) & with_case, "a command with a case is listed as naming nothing"
    assert set(NO_ID_COMMANDS) | with_case <= commands, "a command listed here is not registered"


# ---- one bot for every case ----------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    _migrated: str | Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """The demo organisation and a sibling committee, and the bot serving them on a pinned
    clock."""
    if isinstance(_migrated, Path):
        url = database.fresh_sqlite(_migrated, tmp_path_factory.mktemp("forged"))
    else:
        url = _migrated
    engine = create_engine(url)
    db = session_factory(engine)
    server = FakeTelegramServer(token=TOKEN)
    await server.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            pin_clock(patch)
            async with db.begin() as session:
                await seed_demo(session)
            await sibling_committee(db)
            async with db() as session:
                nodes = {
                    code: (await queries.org_by_code(session, code)).id  # type: ignore[union-attr]
                    for code in ("DEMO", "DEMO-B1", "DEMO-B2", "DEMO-B3", "SIB", "SIB-B1")
                }
            settings = settings_for(url, server)
            async with FakeTelegramClient(server.url) as client, running_bot(settings) as app:
                _stop_jobs(app)
                yield World(db, client, nodes)
    finally:
        await server.stop()
        await engine.dispose()
        if not isinstance(_migrated, Path):
            await database.empty_postgres(url)


def _stop_jobs(app: ZhibuApp) -> None:
    """The background jobs (reminders, the retention purge, pocket members) change tables on
    their own clock, which would make a before-and-after comparison flaky; they have tests
    of their own."""
    assert app.job_queue is not None
    for job in app.job_queue.jobs():
        job.schedule_removal()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("prefix", sorted(CASES))
async def test_a_forged_button_changes_nothing_reveals_nothing_and_is_refused(
    prefix: str, world: World
) -> None:
    area, case = CASES[prefix]
    targets = await world.targets(area)
    buttons = case.buttons(targets)
    people = await world.cast(case)

    async def enter(persona: Persona) -> None:
        if case.enter is not None:
            persona.anchor = await case.enter(world, persona, targets) or persona.anchor
            # Whatever entering still sent is read: a press's reply is the press's own.
            await settle(persona)

    async def presses(persona: Persona) -> None:
        for forged in buttons:
            await _forged_press(case, persona, forged)
        extra = await settle(persona)
        if not case.harmless:
            assert extra == [], f"{prefix}: {persona} got more than refusals: {extra}"

    # The personas' chats are handled side by side, as they would be.
    await asyncio.gather(*(enter(persona) for persona in people))
    engine = world.db.kw["bind"]
    before = await tables(engine)
    await asyncio.gather(*(presses(persona) for persona in people))
    found = changes(before, await tables(engine))
    if case.own_changes:
        found = foreign_changes(found, people)
    assert not found, f"{prefix}: the presses changed {found}"
    await assert_nothing_revealed(world.client, people, area.markers(targets), prefix)
    world.release(case, people)


async def _forged_press(case: Case[Any], persona: Persona, forged: Forged) -> None:
    """One press, refused unless the case says it may answer; a forged id is refused the
    same as an id naming nothing."""
    button = forged.button
    what = f"{case.prefix}: {persona} pressing {button.data}"
    reply = await press(persona, button.data, refusal=not case.harmless)
    if case.check is not None:
        case.check(persona, reply)
    if case.harmless:
        return
    assert reply is not None, what
    assert_refusal(persona, reply, what)
    if forged.refusal:
        assert reply.text == persona.tr._(forged.refusal), f"{what}: {reply.text!r}"
    if persona.kind != "stranger" and not case.refused_in_message:
        assert reply.alert, f"{what}: refused in a message, not an alert: {reply.text!r}"
    if not case.no_object and not case.differs_from_missing:
        other = await press(persona, missing(button).data, refusal=True)
        assert other is not None and other.text == reply.text, (
            f"{what}: refused with {reply.text!r}, but an id naming nothing gets {other!r}: "
            "the refusal tells whether the object exists"
        )


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("name", sorted(COMMAND_CASES))
async def test_a_command_naming_another_branchs_object_is_refused(name: str, world: World) -> None:
    area, case = COMMAND_CASES[name]
    targets = await world.targets(area)
    people = await world.cast(case)
    engine = world.db.kw["bind"]
    before = await tables(engine)

    async def send(persona: Persona) -> None:
        for message in case.messages(targets):
            reply = await command(persona, message)
            assert_refusal(persona, reply, f"{persona} sending {message}")
            if case.check is not None:
                case.check(persona, reply)
        assert await settle(persona) == [], f"{name}: {persona} got more than refusals"

    await asyncio.gather(*(send(persona) for persona in people))
    assert not changes(before, await tables(engine)), f"{name}: the commands changed something"
    await assert_nothing_revealed(world.client, people, area.markers(targets), name)
    world.release(case, people)
