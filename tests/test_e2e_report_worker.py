"""/report compliance is built in a worker process: the bot's own process reads no activity,
draws no chart and writes no workbook (a city's report would hold the GIL for seconds and
make every other user wait), yet the admin gets the same summary, chart and spreadsheet; the
worker runs below the bot's priority, comes back after it dies, and its errors reach the
admin as the usual apology and the log as ids and frames only."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from PIL import Image
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from bot.app import ZhibuApp
from bot.compliance_report import WORKER
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeUser
from bot.logs import WithheldError
from bot.rules.kinds import ActivityKind
from bot.workers import WORKER_NICENESS, reading
from storage import queries
from storage.db import SessionFactory, create_engine, session_factory
from storage.models_activity import Activity
from tests.support import database
from tests.support.activity import add_activity, as_user, org_today, pin_clock
from tests.support.pgbouncer import SERVER_CONNECTIONS, pgbouncer

APOLOGY = "Sorry, something went wrong on our side."


# The report is built in a worker process that starts with the first report: on a loaded
# machine that alone can take seconds (the reply is awaited, not timed).
REPORT_WAIT = 60


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_clock(monkeypatch)


@pytest.fixture
def in_this_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What this process does of a report's heavy work: activity queries, PNGs, workbooks."""
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if "FROM activities" in sql:
            seen.append("read the activities")

    save = Image.Image.save

    def saving(self: Image.Image, fp: Any, format: str | None = None, **params: Any) -> None:
        if (format or "").upper() == "PNG":
            seen.append("drew a PNG")
        save(self, fp, format, **params)

    writestr = zipfile.ZipFile.writestr

    def writing(self: zipfile.ZipFile, name: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if str(getattr(name, "filename", name)).startswith("xl/"):
            seen.append("wrote a workbook")
        writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", saving)
    monkeypatch.setattr(zipfile.ZipFile, "writestr", writing)
    event.listen(Engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", statement)


async def _report(admin: FakeUser) -> tuple[str, bytes, bytes]:
    await admin.send("/report compliance")
    summary = await admin.wait_reply(timeout=REPORT_WAIT)
    chart = await admin.wait_reply()
    export = await admin.wait_reply()
    assert chart.photo is not None and export.document is not None
    return summary.text, chart.photo.data, export.document.data


async def test_the_report_is_built_in_a_worker_process_and_arrives_as_before(
    in_this_process: list[str],
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    await add_activity(db, "DEMO-B1", org_today(), (ActivityKind.COMMITTEE_MEETING,))
    admin = await as_user(client, demo, "林书记")
    await admin.skip_pending()
    in_this_process.clear()
    text, png, workbook = await _report(admin)
    assert "Compliance of Demo Sub-district Committee" in text and "3 branches" in text
    assert "2. branch committee meeting (" in text and "done 1, due 2, overdue 0" in text
    assert png.startswith(b"\x89PNG") and Image.open(io.BytesIO(png)).width == 1080
    rows = list(openpyxl.load_workbook(io.BytesIO(workbook)).active.values)
    assert [(row[0], row[4], row[5]) for row in rows[1:]] == [
        ("DEMO-B1", "done", org_today().isoformat()),
        ("DEMO-B2", "due", ""),
        ("DEMO-B3", "due", ""),
    ]
    # Everything above was read, drawn and written elsewhere.
    assert in_this_process == []
    worker = await WORKER.run(os.getpid)
    assert worker != os.getpid()
    niceness = await WORKER.run(os.nice, 0)
    assert niceness >= min(19, os.nice(0) + WORKER_NICENESS)


async def test_a_dead_worker_is_replaced_by_the_next_report(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    admin = await as_user(client, demo, "林书记")
    first, _, _ = await _report(admin)
    dead = await WORKER.run(os.getpid)
    os.kill(dead, signal.SIGKILL)
    again, _, _ = await _report(admin)
    assert again == first
    assert await WORKER.run(os.getpid) not in (dead, os.getpid())


async def test_a_failing_worker_gives_the_admin_the_apology_and_the_log_no_data(
    caplog: pytest.LogCaptureFixture,
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    # A stored activity the rules cannot read: its kinds hold a list where a kind belongs.
    activity_id = await add_activity(db, "DEMO-B2", org_today(), (ActivityKind.TALK,))
    async with db.begin() as session:
        await session.execute(
            update(Activity).where(Activity.id == activity_id).values(kinds=["talk", ["王芳"]])
        )
    admin = await as_user(client, demo, "林书记")
    await admin.skip_pending()
    with caplog.at_level(logging.ERROR):
        await admin.send("/report compliance")
        assert APOLOGY in (await admin.wait_reply(timeout=REPORT_WAIT)).text
    [record] = [r for r in caplog.records if "error while handling" in r.getMessage()]
    assert record.exc_info is not None
    error = record.exc_info[1]
    assert isinstance(error, WithheldError)
    # The worker's frames, down to the parsing that failed, without the stored values.
    assert "_parse_kinds" in str(error) and "TypeError (message withheld" in str(error)
    assert "王芳" not in str(error)


async def test_a_workers_engine_reads_but_never_writes(
    database_url: str, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with reading(database_url) as worker_db, worker_db() as session:
        assert await queries.org_by_code(session, "DEMO-B1") is not None
        with pytest.raises(DBAPIError):
            await queries.audit(session, action="worker.write", actor=None, actor_label="test")
            await session.flush()


def _wal_kept(path: str) -> bool:
    """Whether the WAL and its index are still there (in use by this process's connections)."""
    return os.path.exists(f"{path}-shm") and os.path.exists(f"{path}-wal")


async def test_after_a_report_the_database_file_still_reads_on_sqlite(
    database_url: str,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    bot: ZhibuApp,
    client: FakeTelegramClient,
) -> None:
    # Two engines in this process on one file, the bot's made while the test's is connected
    # (fixtures in this order), and a worker process: the worker must not take the file for
    # unused and delete its WAL index under them.
    admin = await as_user(client, demo, "林书记")
    first, _, _ = await _report(admin)
    if not database_url.startswith("sqlite"):
        return
    path = database_url.split(":///", 1)[1]
    assert _wal_kept(path)
    # The bot goes on writing (each update is recorded) and reading through its connections.
    again, _, _ = await _report(admin)
    assert again == first
    with contextlib.closing(sqlite3.connect(path)) as file:
        assert file.execute("SELECT count(*) FROM org_units").fetchone()[0] > 0
    async with db() as session:
        assert await queries.org_by_code(session, "DEMO-B1") is not None


@pytest.mark.skipif(database.BACKEND != "postgresql", reason="PgBouncer pools PostgreSQL only")
async def test_through_pgbouncer_a_workers_read_only_stays_with_its_own_transactions(
    database_url: str, tmp_path: Path
) -> None:
    # A session setting would stay on the server connection and refuse the bot's next writes.
    async with pgbouncer(database_url, tmp_path) as bouncer:
        async with reading(bouncer.url) as worker_db:
            for _ in range(SERVER_CONNECTIONS):
                async with worker_db() as session:
                    with pytest.raises(DBAPIError):
                        await queries.audit(session, action="worker.write", actor_label="test")
                        await session.flush()
        engine = create_engine(bouncer.url, pool_size=SERVER_CONNECTIONS, max_overflow=0)
        try:
            for _ in range(2 * SERVER_CONNECTIONS):
                async with session_factory(engine).begin() as session:
                    await queries.audit(session, action="bot.write", actor_label="test")
        finally:
            await engine.dispose()
