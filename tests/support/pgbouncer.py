"""PgBouncer in transaction pooling mode in front of a test PostgreSQL database: Debian's
`pgbouncer` (installed by `.ci/debian-packages pgbouncer`, which the test command runs), an
instance of its own on a free loopback port, configured as README's deployment section says."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support import debian

PGBOUNCER = Path("/usr/sbin/pgbouncer")
# Fewer server connections than the bot processes hold client connections: a statement
# prepared by one client is then on a server connection another client gets next.
SERVER_CONNECTIONS = 10


@dataclass
class Bouncer:
    """A running PgBouncer: the bot's URL through it, and what it logged."""

    url: str
    log_path: Path

    def log(self) -> str:
        """What PgBouncer wrote (connections, errors)."""
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _start(direct_url: str, directory: Path) -> tuple[subprocess.Popen[bytes], int, Bouncer]:
    """Write the configuration and start PgBouncer (not yet listening, maybe)."""
    if not PGBOUNCER.exists():
        debian.unavailable(
            "Debian's pgbouncer is not installed (bash .ci/debian-packages pgbouncer)"
        )
    server = make_url(direct_url)
    assert server.username and server.password and server.database, direct_url
    port = _free_port()
    users = directory / "userlist.txt"
    # PgBouncer keeps the password to answer the server's SCRAM challenge, and checks the
    # bot's own SCRAM login against it.
    users.write_text(f"{_quoted(server.username)} {_quoted(server.password)}\n")
    target = f"host={server.host} port={server.port or 5432} dbname={server.database}"
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
{server.database} = {target} connect_query='SET jit = off'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {users}
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 500
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
logfile =
pidfile =
"""
    )
    command = [str(PGBOUNCER), str(ini)]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root; it reads its files before it changes user.
        command[1:1] = ["-u", "nobody"]
    log_path = directory / "pgbouncer.log"
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, stdout=log, stderr=log)
    url = server.set(host="127.0.0.1", port=port).update_query_dict({"pooler": "pgbouncer"})
    return process, port, Bouncer(url.render_as_string(hide_password=False), log_path)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@asynccontextmanager
async def pgbouncer(direct_url: str, directory: Path) -> AsyncIterator[Bouncer]:
    """Run PgBouncer in front of the database of `direct_url` until the block ends."""
    process, port, bouncer = _start(direct_url, directory)
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while not _listening(port):
            if process.poll() is not None or asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"pgbouncer did not start:\n{bouncer.log()}")
            await asyncio.sleep(0.05)
        yield bouncer
    finally:
        _stop(process)
