"""Several `python -m bot run` processes on one PostgreSQL database, behind the fake's webhook
load balancing: starting them, finding the leader, and people who go through /invite."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.enums import NoticeAudience, Role
from bot.fake_telegram.client import FakeMessage, FakeTelegramClient, FakeUser
from storage import cluster_queries, queries
from storage.db import SessionFactory
from storage.models import Person
from tests.support.bot import BotProcess, env_for
from tests.support.notices import make_people, notice_now

SECRET = "cluster-webhook-secret-0123456789abcdef"
SERVING = "serving through the inbox"
NOTICE_MARK = "Notice from"


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """Bot processes, each with its webhook port (its /healthz and /metrics too)."""

    processes: list[BotProcess]
    ports: list[int]

    @property
    def urls(self) -> list[str]:
        """The webhook URL of each process (the load balancer's upstreams)."""
        return [f"http://127.0.0.1:{port}/hook" for port in self.ports]

    async def started(self) -> None:
        """Wait until every process takes updates."""
        await asyncio.gather(*(p.started(within=120, marker=SERVING) for p in self.processes))

    def stop(self) -> None:
        """Kill whatever is still running (a failed test's leftovers)."""
        for process in self.processes:
            process.ensure_stopped()

    def index_of(self, owner: str) -> int:
        """Which process an owner name (host:pid) is."""
        pid = int(owner.rsplit(":", 1)[1])
        return next(n for n, p in enumerate(self.processes) if p.process and p.process.pid == pid)

    async def metrics(self, index: int) -> str:
        """The /metrics text of one process."""
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{self.ports[index]}/metrics"
            async with http.get(url) as response:
                assert response.status == 200
                return await response.text()


def start_cluster(settings: Settings, count: int, logs: Path, **env: str) -> Cluster:
    """Start `count` bot processes serving by webhook on their own ports."""
    ports = [free_port() for _ in range(count)]
    processes = []
    for n, port in enumerate(ports):
        variables = env_for(settings)
        variables.update(
            ZHIBU_WEBHOOK_URL="https://bot.example.org/hook",
            ZHIBU_WEBHOOK_SECRET=SECRET,
            ZHIBU_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            ZHIBU_LOG_FORMAT="json",
            **env,
        )
        process = BotProcess(variables, logs / f"bot-{n}.log")
        process.start()
        processes.append(process)
    return Cluster(processes, ports)


async def serving_with_a_notice(
    cluster: Cluster,
    client: FakeTelegramClient,
    db: SessionFactory,
    settings: Settings,
    text: str,
) -> int:
    """Point the fake's webhooks at the cluster's processes, wait until each takes updates, and
    queue a notice to every member: the notice's id."""
    await client.set_webhook_targets(cluster.urls)
    await cluster.started()
    return await notice_now(db, now=settings.now(), audience=NoticeAudience.MEMBERS, text=text)


async def leader(db: SessionFactory) -> str | None:
    """The process holding the leader's lease now, if any."""
    async with db() as session:
        return await cluster_queries.current_leader(session, name="bot")


async def make_secretaries(
    db: SessionFactory, branch_code: str, first_id: int, count: int
) -> list[int]:
    """Members of a branch with accounts, each also one of its secretaries."""
    ids = await make_people(db, branch_code, first_id, count)
    async with db.begin() as session:
        branch = await queries.org_by_code(session, branch_code)
        assert branch is not None
        for telegram_id in ids:
            account = await queries.account_by_telegram_id(session, telegram_id)
            assert account is not None and account.person_id is not None
            person = await session.get(Person, account.person_id)
            assert person is not None
            await queries.grant_role(session, person=person, org_unit=branch, role=Role.SECRETARY)
    return ids


# What /invite asks, in order, and its last answer: each person's answers, read back.
INVITE_ANSWERS = [
    "Which role?",
    "How many people may use this invite?",
    "How long",
    "Invite created",
]


@dataclass
class Inviter:
    """A secretary going through /invite; notice copies arriving meanwhile are set aside."""

    user: FakeUser
    notices: list[FakeMessage] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    unanswered: list[int] = field(default_factory=list)  # update ids left without an answer

    async def _answer(self, update_id: int, patience: float) -> FakeMessage | None:
        """The bot's next answer in this chat (not a notice copy); None after `patience` seconds."""
        deadline = asyncio.get_running_loop().time() + patience
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                self.unanswered.append(update_id)
                return None
            try:
                message = await self.user.wait_edit_or_reply(timeout=left)
            except AssertionError:
                continue
            if NOTICE_MARK in message.text:
                self.notices.append(message)
                continue
            return message

    async def invite(self, patience: float, *, attempts: int = 1) -> str | None:
        """Go through /invite (member, 5 uses, 7 days); the link, or None when an answer
        never came (`attempts` times starting over, as a person would)."""
        for _ in range(attempts):
            link = await self._once(patience)
            if link is not None:
                return link
        return None

    async def _once(self, patience: float) -> str | None:
        steps = (
            ("Which role?", "member"),
            ("How many people may use this invite?", "5"),
            ("How long", "7 days"),
        )
        update_id = await self.user.send("/invite")
        message = await self._answer(update_id, patience)
        for question, choice in steps:
            if message is None:
                return None
            assert question in message.text, (question, message)
            self.answers.append(question)
            update_id = await self.user.press(message, choice)
            message = await self._answer(update_id, patience)
        if message is None:
            return None
        assert "Invite created" in message.text, message
        self.answers.append("Invite created")
        return message.text.split("?start=")[1].split()[0]
