"""Taking updates into the inbox: a webhook any process answers, or polling by the leader.

Either way an update is stored, and the transaction committed, before Telegram learns it was
received: the webhook answers 200 only after the commit (Telegram retries anything else), and
polling confirms an update (by asking for the next offset) only after storing it. A retried or
redelivered update is stored once.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.cluster import store_updates
from storage.db import SessionFactory

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# my_chat_member tells the bot when a user blocks or unblocks it (so notices skip or resume them).
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
# A webhook body is one update; anything much larger is not from Telegram.
MAX_BODY = 1 << 20


def webhook_routes(
    path: str, secret: str, db: SessionFactory, *, stored: asyncio.Event | None = None
) -> list[web.RouteDef]:
    """The webhook route: check the secret, store the update, then answer 200."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413)
        try:
            payload = json.loads(await request.read())
            update_id = int(payload["update_id"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        try:
            await store_updates(db, [payload])
        except Exception:
            # Not stored: Telegram must send it again, so the answer is not 200.
            log.exception("could not store update %s", update_id)
            return web.Response(status=503)
        if stored is not None:
            stored.set()
        return web.Response(status=200)

    return [web.post("/" + path.lstrip("/"), receive)]


async def poll_into_inbox(
    bot: Bot,
    db: SessionFactory,
    *,
    allowed_updates: Sequence[str],
    poll_seconds: int = 10,
    stored: asyncio.Event | None = None,
) -> None:
    """Long-poll Telegram and store every update (run by the leader only, until cancelled)."""
    offset: int | None = None
    while True:
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=poll_seconds, allowed_updates=list(allowed_updates)
            )
        except RetryAfter as exc:
            await asyncio.sleep(_seconds(exc.retry_after))
            continue
        except (TimedOut, NetworkError):
            log.warning("polling Telegram failed; trying again")
            await asyncio.sleep(1)
            continue
        if not updates:
            continue
        payloads = [update.to_dict() for update in updates]
        await store_updates(db, payloads)
        # Only now, with the updates committed, ask for the ones after them: that is what
        # tells Telegram these were received.
        offset = updates[-1].update_id + 1
        if stored is not None:
            stored.set()


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
