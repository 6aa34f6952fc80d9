"""Operations: Prometheus metrics and a health check, on the webhook port or a port of their own.

Each process keeps its own counters in its own registry (no process-global state, so tests
and several applications in one interpreter don't mix); Prometheus scrapes every process and
sums. `/healthz` answers 200 while the process can reach its database, 503 otherwise: a load
balancer stops routing webhooks to a process that lost its database. The gauges that describe
the database (inbox depth, outbox pending) are read when Prometheus scrapes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.config import Settings
from storage import cluster_queries, ops_queries
from storage.db import SessionFactory

log = logging.getLogger(__name__)

METRICS_KEY = "zhibu.metrics"

# Replies are expected within a second; the tail buckets show a stalled process.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def process_name() -> str:
    """This process, as logs and metrics name it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Metrics:
    """The figures an operator watches, for one process."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.updates = Counter(
            "zhibu_updates_handled", "Updates handled, by outcome", ["outcome"], registry=r
        )
        self.latency = Histogram(
            "zhibu_reply_latency_seconds",
            "From an update's arrival to the end of its handling",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inbox_depth = Gauge("zhibu_inbox_depth", "Updates stored, not yet handled", registry=r)
        self.outbox_pending = Gauge(
            "zhibu_outbox_pending", "Notice copies and reminders waiting to be sent", registry=r
        )
        self.too_many_requests = Counter(
            "zhibu_telegram_429", "Telegram's 429 answers, by scope", ["scope"], registry=r
        )
        self.sends = Counter(
            "zhibu_sends", "Messages sent to Telegram, by kind", ["kind"], registry=r
        )
        self.leader = Gauge(
            "zhibu_leader", "1 on the process that runs the periodic jobs", ["process"], registry=r
        )
        self.leader.labels(process_name()).set(0)

    def set_leader(self, is_leader: bool) -> None:
        """Record whether this process leads now."""
        self.leader.labels(process_name()).set(1 if is_leader else 0)

    def finished(self, outcome: str, seconds: float) -> None:
        """An update is done with: handled (or failed, dropped, set aside) after `seconds`."""
        self.updates.labels(outcome).inc()
        if outcome == "handled":
            self.latency.observe(seconds)

    def sent(self, lane: str, *, broadcast: bool) -> None:
        """A send has its answer (the gate reports it)."""
        del lane
        self.sends.labels("broadcast" if broadcast else "reply").inc()

    def limited(self, scope: str) -> None:
        """Telegram answered 429 (the gate reports it)."""
        self.too_many_requests.labels(scope).inc()

    def render(self) -> bytes:
        """The text exposition format Prometheus scrapes."""
        return generate_latest(self.registry)


HealthCheck = Callable[[], Awaitable[bool]]
Refresh = Callable[[Metrics], Awaitable[None]]
# A scrape waits this long at most for the database's figures (then shows the last ones).
REFRESH_TIMEOUT = 2.0


class OpsServer:
    """`/metrics` and `/healthz` on host:port (loopback by default: put it behind the proxy),
    with other routes beside them (the webhook, when they share its port)."""

    def __init__(
        self,
        metrics: Metrics,
        healthy: HealthCheck,
        listen: str,
        *,
        refresh: Refresh | None = None,
        routes: list[web.RouteDef] | None = None,
    ) -> None:
        host, _, port = listen.rpartition(":")
        self._host, self._port = host or "127.0.0.1", int(port)
        self._metrics = metrics
        self._healthy = healthy
        self._refresh = refresh
        self._routes = routes or []
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port actually bound (the configured one, or the free one chosen for 0)."""
        if self._runner is None or not self._runner.addresses:
            return self._port
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        """Start serving."""
        app = web.Application()
        app.add_routes(self._routes)
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/healthz", self._serve_health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("metrics and health check on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        if self._refresh is not None:
            try:
                await asyncio.wait_for(self._refresh(self._metrics), REFRESH_TIMEOUT)
            except Exception:  # the figures that need the database stay as they were
                log.exception("reading the inbox and outbox figures failed")
        return web.Response(
            body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _serve_health(self, request: web.Request) -> web.Response:
        try:
            healthy = await self._healthy()
        except Exception:  # a failing check is an unhealthy process, not a crashed server
            log.exception("health check failed")
            healthy = False
        if healthy:
            return web.json_response({"status": "ok", "process": process_name()})
        return web.json_response({"status": "unavailable", "process": process_name()}, status=503)


def ops_server(
    metrics: Metrics,
    db: SessionFactory,
    settings: Settings,
    listen: str,
    *,
    routes: list[web.RouteDef] | None = None,
) -> OpsServer:
    """The ops server of a bot process: health from its database, figures read at scrape."""

    async def healthy() -> bool:
        async with db() as session:
            await ops_queries.ping(session)
        return True

    async def refresh(metrics: Metrics) -> None:
        async with db() as session:
            pending = await ops_queries.outbox_pending(session, now=settings.now())
            metrics.outbox_pending.set(pending)
            if settings.several_processes:
                metrics.inbox_depth.set(await cluster_queries.inbox_depth(session))

    return OpsServer(metrics, healthy, listen, refresh=refresh, routes=routes)
