"""Crash-safe conversation steps: one primitive that loads, checks, saves, commits, then replies.

Every step of every conversation runs through `Flow.step`, which does in order:

1. opens one transaction and loads the stored draft (state and answers so far);
2. ignores the update if the draft already recorded it (a redelivery after a crash: Telegram
   sends an update again when the bot died before confirming it) — before anything else runs,
   so no step can forget the check;
3. loads the sender and refuses the unregistered or the wrong role;
4. runs the step, which reads the draft's answers from `step.data`, changes them, queues its
   replies (`step.reply`, `step.edit`, `step.then`) and returns the next state;
5. stores the state and every answer with this update's id, and commits;
6. only then sends the queued replies: a bot killed at any point restarts with the draft as
   the user last saw it, and no database lock is held across a call to Telegram.

A step that raises `Refused` (a forged button, an object outside the sender's scope) changes
nothing: the transaction is rolled back and the sender gets a short localized refusal.

Redelivery is recognised by the update ids a draft has recorded, not by comparing with the
last one: Telegram's update ids restart from a random value after a quiet week.

A draft remembers which of its messages still shows buttons; when a step moves on to a
question that waits for typed text in a new message, those buttons are taken off, so the chat
does not pile up stale buttons (issue 17).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from bot import clock
from bot.context import BotContext
from bot.conversation_states import expired
from bot.enums import Role
from bot.telegram_text import fits_one_message
from bot.update_context import note_handler
from handlers.common import (
    Refused,
    access_problem,
    answer,
    edit_or_answer,
    load_into,
    refuse,
    refuse_access,
)
from storage import queries

# What a step returns: the next state, ConversationHandler.END, or None to stay where it is.
State = str | int | None
StepCallback = Callable[[Update, BotContext, "Step"], Coroutine[Any, Any, State]]
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, State]]

# How many update ids a draft remembers: more than Telegram redelivers after one crash.
RECENT_UPDATES = 16

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Draft:
    """A conversation's stored state and answers."""

    state: str | None
    data: dict[str, Any] = field(default_factory=dict)
    recent_updates: tuple[int, ...] = ()
    keyboard: int | None = None

    def seen(self, update: Update) -> bool:
        """True when this update was already applied (a redelivery after a crash)."""
        return update.update_id in self.recent_updates


@dataclass(slots=True)
class Step:
    """One step in progress: the session, the answers so far, and the replies to send after
    the commit."""

    session: AsyncSession
    draft: Draft
    data: dict[str, Any]
    update: Update
    context: BotContext
    _after: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    # The queued replies, in order: (sends a new message, shows buttons), or None for a `then`
    # helper, whose messages are not known.
    queued: list[tuple[bool, bool] | None] = field(default_factory=list)
    # The message the last reply or edit showed, once sent.
    shown_last: int | None = None

    @property
    def state(self) -> str | None:
        """The state the conversation was in when this update arrived."""
        return self.draft.state

    def reply(self, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Send a message once the step is committed."""

        async def send() -> None:
            self._note(await answer(self.update, self.context, text, keyboard))

        self.queued.append((True, _has_buttons(keyboard)))
        self._after.append(send)

    def edit(self, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Edit the pressed message (or send one) once the step is committed."""

        async def send() -> None:
            self._note(await edit_or_answer(self.update, self.context, text, keyboard))

        query = self.update.callback_query
        in_place = (
            query is not None and isinstance(query.message, Message) and fits_one_message(text)
        )
        self.queued.append((not in_place, _has_buttons(keyboard)))
        self._after.append(send)

    def then(self, send: Handler | Callable[[Update, BotContext], Awaitable[object]]) -> None:
        """Run a sending helper `send(update, context)` once the step is committed."""

        async def run() -> None:
            await send(self.update, self.context)
            self.shown_last = None

        self.queued.append(None)
        self._after.append(run)

    def _note(self, message: Message | None) -> None:
        self.shown_last = message.message_id if message is not None else None

    async def flush(self) -> None:
        """Send what the step queued (called after the commit)."""
        for send in self._after:
            await send()


# Every Flow by name: the composition root hands their idle limits to the state loader.
_FLOWS: dict[str, Flow] = {}


def idle_limits() -> dict[str, dt.timedelta]:
    """The conversations that end by themselves after a while, with that while."""
    return {name: flow.idle for name, flow in _FLOWS.items() if flow.idle is not None}


@dataclass(frozen=True, slots=True)
class Flow:
    """One persistent ConversationHandler's drafts, keyed like PTB (chat, user).

    `idle`: a draft untouched for this long is over (what PTB's conversation_timeout did, in
    one process only); the next update goes where it would go outside the conversation.
    """

    name: str
    idle: dt.timedelta | None = None

    def __post_init__(self) -> None:
        _FLOWS[self.name] = self

    @staticmethod
    def _key(update: Update) -> tuple[int, int]:
        chat = update.effective_chat
        user = update.effective_user
        if chat is None or user is None:
            raise ValueError("conversation updates need a chat and a user")
        return chat.id, user.id

    async def load(self, session: AsyncSession, update: Update) -> Draft:
        """The stored draft (empty when none); for reading, e.g. to repeat a question."""
        chat_id, user_id = self._key(update)
        record = await queries.load_conversation(
            session, name=self.name, chat_id=chat_id, user_id=user_id
        )
        if record is None or expired(record.updated_at, self.idle, clock.now()):
            return Draft(state=None)
        return Draft(
            state=record.state,
            data=dict(record.data),
            recent_updates=tuple(record.recent_updates or ()),
            keyboard=record.keyboard_message_id,
        )

    async def _save(
        self, session: AsyncSession, update: Update, draft: Draft, state: str, data: dict[str, Any]
    ) -> None:
        chat_id, user_id = self._key(update)
        recent = (*draft.recent_updates, update.update_id)[-RECENT_UPDATES:]
        await queries.save_conversation(
            session,
            name=self.name,
            chat_id=chat_id,
            user_id=user_id,
            state=state,
            data=data,
            recent_updates=list(recent),
        )

    async def save(
        self, session: AsyncSession, update: Update, *, state: str, data: dict[str, Any]
    ) -> None:
        """Store a state and answers outside a step (for conversations not yet written as
        steps; removed once every conversation is)."""
        await self._save(session, update, await self.load(session, update), state, data)

    async def end(self, session: AsyncSession, update: Update) -> None:
        """Forget the draft (for /cancel and other ways out that are not a step's END)."""
        chat_id, user_id = self._key(update)
        await queries.end_conversation(session, name=self.name, chat_id=chat_id, user_id=user_id)

    def step(
        self,
        *,
        registered: bool = False,
        roles: frozenset[Role] | None = None,
        entry: bool = False,
    ) -> Callable[[StepCallback], Handler]:
        """Make `func(update, context, step)` a crash-safe step of this conversation.

        `entry=True` starts from no answers (an entry point, also on re-entry); otherwise the
        step continues the stored draft. What `func` returns is stored before any reply.
        """

        def decorate(func: StepCallback) -> Handler:
            name = f"{func.__module__}.{func.__qualname__}"

            @functools.wraps(func)
            async def run(update: Update, context: BotContext) -> State:
                note_handler(name)
                if update.effective_user is None:
                    return None
                try:
                    async with context.db.begin() as session:
                        draft = await self.load(session, update)
                        if draft.seen(update):
                            return draft.state
                        await load_into(context, session, update.effective_user)
                        problem = access_problem(context, registered=registered, roles=roles)
                        step = None
                        if problem is None:
                            data = {} if entry else dict(draft.data)
                            step = Step(session, draft, data, update, context)
                            result = await func(update, context, step)
                            await self._store(session, update, draft, step, result)
                except Refused as refused:
                    await refuse(update, context, refused.text)
                    return None
                if step is None:
                    assert problem is not None
                    await refuse_access(update, context, problem)
                    return None
                await self._send(update, context, step, result)
                return result

            run.flow_step = self  # type: ignore[attr-defined]  # found by the redelivery test
            return run

        return decorate

    async def _store(
        self, session: AsyncSession, update: Update, draft: Draft, step: Step, result: State
    ) -> None:
        if result == ConversationHandler.END:
            await self.end(session, update)
        elif isinstance(result, str):
            await self._save(session, update, draft, result, step.data)
        elif draft.state is not None:
            # Staying in the same state still records the update (and any changed answers),
            # so a redelivered toggle is not applied twice.
            await self._save(session, update, draft, draft.state, step.data)

    async def _send(self, update: Update, context: BotContext, step: Step, result: State) -> None:
        """Send the step's replies. When it moves on to a question that waits for typed text,
        first take the buttons off the draft's earlier question (so they do not pile up);
        afterwards remember which message shows buttons now."""
        last = step.queued[-1] if step.queued else None
        if not isinstance(result, str) or last is None:
            await step.flush()
            return
        new, buttons = last
        shown = step.draft.keyboard
        if new and not buttons and result != step.state and shown is not None:
            await _take_buttons_off(context, update, shown)
            shown = None
        await step.flush()
        if buttons:
            shown = step.shown_last
        elif not new and shown == step.shown_last:
            shown = None  # the question with buttons was edited into one without
        if shown == step.draft.keyboard:
            return
        chat_id, user_id = self._key(update)
        async with context.db.begin() as session:
            await queries.set_conversation_keyboard(
                session, name=self.name, chat_id=chat_id, user_id=user_id, message_id=shown
            )


def _has_buttons(keyboard: InlineKeyboardMarkup | None) -> bool:
    return keyboard is not None and bool(keyboard.inline_keyboard)


async def _take_buttons_off(context: BotContext, update: Update, message_id: int) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await context.bot.edit_message_reply_markup(chat.id, message_id, reply_markup=None)
    except TelegramError as exc:
        # Gone, too old to edit, or already without buttons: nothing stale is left to remove.
        log.debug("buttons of message %s in chat %s stay: %s", message_id, chat.id, exc)
