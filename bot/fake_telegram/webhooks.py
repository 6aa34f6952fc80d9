"""Webhook delivery as Telegram does it: several connections at once, each chat in order.

Up to the webhook's `max_connections` updates are posted at the same time (Telegram's default
is 40), but never two of one chat: a chat's next update waits until its previous one was
answered (or given up), so each chat's updates arrive in order. A failed post is retried with
a backoff. Behind a load balancer the bot has several upstreams: `webhook_targets` (the control
API's `webhook_targets`) makes the fake play Telegram and the balancer together, posting to the
targets round-robin, a retry going to the next target, as nginx's `proxy_next_upstream` does.
"""

from __future__ import annotations

import asyncio
import json
import logging

import httpx

from bot.fake_telegram.api import JSON, SECRET_TOKEN_HEADER
from bot.fake_telegram.models import Webhook
from bot.fake_telegram.state import ServerState, update_chat_id

logger = logging.getLogger(__name__)

WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF = 0.05  # seconds before the first retry, doubled for each further one
WEBHOOK_TIMEOUT = 10.0


class WebhookDelivery(ServerState):
    """The task that plays Telegram's side of a webhook."""

    def set_webhook_targets(self, urls: list[str]) -> None:
        """Post to these URLs round-robin instead of the webhook's URL (a load balancer's
        upstreams); an empty list goes back to the webhook's URL."""
        self.webhook_targets = list(urls)
        self._notify()

    # -- webhook delivery --------------------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        """Post pending updates to the webhook, several chats at once, each chat in order."""
        tasks: set[asyncio.Task[bool]] = set()
        try:
            while True:
                await self.wait_until(
                    lambda: self._closing or self._next_update() is not None, timeout=None
                )
                if self._closing:
                    return
                webhook, update = self._webhook, self._next_update()
                assert webhook is not None and update is not None
                self._posting[update["update_id"]] = update_chat_id(update)
                task = asyncio.create_task(self._deliver_one(webhook, update))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _next_update(self) -> JSON | None:
        """The oldest pending update that may be posted now, if any."""
        webhook = self._webhook
        if webhook is None or len(self._posting) >= max(1, webhook.max_connections):
            return None
        busy = set(self._posting.values())
        for update in self._pending:
            chat = update_chat_id(update)
            if update["update_id"] not in self._posting and (chat is None or chat not in busy):
                return update
            # An earlier update of this chat is still waiting or being posted: keep the order.
            busy.add(chat)
        return None

    async def _deliver_one(self, webhook: Webhook, update: JSON) -> bool:
        try:
            return await self._post_update(webhook, update)
        finally:
            # Delivered or given up; it may also have been dropped meanwhile by deleteWebhook.
            self._posting.pop(update["update_id"], None)
            if update in self._pending:
                self._pending.remove(update)
            self._notify()

    def _targets(self, webhook: Webhook) -> list[str]:
        """Where each attempt goes: the next upstream in turn, then the ones after it."""
        targets = self.webhook_targets
        if not targets:
            return [webhook.url] * WEBHOOK_ATTEMPTS
        first = self._next_target
        self._next_target += 1
        return [targets[(first + n) % len(targets)] for n in range(WEBHOOK_ATTEMPTS)]

    async def _post_update(self, webhook: Webhook, update: JSON) -> bool:
        """POST one update with retries and backoff, recording each attempt."""
        if self._http_client is None:
            # Made at the first webhook, not at start: its TLS context alone costs about 30 ms
            # of CPU, at every test's server, and most tests poll.
            self._http_client = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT)
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_TOKEN_HEADER] = webhook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        for attempt, url in enumerate(self._targets(webhook), 1):
            status: int | None = None
            error: str | None = None
            try:
                response = await self._http_client.post(url, content=body, headers=headers)
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason_phrase}"
            except httpx.HTTPError as exc:
                error = f"Connection failed: {exc!r}"
            self.webhook_deliveries.append(
                {
                    "update_id": update["update_id"],
                    "url": url,
                    "attempt": attempt,
                    "status_code": status,
                    "ok": error is None,
                    "error": error,
                }
            )
            self._notify()
            if error is None:
                return True
            webhook.last_error_date = self._now()
            webhook.last_error_message = error
            logger.info("webhook delivery of update %s failed: %s", update["update_id"], error)
            if self._webhook is not webhook or attempt == WEBHOOK_ATTEMPTS:
                break
            await asyncio.sleep(WEBHOOK_BACKOFF * 2 ** (attempt - 1))
        return False
