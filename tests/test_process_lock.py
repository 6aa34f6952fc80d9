"""A second process on the same SQLite database is refused with a clear message."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.demo import DemoUser
from storage.process_lock import AlreadyRunning, sole_process
from tests.support import database
from tests.support.bot import ROOT, BotProcess, env_for

HOLD = """
import sys, time
from pathlib import Path
from storage.process_lock import sole_process
with sole_process(Path(sys.argv[1]), purpose="zhibu run"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_holder_is_refused_and_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    database = tmp_path / "zhibu.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(database)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = pytest.raises(AlreadyRunning, match=r"zhibu run \(process \d+\).*PostgreSQL")
        with refused, sole_process(database):
            pass
    finally:
        holder.kill()  # kill -9: no clean-up runs, the kernel drops the lock
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with sole_process(database):
        pass


@pytest.mark.skipif(database.BACKEND != "sqlite", reason="PostgreSQL serves several processes")
async def test_a_second_zhibu_run_on_the_same_sqlite_database_is_refused(
    settings: Settings, demo: dict[str, DemoUser], tmp_path: Path
) -> None:
    first = BotProcess(env_for(settings), tmp_path / "first.log")
    first.start()
    try:
        await first.started()
        second = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=env_for(settings),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1, second.stderr
        assert re.search(r"zhibu run \(process \d+\) is already using .*PostgreSQL", second.stderr)
    finally:
        assert await first.terminate() == 0, first.log()
