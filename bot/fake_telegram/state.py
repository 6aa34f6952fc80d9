"""The fake server's state: users, chats, updates, bot events, files, and waiting on them."""

# ruff: noqa: ASYNC109
# The waits take a timeout because the fake answers "nothing yet" on timeout (as getUpdates
# does) instead of raising, and the same value travels over HTTP for clients in other processes.

from __future__ import annotations

import asyncio
import bisect
import collections
import itertools
import json
import time
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import httpx
import tornado.httpserver

from bot.fake_telegram.api import JSON, FakeUsageError
from bot.fake_telegram.flood import FloodControl, FloodLimits

if TYPE_CHECKING:
    from bot.fake_telegram.faults import Fault
from bot.fake_telegram.models import (
    GROUP_KINDS,
    CallbackQueryRecord,
    Chat,
    SimulatedUser,
    StoredFile,
    StoredMessage,
    Webhook,
    image_size,
)


def scope_key(scope: Any) -> str:
    """The key a command list is stored under: its scope (default if none) as JSON."""
    return json.dumps(scope if isinstance(scope, dict) else {"type": "default"}, sort_keys=True)


def update_chat_id(update: JSON) -> int | None:
    """The chat an update belongs to (the one whose order the bot keeps), if any."""
    for kind in ("message", "edited_message", "my_chat_member", "channel_post"):
        if kind in update:
            return int(update[kind]["chat"]["id"])
    query = update.get("callback_query")
    if query is not None:
        message = query.get("message")
        return int(message["chat"]["id"] if message else query["from"]["id"])
    return None


class ServerState:
    """Everything the fake Bot API knows, and the waits on it; the server's base class.

    Not thread-safe: drive it from the asyncio loop it was started on (or over HTTP).
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "zhibu_test_bot",
        flood_limits: FloodLimits | None = None,
        *,
        bot_first_name: str = "Zhibu Test",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self._initial_flood_limits = flood_limits
        self._clock = clock
        # Ids keep growing across reset() so a bot polling with an old offset still sees updates.
        self._update_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._seq = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._inflight = 0
        self._http_server: tornado.httpserver.HTTPServer | None = None
        self._http_client: httpx.AsyncClient | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        # Updates being posted to the webhook, with their chats (kept across reset()).
        self._posting: dict[int, int | None] = {}
        self._next_target = 0
        self._port: int | None = None
        self._host = "127.0.0.1"
        # Who hears of every event as it happens (events.py: the event stream); kept by reset().
        self._listeners: list[Callable[[JSON], None]] = []
        self._init_state()
        # Whether the bot reports each update it has finished (mark_processed): the positive
        # signal that everything a chat sent has been handled.
        self.tracks_processing = False
        self._init_state()

    def _init_state(self) -> None:
        """Start from no users, chats, updates, files or faults (ids keep growing)."""
        self.users: dict[int, SimulatedUser] = {}
        self._chats: dict[int, Chat] = {}
        self._chat_events: dict[int, list[JSON]] = {}
        self._pending: collections.deque[JSON] = collections.deque()
        # Every update ever queued, by id: tests deliver one again to play a redelivery.
        self.updates_by_id: dict[int, JSON] = {}
        self._chat_updates: dict[int, list[int]] = {}
        self._processed: set[int] = set()
        self.left_chats: list[int] = []
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._callback_queries: dict[str, CallbackQueryRecord] = {}
        self._callback_by_update: dict[int, str] = {}
        self.callback_answers: list[JSON] = []
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self.bot_settings: dict[str, Any] = {}
        self._webhook: Webhook | None = None
        self.webhook_deliveries: list[JSON] = []
        # A load balancer's upstreams the webhook is posted to round-robin (see webhooks.py).
        self.webhook_targets: list[str] = []
        self._flood = FloodControl(self._initial_flood_limits)
        self._fail_next: dict[str, list[Fault]] = {}  # see faults.py
        self._held_chats: set[int] = set()
        self.latency = 0.0
        self.method_calls: collections.Counter[str] = collections.Counter()

    def reset(self) -> None:
        """Forget users, chats, updates, files, webhook, faults and flood counters."""
        self._init_state()
        self._publish({"kind": "reset"})
        self._notify()

    def _publish(self, event: JSON) -> None:
        """Tell every listener of an event (a bot message, a user's message, an answer...)."""
        for listener in list(self._listeners):
            listener(event)

    # -- waiting -----------------------------------------------------------------------------

    def _notify(self) -> None:
        """Wake everything waiting for a change of state."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = 5.0) -> bool:
        """Wait until predicate() holds, re-checking on every change; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not predicate():
            changed = self._changed
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True

    # -- flood control -----------------------------------------------------------------------

    def set_flood_limits(self, limits: FloodLimits | None) -> None:
        """Change (or with None, lift) the flood limits; counters are kept."""
        self._flood.limits = limits

    @property
    def flood_limits(self) -> FloodLimits | None:
        """The flood limits in force, if any."""
        return self._flood.limits

    @property
    def violations(self) -> int:
        """How many sends went over a flood limit (refused, or merely counted if not enforced)."""
        return self._flood.violations

    @property
    def sent_count(self) -> int:
        """How many flood-limited calls were accepted."""
        return len(self._flood.send_times)

    @property
    def send_times(self) -> list[float]:
        """time.monotonic() of every accepted flood-limited call, in order."""
        return list(self._flood.send_times)

    def flood_stats(self) -> JSON:
        """Limits, violations, accepted send times and peak rate."""
        return self._flood.stats()

    # -- users -------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> SimulatedUser:
        """Create the user (or update their profile) and their private chat with the bot."""
        chat = self._chats.get(user_id)
        if chat is None or chat.user is None:
            user = SimulatedUser(user_id, first_name or f"User{user_id}")
            self._chats[user_id] = Chat(user_id, user)
            self.users[user_id] = user
        else:
            user = chat.user
        if first_name:
            user.first_name = first_name
        user.last_name = last_name
        user.username = username
        user.language_code = language_code
        return user

    def _chat_for_user(self, user_id: int) -> Chat:
        if user_id not in self._chats:
            self.add_user(user_id)
        return self._chats[user_id]

    def _user_of(self, chat: Chat) -> SimulatedUser:
        """The other party of a private chat."""
        if chat.user is None:
            raise FakeUsageError(f"chat {chat.chat_id} is a {chat.kind}, not a private chat")
        return chat.user

    def add_group(
        self, chat_id: int, title: str, *, kind: str = "group", bot_member: bool = False
    ) -> Chat:
        """Create a group, supergroup or channel (a negative id); the bot is not in it, unless
        bot_member (it was added before, without an update now)."""
        if kind not in GROUP_KINDS or chat_id >= 0:
            raise FakeUsageError("a group needs a negative id and kind group/supergroup/channel")
        chat = self._chats.get(chat_id)
        if chat is None:
            status = "member" if bot_member else "left"
            chat = self._chats[chat_id] = Chat(chat_id, kind=kind, title=title, bot_status=status)
        return chat

    def _group(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None or chat.user is not None:
            raise FakeUsageError(f"there is no group {chat_id}; add_group() first")
        return chat

    # -- reading what the bot did ------------------------------------------------------------

    @property
    def marker(self) -> int:
        """Sequence number of the latest bot event; pass it as `since` to wait for newer ones."""
        return self._seq

    def bot_messages(self, chat_id: int, *, include_deleted: bool = True) -> list[JSON]:
        """Every message the bot sent to the chat, in order, with edits and deleted flag."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            message.record()
            for message in chat.messages.values()
            if message.from_bot and (include_deleted or not message.deleted)
        ]

    def last_bot_message(self, chat_id: int) -> JSON | None:
        """The latest message the bot sent to the chat, or None."""
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def bot_events(
        self, chat_id: int, *, since: int = 0, kinds: Iterable[str] = ("message", "edit")
    ) -> list[JSON]:
        """Bot events (message, edit, delete) in the chat after the marker `since`."""
        wanted = set(kinds)
        events = self._chat_events.get(chat_id, [])
        start = bisect.bisect_right(events, since, key=lambda event: int(event["seq"]))
        return [event for event in events[start:] if event["kind"] in wanted]

    async def wait_bot_events(
        self,
        chat_id: int,
        *,
        since: int = 0,
        count: int = 1,
        kinds: Iterable[str] = ("message", "edit"),
        timeout: float = 5.0,
    ) -> list[JSON]:
        """Wait for count bot events in the chat after `since`; on timeout return those seen."""
        wanted = tuple(kinds)
        await self.wait_until(
            lambda: (
                self._closing or len(self.bot_events(chat_id, since=since, kinds=wanted)) >= count
            ),
            timeout,
        )
        return self.bot_events(chat_id, since=since, kinds=wanted)[:count]

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes of a known file."""
        return self._files[file_id].data

    def callback_answer(self, update_id: int) -> JSON | None:
        """The bot's answerCallbackQuery for the press that created update_id, if any yet."""
        query_id = self._callback_by_update.get(update_id)
        query = self._callback_queries.get(query_id) if query_id else None
        return query.answer if query else None

    async def wait_callback_answer(self, update_id: int, timeout: float = 5.0) -> JSON | None:
        """Wait for the bot to answer the callback query of update_id."""
        await self.wait_until(
            lambda: self._closing or self.callback_answer(update_id) is not None, timeout
        )
        return self.callback_answer(update_id)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (or delivered to its webhook)."""
        return list(self._pending)

    def commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        """The bot's command list for a scope (default scope if None) and language."""
        return list(self._commands.get((scope_key(scope), language_code), []))

    def all_commands(self) -> list[JSON]:
        """Every stored command list with its scope and language."""
        return [
            {"scope": json.loads(scope), "language_code": language, "commands": commands}
            for (scope, language), commands in self._commands.items()
        ]

    # -- processing: the positive signal that the bot has handled a chat's updates -------------

    def track_processing(self) -> None:
        """The bot will report every update it finishes (a harness around the bot does)."""
        self.tracks_processing = True
        self._notify()

    def mark_processed(self, update_id: int) -> None:
        """The bot reports it has finished an update (its answers, if any, are all sent)."""
        self.tracks_processing = True
        self._processed.add(update_id)
        self._notify()

    def settled(self, chat_id: int) -> bool:
        """Whether the bot is done with every update of the chat so far: processed, when the
        bot reports processing; otherwise at least fetched and acknowledged."""
        ids = self._chat_updates.get(chat_id, [])
        if self.tracks_processing:
            return all(update_id in self._processed for update_id in ids)
        waiting = set(ids)
        return not any(update["update_id"] in waiting for update in self._pending)

    async def wait_settled(self, chat_id: int, timeout: float = 5.0) -> bool:
        """Wait until settled(chat_id); False on timeout."""
        return await self.wait_until(lambda: self._closing or self.settled(chat_id), timeout)

    # -- internals: messages, updates, files --------------------------------------------------

    def _now(self) -> int:
        return int(self._clock())

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _push_update(self, payload: JSON) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **payload}
        self._pending.append(update)
        self.updates_by_id[update_id] = update
        chat_id = update_chat_id(update)
        if chat_id is not None:
            self._chat_updates.setdefault(chat_id, []).append(update_id)
        self._notify()
        return update_id

    def _add_message(self, chat: Chat, *, from_bot: bool, **content: Any) -> StoredMessage:
        message = StoredMessage(
            chat_id=chat.chat_id,
            message_id=chat.next_message_id(),
            date=self._now(),
            from_bot=from_bot,
            **content,
        )
        chat.messages[message.message_id] = message
        if from_bot:
            self._record_event("message", message)
        else:
            self._publish(
                {
                    "kind": "user_message",
                    "chat_id": chat.chat_id,
                    "message_id": message.message_id,
                    "message": message.record(),
                }
            )
        return message

    def _record_event(self, kind: str, message: StoredMessage) -> None:
        self._seq += 1
        if kind == "message":
            message.seq = self._seq
        event = {
            "seq": self._seq,
            "kind": kind,
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            "message": message.record(),
        }
        self._chat_events.setdefault(message.chat_id, []).append(event)
        self._publish(event)
        self._notify()

    def _message_api(self, message: StoredMessage, *, with_reply: bool = True) -> JSON:
        chat = self._chats[message.chat_id]
        data: JSON = {"message_id": message.message_id}
        if message.from_bot:
            data["from"] = self._bot_user()
        else:
            sender = self.users.get(message.sender_id or chat.chat_id)
            if sender is not None:
                data["from"] = sender.to_api()
        data["chat"] = chat.api()
        data["date"] = message.date
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        replied = chat.messages.get(message.reply_to) if message.reply_to else None
        if with_reply and replied is not None:
            data["reply_to_message"] = self._message_api(replied, with_reply=False)
        data.update(message.content_api())
        return data

    def _store_file(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        number = next(self._file_ids)
        default_suffix = {"photo": ".jpg", "sticker": ".webp"}.get(kind, "")
        suffix = PurePosixPath(file_name).suffix if file_name else default_suffix
        size = image_size(data) if kind == "photo" else None
        stored = StoredFile(
            file_id=f"fake-{kind}-{number}",
            file_unique_id=f"fake-unique-{number}",
            data=data,
            file_path=f"{kind}s/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored
