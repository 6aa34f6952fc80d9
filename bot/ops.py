"""Operations: Prometheus metrics and a health check, served on their own port.

Each process keeps its own counters in its own registry (no process-global state, so tests
and several applications in one interpreter don't mix); Prometheus scrapes every process and
sums. `/healthz` answers 200 while the process can reach its database, 503 otherwise: a load
balancer stops routing webhooks to a process that lost its database.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

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

    def render(self) -> bytes:
        """The text exposition format Prometheus scrapes."""
        return generate_latest(self.registry)


HealthCheck = Callable[[], Awaitable[bool]]


class OpsServer:
    """`/metrics` and `/healthz` on host:port (loopback by default: put it behind the proxy)."""

    def __init__(self, metrics: Metrics, healthy: HealthCheck, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self._host, self._port = host or "127.0.0.1", int(port)
        self._metrics = metrics
        self._healthy = healthy
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
