"""The forged-button harness: one bot, one organisation, and every button family pressed with
the ids of objects outside the presser's reach.

An *area* (tests/forged/*.py) sets up the objects of branch B (DEMO-B1 unless it says
otherwise) once, names the markers that would show them (names, topics, codes), and declares
one `Case` per button family it registers: the forged presses (a real button of the family,
built with its codec, naming B's objects) or, for a family that names no object, why not.
Each case is pressed by four personas, who start it with no conversation open (personas who
were only ever refused serve again; a case that brings them into a conversation, or whose
presses may be answered, gets new ones):

- the secretary of another branch (DEMO-B2), who writes in Chinese;
- a member, of another branch (DEMO-B2) or of B itself, as the case says;
- the admin of a sibling subtree (the committee SIB beside DEMO);
- a stranger (no account).

What must hold for every press: nothing changes (every table is the same afterwards), nothing
about B's objects is revealed (no marker in any message, edit or callback answer the persona
got), and a short refusal in the persona's language arrives (an alert, or a message for
someone who may not use the feature at all); a forged id gets the same refusal as an id that
names nothing. A family that names no object may instead answer harmlessly, and may change
the presser's own rows only when its case says why.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.enums import Role
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeUser
from bot.i18n import Translator
from handlers.buttons import Button
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from tests.support.activity import NOW
from tests.support.snapshot import Snapshot, snapshot

T = TypeVar("T")

# The object branch, the personas' branch, and the sibling subtree.
B, A, SIBLING = "DEMO-B1", "DEMO-B2", "SIB"
MISSING_ID = 999_999
# Telegram allows 200 characters in a callback answer; a refusal is shorter than that.
REFUSAL_LIMIT = 200

Member = Literal["other branch", "same branch"]

# What a refusal may say (msgids; `{name}` stands for any text). A new refusal is added here,
# in both catalogs, and is then recognised in every language.
REFUSALS = (
    "Sorry, this is not available for your role. Nothing was changed.",
    "This button is no longer active.",
    "You are not registered yet. Open the invite link your secretary or the organisation "
    "department sent you, or send /start with the invite code.",
    "This is outside your subtree, or already changed. Nothing was done.",
    "You can only invite people within your own scope.",
    "This request does not exist or is not visible to you.",
    "Only the secretary or deputy secretary of a branch can log or change its activities. "
    "Nothing was changed.",
    "/due is for branch secretaries and deputies; admins send /due with a branch code of "
    "their subtree, or /report compliance. Nothing was changed.",
    "There is no branch {code} in your subtree.",
    "The other branch must not be your home branch.",
    "That register entry is not one this request's card offers. Nothing was changed.",
    "This invite was withdrawn. Please ask for a new one.",
    "This survey code has already been used. Each code works once.",
    # A refused self-assessment answer says what was expected (handlers.grading_labels).
    "Please send a number from 0 to {maximum}.",
    "Please send a number, 0 or more.",
    "Please send a whole number from 1 to 5.",
    "Please send a text of at most {limit} characters.",
    "Please choose one of: {choices}.",
    "You are already registered as someone else; this invite is not for you.",
    "This invite is for someone who is already registered with another Telegram account. "
    "Please ask whoever sent it.",
    "Only a branch's secretary or deputy secretary (or a party group's leader, for the group) "
    "can call its meetings. Nothing was changed.",
    "Sign-in is open from {opens} to {closes} only.",
    "You can only send notices within your own scope.",
    "This invitation is no longer open.",
)
HELP_HEADING = "What you can do:"
# What the error handler says: no press may end there.
APOLOGY = (
    "Sorry, something went wrong on our side. Your earlier answers are kept; please try "
    "again in a moment."
)

# Columns a refused press may still write: a draft records the ids of the updates it has
# seen (so that a redelivery is ignored) even when the update changed nothing else, and its
# time with them. The draft's state and answers are compared.
BOOKKEEPING = {"conversations": {"recent_updates", "updated_at"}}


@dataclass
class Persona:
    """Someone pressing forged buttons, with the message their presses land on."""

    kind: Literal["secretary", "member", "sibling admin", "stranger"]
    description: str
    user: FakeUser
    locale: str
    person_id: int | None = None
    account_id: int | None = None
    anchor: FakeMessage | None = None
    # The nodes an admin persona's own subtree holds (their changes there are their own).
    reach: frozenset[int] = frozenset()

    @property
    def tr(self) -> Translator:
        """Their translator (the catalog their refusals must come from)."""
        return Translator(self.locale)

    def __str__(self) -> str:
        return self.description


@dataclass
class World:
    """The running bot's organisation: node ids by code, and each area's objects."""

    db: SessionFactory
    client: FakeTelegramClient
    nodes: dict[str, int]
    _targets: dict[str, Any] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _idle: dict[Member, list[list[Persona]]] = field(default_factory=dict)

    async def targets(self, area: Area[T]) -> T:
        """The area's objects, set up on first use (they stay: no press may change them)."""
        if area.name not in self._targets:
            self._targets[area.name] = await area.setup(self)
        found: T = self._targets[area.name]
        return found

    def serial(self) -> int:
        """A number used once (fresh Telegram ids and names)."""
        return next(self._serial)

    async def cast(self, case: Case[Any] | CommandCase[Any]) -> list[Persona]:
        """Four personas for a case. Personas who were only ever refused have no conversation
        open and are used again; a case that brings them into a conversation, or whose
        presses may be answered, gets new ones."""
        idle = self._idle.get(case.member)
        if _reusable(case) and idle:
            people = idle.pop()
            for persona in people:
                # What another case legitimately sent them (an admin is told of a deletion
                # request filed in their subtree) is not this case's.
                await persona.user.skip_pending()
            return people
        return await personas(self, case.member)

    def release(self, case: Case[Any] | CommandCase[Any], people: list[Persona]) -> None:
        """After a case passed: its personas may serve another, if it only refused them."""
        if _reusable(case):
            self._idle.setdefault(case.member, []).append(people)


def _reusable(case: Case[Any] | CommandCase[Any]) -> bool:
    return not isinstance(case, Case) or not (case.enter or case.harmless or case.own_changes)


Enter = Callable[[World, Persona, Any], Awaitable[FakeMessage | None]]
Check = Callable[[Persona, "Reply | None"], None]


@dataclass(frozen=True)
class Forged:
    """A press with the refusal it must get (a msgid), where the case expects a particular one."""

    button: Button
    refusal: str


@dataclass(frozen=True)
class Case(Generic[T]):
    """One button family: forged presses naming B's objects, or why it names none.

    `presses` builds the buttons from the area's objects. A family that names no object
    (`no_object` says why) is pressed with its example data. `enter` brings a persona into
    the conversation state the family lives in first (returning the message to press on);
    whoever cannot enter it still presses. Unless `harmless` says why the family may answer
    (a page of the presser's own list...), every press must be refused, with `refusal` when
    given (a msgid); `own_changes` says why a press may change the presser's own rows (their
    language, their own request).
    """

    prefix: str
    presses: Callable[[T], Sequence[Button | Forged]] | None = None
    no_object: str = ""
    member: Member = "other branch"
    enter: Enter | None = None
    harmless: str = ""
    own_changes: str = ""
    refusal: str = ""
    # Why the refusal of a forged id may differ from that of an id naming nothing (by
    # default it must be the same, so a refusal does not even tell whether the object exists).
    differs_from_missing: str = ""
    # Why someone registered may be refused in a message (by default an alert: the message
    # they pressed stays as it was).
    refused_in_message: str = ""
    check: Check | None = None

    def buttons(self, targets: T) -> list[Forged]:
        """What the personas press, and the refusal each must get ("" for any refusal)."""
        if self.presses is None:
            assert self.no_object, f"{self.prefix}: a case presses B's objects or names none"
            return [Forged(Button.registry[self.prefix].example(), self.refusal)]
        return [
            p if isinstance(p, Forged) else Forged(p, self.refusal) for p in self.presses(targets)
        ]


def no_object(prefix: str, reason: str, **options: Any) -> Case[Any]:
    """A family whose fields name no object: pressed with its example data."""
    return Case(prefix, no_object=reason, **options)


@dataclass(frozen=True)
class CommandCase(Generic[T]):
    """A command that names an object: the messages each persona sends."""

    command: str
    messages: Callable[[T], Sequence[str]]
    member: Member = "other branch"
    check: Check | None = None


@dataclass(frozen=True)
class Area(Generic[T]):
    """The objects of one part of the bot, what would reveal them, and its cases."""

    name: str
    setup: Callable[[World], Awaitable[T]]
    markers: Callable[[T], Sequence[str]]
    cases: Sequence[Case[T]]
    commands: Sequence[CommandCase[T]] = ()


# ---- personas ----------------------------------------------------------------------------------


async def personas(world: World, member: Member) -> list[Persona]:
    """Four people made for one case: none has any conversation open."""
    n = world.serial()
    base = 970_000 + 10 * n
    member_branch = world.nodes[A if member == "other branch" else B]
    made: list[Persona] = []
    async with world.db.begin() as session:
        people = (
            ("secretary", f"{A} 书记{n}", world.nodes[A], Role.SECRETARY, world.nodes[A]),
            ("member", f"Member {n}", member_branch, None, None),
            ("sibling admin", f"Sibling admin {n}", None, Role.ADMIN, world.nodes[SIBLING]),
        )
        for offset, (kind, name, branch_id, role, node_id) in enumerate(people, start=1):
            person = Person(name=name, branch_id=branch_id)
            session.add(person)
            await session.flush()
            if role is not None and node_id is not None:
                node = await queries.org_by_id(session, node_id)
                assert node is not None
                await queries.grant_role(session, person=person, org_unit=node, role=role)
            account = Account(telegram_id=base + offset, person_id=person.id, consented_at=NOW)
            session.add(account)
            await session.flush()
            language = "zh-hans" if kind == "secretary" else "en"
            description = {
                "secretary": f"the secretary of {A} (Chinese)",
                "member": f"a member of {A if member == 'other branch' else B}",
                "sibling admin": f"the admin of {SIBLING}, a sibling subtree",
            }[kind]
            user = await world.client.user(base + offset, name, language_code=language)
            made.append(
                Persona(
                    kind,  # type: ignore[arg-type]
                    description,
                    user,
                    "zh_Hans" if language == "zh-hans" else "en",
                    person.id,
                    account.id,
                    reach=frozenset(
                        node
                        for code, node in world.nodes.items()
                        if kind == "sibling admin" and code.startswith(SIBLING)
                    ),
                )
            )
    stranger = await world.client.user(base + 9, f"Stranger {n}", language_code="en")
    made.append(Persona("stranger", "a stranger (no account)", stranger, "en"))

    async def anchor(persona: Persona) -> None:
        await persona.user.send("/help")
        persona.anchor = await persona.user.wait_reply()
        assert persona.anchor.text.startswith(persona.tr._(HELP_HEADING)), persona.anchor

    # Different chats are handled side by side.
    await asyncio.gather(*(anchor(persona) for persona in made))
    return made


async def lead_another_branch(world: World, persona: Persona, code: str = "DEMO-B3") -> None:
    """Make the persona secretary of a second branch (not B), so that they are asked which
    branch or node a draft is for."""
    async with world.db.begin() as session:
        node = await queries.org_by_code(session, code)
        person = await session.get(Person, persona.person_id)
        assert node is not None and person is not None and code != B
        await queries.grant_role(session, person=person, org_unit=node, role=Role.SECRETARY)


async def administer_another_node(world: World, persona: Persona, code: str = "SIB-B1") -> None:
    """Make the persona admin of a second node of their own subtree, so that /notify and
    /training ask which node a draft is for."""
    async with world.db.begin() as session:
        node = await queries.org_by_code(session, code)
        person = await session.get(Person, persona.person_id)
        assert node is not None and person is not None
        await queries.grant_role(session, person=person, org_unit=node, role=Role.ADMIN)


# ---- pressing --------------------------------------------------------------------------------


@dataclass
class Reply:
    """What one press or command got back: an alert or toast, or a message."""

    text: str
    alert: bool


async def press(persona: Persona, data: str, *, refusal: bool) -> Reply | None:
    """Press forged data on the persona's anchor; with `refusal`, wait for the answer (an
    alert, else the message that follows)."""
    assert persona.anchor is not None
    update_id = await persona.user.press_data(persona.anchor, data)
    answer = await persona.user.callback_answer(update_id)
    if answer.get("text"):
        return Reply(str(answer["text"]), bool(answer.get("show_alert")))
    if not refusal:
        return None
    # A message, or the pressed message edited to say so.
    message = await persona.user.wait_edit_or_reply()
    return Reply(message.text, False)


async def command(persona: Persona, message: str) -> Reply:
    """Send a command; its reply."""
    await persona.user.send(message)
    return Reply((await persona.user.wait_reply()).text, False)


async def settle(persona: Persona) -> list[FakeMessage]:
    """Everything the bot still sent after the presses (their replies come before the reply
    to /help: one chat's updates are handled in order)."""
    await persona.user.send("/help")
    extra: list[FakeMessage] = []
    while True:
        message = await persona.user.wait_edit_or_reply()
        if message.event == "message" and message.text.startswith(_help_headings()):
            return extra
        extra.append(message)


def _help_headings() -> tuple[str, ...]:
    return tuple(Translator(locale)._(HELP_HEADING) for locale in ("en", "zh_Hans"))


def missing(button: Button) -> Button:
    """The same button naming nothing: its first id replaced by one that does not exist."""
    fields = dataclasses.fields(button)  # type: ignore[arg-type]
    name = next(f.name for f in fields if type(getattr(button, f.name)) is int)  # not a bool
    return dataclasses.replace(button, **{name: MISSING_ID})  # type: ignore[type-var]


def assert_refusal(persona: Persona, reply: Reply, what: str) -> None:
    """A short refusal from the vocabulary, in the persona's language."""
    assert len(reply.text) <= REFUSAL_LIMIT, f"{what}: {reply.text!r} is too long for a refusal"
    patterns = [_pattern(persona.tr._(msgid)) for msgid in REFUSALS]
    assert any(p.fullmatch(reply.text) for p in patterns), (
        f"{what}: {reply.text!r} is not a refusal in {persona.locale} (tests/support/forged.py "
        "REFUSALS lists them)"
    )
    if persona.locale == "zh_Hans":
        assert re.search(r"[\u4e00-\u9fff]", reply.text), f"{what}: not in Chinese: {reply.text!r}"


def _pattern(translated: str) -> re.Pattern[str]:
    parts = re.split(r"\{\w+\}", translated)
    return re.compile(".+".join(re.escape(part) for part in parts), re.DOTALL)


async def assert_nothing_revealed(
    client: FakeTelegramClient, people: Sequence[Persona], markers: Sequence[str], what: str
) -> None:
    """No marker in any text a persona got: messages as they are now, earlier versions of
    edited ones, captions, and callback answers."""
    answers = await client.callback_answers()
    for persona in people:
        texts = [
            str(a.get("text") or "") for a in answers if a.get("user_id") == persona.user.user_id
        ]
        for message in await persona.user.messages():
            texts.append(message.text)
            texts.extend(str(e.get("text") or e.get("caption") or "") for e in message.edits)
        said = "\n".join(texts)
        shown = [marker for marker in markers if marker in said]
        assert not shown, f"{what}: {persona} was shown {shown}"
        assert persona.tr._(APOLOGY) not in said, f"{what}: {persona} met an error"


# ---- nothing changed ---------------------------------------------------------------------------


async def tables(engine: AsyncEngine) -> Snapshot:
    """Every row of every table, without the bookkeeping columns."""
    return await snapshot(engine, BOOKKEEPING)


# Which rows are a persona's own: a no-object press may change these when its case says why.
OWNERS: dict[str, Callable[[dict[str, Any], Persona], bool]] = {
    "accounts": lambda row, p: row["telegram_id"] == p.user.user_id,
    "conversations": lambda row, p: row["user_id"] == p.user.user_id,
    "reminder_settings": lambda row, p: (
        p.account_id is not None and row["account_id"] == p.account_id
    ),
    # An admin's rule override at their own node (the rules of their own subtree).
    "calendar_rule_overrides": lambda row, p: (
        p.account_id is not None and row["created_by"] == p.account_id
    ),
    # A rule changed at an admin's own node marks the branches below it for planning.
    "plan_marks": lambda row, p: row["branch_id"] in p.reach,
    "deletion_requests": lambda row, p: p.person_id is not None and row["person_id"] == p.person_id,
    "audit_log": lambda row, p: (
        p.account_id is not None and row["actor_account_id"] == p.account_id
    ),
}


def foreign_changes(
    found: dict[str, list[dict[str, Any]]], personas: Sequence[Persona]
) -> dict[str, list[dict[str, Any]]]:
    """The changed rows that are not some persona's own."""
    foreign = {}
    for table, rows in found.items():
        owner = OWNERS.get(table)
        others = [row for row in rows if owner is None or not any(owner(row, p) for p in personas)]
        if others:
            foreign[table] = others
    return foreign
