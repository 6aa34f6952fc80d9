"""Webhook delivery: pending updates POSTed to the bot one at a time, in order, with retries."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx

from bot.fake_telegram.api import JSON, SECRET_TOKEN_HEADER
from bot.fake_telegram.models import Webhook
from bot.fake_telegram.state import ServerState

logger = logging.getLogger(__name__)

WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF = 0.05  # seconds before the first retry, doubled for each further one
WEBHOOK_TIMEOUT = 10.0


class WebhookDelivery(ServerState):
    """The task that plays Telegram's side of a webhook."""

    # -- webhook delivery --------------------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        """Post pending updates to the webhook one at a time, in order."""
        while True:
            await self.wait_until(
                lambda: self._closing or (self._webhook is not None and bool(self._pending)),
                timeout=None,
            )
            if self._closing:
                return
            webhook, update = self._webhook, self._pending[0]
            assert webhook is not None
            await self._post_update(webhook, update)
            # Delivered or given up; it may also have been dropped meanwhile by deleteWebhook.
            if self._pending and self._pending[0] is update:
                self._pending.popleft()
            self._notify()

    async def _post_update(self, webhook: Webhook, update: JSON) -> bool:
        """POST one update with retries and backoff, recording each attempt."""
        assert self._http_client is not None
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_TOKEN_HEADER] = webhook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            status: int | None = None
            error: str | None = None
            try:
                response = await self._http_client.post(webhook.url, content=body, headers=headers)
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason_phrase}"
            except httpx.HTTPError as exc:
                error = f"Connection failed: {exc!r}"
            self.webhook_deliveries.append(
                {
                    "update_id": update["update_id"],
                    "url": webhook.url,
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

    # -- control API ----------------------------------------------------------------------------
