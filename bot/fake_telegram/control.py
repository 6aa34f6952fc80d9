"""The control API under /_fake/: how tests, benchmarks and the sandbox drive the fake over HTTP."""

# The waits take a timeout because they answer "nothing yet" on timeout instead of raising.

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from bot.fake_telegram.api import JSON, FakeUsageError
from bot.fake_telegram.faults import Faults
from bot.fake_telegram.flood import FloodLimits
from bot.fake_telegram.people import PeopleActions

Action = Callable[..., Awaitable[Any]]


class ControlApi(PeopleActions, Faults):
    """Routes and actions of the control API (JSON in, JSON or bytes out)."""

    def _control_routes(self) -> list[tuple[str, dict[str, Action]]]:
        return [
            ("reset", {"POST": self._ctl_reset}),
            ("state", {"GET": self._ctl_state}),
            ("marker", {"GET": self._ctl_marker}),
            ("users", {"POST": self._ctl_add_user}),
            (r"users/(\d+)", {"GET": self._ctl_get_user}),
            (r"users/(\d+)/text", {"POST": self._ctl_text}),
            (r"users/(\d+)/sticker", {"POST": self._ctl_sticker}),
            (r"users/(\d+)/photo", {"POST": self._ctl_photo}),
            (r"users/(\d+)/document", {"POST": self._ctl_document}),
            (r"users/(\d+)/press", {"POST": self._ctl_press}),
            (r"users/(\d+)/block", {"POST": self._ctl_block}),
            (r"users/(\d+)/deactivate", {"POST": self._ctl_deactivate}),
            (r"chats/(-?\d+)/messages", {"GET": self._ctl_messages}),
            ("wait", {"POST": self._ctl_wait}),
            ("files/(.+)", {"GET": self._ctl_file}),
            ("flood", {"GET": self._ctl_flood_stats, "POST": self._ctl_set_flood}),
            ("fail_next", {"POST": self._ctl_fail_next}),
            ("latency", {"POST": self._ctl_latency}),
            ("webhook_deliveries", {"GET": self._ctl_deliveries}),
            ("webhook_targets", {"POST": self._ctl_webhook_targets}),
            ("callback_answers", {"GET": self._ctl_callback_answers}),
            ("callback_answers/wait", {"POST": self._ctl_wait_callback_answer}),
            ("commands", {"GET": self._ctl_commands}),
            ("updates", {"GET": self._ctl_updates}),
            ("updates/processed", {"POST": self._ctl_processed}),
            ("settle", {"POST": self._ctl_settle}),
            ("groups", {"POST": self._ctl_add_group}),
            (r"groups/(-\d+)/bot", {"POST": self._ctl_add_bot}),
            (r"groups/(-\d+)/text", {"POST": self._ctl_group_text}),
            ("left_chats", {"GET": self._ctl_left_chats}),
        ]

    async def _ctl_reset(self, body: JSON) -> bool:
        self.reset()
        return True

    async def _ctl_state(self, body: JSON) -> JSON:
        webhook = dataclasses.asdict(self._webhook) if self._webhook else None
        return {
            "marker": self._seq,
            "users": [user.to_json() for user in self.users.values()],
            "pending_updates": len(self._pending),
            "webhook": webhook,
            "method_calls": dict(self.method_calls),
            "latency": self.latency,
        }

    async def _ctl_marker(self, body: JSON) -> int:
        return self._seq

    async def _ctl_add_user(self, body: JSON) -> JSON:
        user = self.add_user(
            int(body["user_id"]),
            body.get("first_name"),
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code", "en"),
        )
        return {**user.to_json(), "marker": self._seq}

    async def _ctl_get_user(self, body: JSON, user_id: str) -> JSON:
        user = self.users.get(int(user_id))
        if user is None:
            raise FakeUsageError(f"no user {user_id}")
        return user.to_json()

    async def _ctl_text(self, body: JSON, user_id: str) -> int:
        return self.user_sends_text(
            int(user_id), str(body["text"]), reply_to_message_id=body.get("reply_to_message_id")
        )

    async def _ctl_sticker(self, body: JSON, user_id: str) -> int:
        return self.user_sends_sticker(int(user_id), body.get("emoji", "👍"))

    async def _ctl_photo(self, body: JSON, user_id: str) -> int:
        data = base64.b64decode(body["data_b64"])
        return self.user_sends_photo(int(user_id), data, caption=body.get("caption"))

    async def _ctl_document(self, body: JSON, user_id: str) -> int:
        return self.user_sends_document(
            int(user_id),
            base64.b64decode(body["data_b64"]),
            str(body["filename"]),
            mime_type=body.get("mime_type"),
            caption=body.get("caption"),
        )

    async def _ctl_press(self, body: JSON, user_id: str) -> int:
        message_id = int(body["message_id"])
        if body.get("forged"):
            return self.user_presses_forged(int(user_id), message_id, str(body["data"]))
        return self.user_presses(
            int(user_id), message_id, text=body.get("text"), data=body.get("data")
        )

    async def _ctl_block(self, body: JSON, user_id: str) -> bool:
        if body.get("blocked", True):
            self.block_user(int(user_id))
        else:
            self.unblock_user(int(user_id))
        return True

    async def _ctl_deactivate(self, body: JSON, user_id: str) -> bool:
        self.deactivate_user(int(user_id))
        return True

    async def _ctl_messages(self, body: JSON, chat_id: str) -> list[JSON]:
        include_deleted = str(body.get("include_deleted", "true")).lower() != "false"
        return self.bot_messages(int(chat_id), include_deleted=include_deleted)

    async def _ctl_wait(self, body: JSON) -> JSON:
        events = await self.wait_bot_events(
            int(body["chat_id"]),
            since=int(body.get("since", 0)),
            count=int(body.get("count", 1)),
            kinds=body.get("kinds", ("message", "edit")),
            timeout=float(body.get("timeout", 5.0)),
        )
        return {"events": events, "marker": self._seq}

    async def _ctl_file(self, body: JSON, file_id: str) -> bytes:
        stored = self._files.get(file_id)
        if stored is None:
            raise FakeUsageError(f"no file {file_id}")
        return stored.data

    async def _ctl_flood_stats(self, body: JSON) -> JSON:
        return self.flood_stats()

    async def _ctl_set_flood(self, body: JSON) -> JSON:
        if not body.get("enabled", True):
            self.set_flood_limits(None)
        else:
            fields = {f.name for f in dataclasses.fields(FloodLimits)}
            self.set_flood_limits(FloodLimits(**{k: v for k, v in body.items() if k in fields}))
        return self.flood_stats()

    async def _ctl_fail_next(self, body: JSON) -> bool:
        chat_id = body.get("chat_id")
        self.fail_next(
            str(body.get("method", "*")),
            int(body.get("status", 500)),
            int(body.get("count", 1)),
            retry_after=int(body.get("retry_after", 1)),
            chat_id=None if chat_id is None else int(chat_id),
        )
        return True

    async def _ctl_latency(self, body: JSON) -> bool:
        self.set_latency(float(body.get("seconds", 0.0)))
        return True

    async def _ctl_deliveries(self, body: JSON) -> list[JSON]:
        return list(self.webhook_deliveries)

    async def _ctl_webhook_targets(self, body: JSON) -> bool:
        # A load balancer's upstreams (see webhooks.py); empty: the webhook's own URL.
        self.webhook_targets = [str(url) for url in body.get("urls", [])]
        self._notify()
        return True

    async def _ctl_callback_answers(self, body: JSON) -> list[JSON]:
        return list(self.callback_answers)

    async def _ctl_wait_callback_answer(self, body: JSON) -> JSON | None:
        return await self.wait_callback_answer(
            int(body["update_id"]), float(body.get("timeout", 5.0))
        )

    async def _ctl_commands(self, body: JSON) -> list[JSON]:
        return self.all_commands()

    async def _ctl_updates(self, body: JSON) -> list[JSON]:
        return self.pending_updates

    async def _ctl_processed(self, body: JSON) -> bool:
        self.mark_processed(int(body["update_id"]))
        return True

    async def _ctl_settle(self, body: JSON) -> JSON:
        chat_id = int(body["chat_id"])
        settled = await self.wait_settled(chat_id, float(body.get("timeout", 5.0)))
        since = int(body.get("since", 0))
        return {
            "settled": settled,
            "tracked": self.tracks_processing,
            "events": self.bot_events(chat_id, since=since, kinds=body.get("kinds", ["message"])),
        }

    async def _ctl_add_group(self, body: JSON) -> JSON:
        chat = self.add_group(
            int(body["chat_id"]),
            str(body.get("title", "")),
            kind=body.get("kind", "group"),
            bot_member=bool(body.get("bot_member", False)),
        )
        return {**chat.api(), "marker": self._seq}

    async def _ctl_add_bot(self, body: JSON, chat_id: str) -> int:
        return self.add_bot_to_group(
            int(chat_id), int(body["by_user_id"]), status=body.get("status", "member")
        )

    async def _ctl_group_text(self, body: JSON, chat_id: str) -> int:
        return self.user_sends_text(int(body["user_id"]), str(body["text"]), chat_id=int(chat_id))

    async def _ctl_left_chats(self, body: JSON) -> list[int]:
        return list(self.left_chats)
