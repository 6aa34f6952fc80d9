"""The fake posts webhooks like Telegram behind a load balancer: to several upstreams
round-robin, many at once, each chat in order, a failed post retried on the next upstream."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from telegram import Bot

from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer

TOKEN = "123456:TEST"


@dataclass
class Upstream:
    """Webhook receivers that hold every post until released."""

    arrivals: list[tuple[str, int, int]] = field(default_factory=list)  # (upstream, update, chat)
    in_flight: dict[int, int] = field(default_factory=dict)  # update -> chat
    most_in_flight: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def handler(self, name: str) -> web.RouteDef:
        async def receive(request: web.Request) -> web.Response:
            update = json.loads(await request.read())
            chat = update["message"]["chat"]["id"]
            assert chat not in self.in_flight.values(), "two updates of one chat at once"
            self.arrivals.append((name, update["update_id"], chat))
            self.in_flight[update["update_id"]] = chat
            self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
            self.changed.set()
            await self.release.wait()
            del self.in_flight[update["update_id"]]
            return web.Response(status=200)

        return web.post("/hook", receive)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def upstreams() -> AsyncIterator[tuple[Upstream, list[str]]]:
    upstream = Upstream()
    runners = []
    urls = []
    for name in ("a", "b"):
        app = web.Application()
        app.add_routes([upstream.handler(name)])
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
    # A third upstream that is down: its posts fail and go to the next one.
    urls.insert(1, f"http://127.0.0.1:{_closed_port()}/hook")
    yield upstream, urls
    upstream.release.set()
    for runner in runners:
        await runner.cleanup()


async def test_webhooks_go_round_robin_many_at_once_each_chat_in_order(
    upstreams: tuple[Upstream, list[str]],
) -> None:
    upstream, urls = upstreams
    server = FakeTelegramServer(token=TOKEN)
    async with (
        server,
        FakeTelegramClient(server.url) as client,
        Bot(TOKEN, base_url=server.base_url) as bot,
    ):
        await client.set_webhook_targets(urls)
        await bot.set_webhook("https://bot.example.org/hook", max_connections=4)
        users = [await client.user(500 + n, f"u{n}") for n in range(6)]
        sent: dict[int, list[int]] = {}
        for _ in range(3):
            for user in users:
                sent.setdefault(user.user_id, []).append(await user.send("hi"))

        async def four_in_flight() -> None:
            while len(upstream.in_flight) < 4:
                upstream.changed.clear()
                await upstream.changed.wait()

        await asyncio.wait_for(four_in_flight(), 10)
        # Four connections at once (max_connections), four different chats.
        assert len(set(upstream.in_flight.values())) == 4
        upstream.release.set()
        assert await server.wait_until(lambda: not server.pending_updates, timeout=10)
        deliveries = await client.webhook_deliveries()
    assert upstream.most_in_flight == 4
    for chat, ids in sent.items():
        assert [u for _, u, c in upstream.arrivals if c == chat] == ids, chat
    assert {name for name, _, _ in upstream.arrivals} == {"a", "b"}
    failed = [d for d in deliveries if not d["ok"]]
    assert failed and all(d["url"] == urls[1] for d in failed)
    # Every failed post was retried on the next upstream and arrived once.
    arrived = sorted(u for _, u, _ in upstream.arrivals)
    assert arrived == sorted(u for ids in sent.values() for u in ids)
