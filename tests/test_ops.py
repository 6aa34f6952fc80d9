"""Metrics and the health check, over HTTP as Prometheus and a load balancer see them."""

from __future__ import annotations

import aiohttp

from bot.ops import Metrics, OpsServer


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
