"""Metrics and the health check, over HTTP as Prometheus and a load balancer see them; JSON log
lines that say which process and which update."""

from __future__ import annotations

import io
import json
import logging

import aiohttp

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.logs import JsonFormatter
from bot.ops import Metrics, OpsServer, process_name

GROUP = -100_200_300


async def test_metrics_and_health_are_served_and_health_follows_the_database() -> None:
    metrics = Metrics()
    metrics.updates.labels("handled").inc(3)
    metrics.latency.observe(0.04)
    metrics.too_many_requests.labels("chat").inc()
    metrics.set_leader(True)
    reachable = True

    async def database_reachable() -> bool:
        return reachable

    server = OpsServer(metrics, database_reachable, "127.0.0.1:0")
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/metrics") as response:
                body = await response.text()
            assert 'zhibu_updates_handled_total{outcome="handled"} 3.0' in body
            assert "zhibu_reply_latency_seconds_bucket" in body
            assert 'zhibu_telegram_429_total{scope="chat"} 1.0' in body
            assert "zhibu_leader{" in body and "} 1.0" in body
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
            reachable = False
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 503
    finally:
        await server.stop()


async def test_json_log_lines_name_the_process_and_the_update_in_hand(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("handlers.private_chats")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
        group = await client.group(GROUP, "First branch committee", kind="supergroup")
        await group.add_bot(secretary)
        await group.wait_reply()  # it says why it leaves, then leaves
        assert await group.bot_left()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    [left] = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert left["message"] == f"left supergroup {GROUP}: Zhibu works in private chats only"
    assert left["process"] == process_name() and left["level"] == "INFO"
    assert isinstance(left["update_id"], int) and left["chat_id"] == GROUP
    assert "private_chats" in left["handler"]
