"""One clock: Settings.now(), column defaults and the conversation store all read bot.clock,
which only the offline sandbox may move, and only forward."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from bot import clock
from bot.cli import main
from bot.config import Settings
from storage import queries
from storage.db import SessionFactory
from storage.models import Account
from tests.support.bot import ROOT, SECRET_KEY


@pytest.fixture
def unlocked() -> Iterator[None]:
    """The clock as the sandbox leaves it: movable; real time again afterwards."""
    clock.unlock("test")
    try:
        yield
    finally:
        clock.lock()


def test_the_clock_is_locked_outside_the_sandbox() -> None:
    assert not clock.movable()
    with pytest.raises(clock.ClockRefused, match="offline sandbox"):
        clock.advance(dt.timedelta(hours=1))
    assert clock.offset() == dt.timedelta(0)


@pytest.mark.usefixtures("unlocked")
def test_settings_now_reads_the_one_clock_and_it_only_moves_forward() -> None:
    settings = Settings(secret_key=SECRET_KEY)  # type: ignore[arg-type]
    before = settings.now()
    moved = clock.advance(dt.timedelta(days=3))
    assert moved - before >= dt.timedelta(days=3)
    assert settings.now() - before >= dt.timedelta(days=3)
    with pytest.raises(clock.ClockRefused, match="forward"):
        clock.advance(dt.timedelta(hours=-1))
    clock.lock()
    assert settings.now() - before < dt.timedelta(days=1)


async def test_column_defaults_and_conversations_read_the_clock(db: SessionFactory) -> None:
    moment = dt.datetime(2025, 3, 1, 8, 30, tzinfo=dt.UTC)
    with clock.travel(moment):
        async with db.begin() as session:
            account = Account(telegram_id=4242)
            session.add(account)
            record = await queries.save_conversation(
                session,
                name="x",
                chat_id=4242,
                user_id=4242,
                state="s",
                data={},
                recent_updates=[],
            )
            await session.flush()
            assert account.created_at == moment
            assert record.updated_at == moment
    # Travel pins only the task that travels: afterwards the clock is real time again.
    assert clock.now() - moment > dt.timedelta(days=200)


def test_zhibu_clock_is_refused_for_a_bot_serving_telegram(
    cli_env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("ZHIBU_BOT_TOKEN", "123456:REAL")
    assert main(["clock", "advance", "1d"]) == 1
    assert "serves Telegram and keeps real time" in capsys.readouterr().err
    assert clock.offset() == dt.timedelta(0)


def test_zhibu_clock_without_a_running_sandbox_says_how_to_start_one(
    cli_env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(str(tmp_path))
    assert main(["clock"]) == 1
    assert "no offline sandbox is running" in capsys.readouterr().err


def test_nothing_reads_the_wall_clock_but_the_clock() -> None:
    """Every part gets the time from bot.clock (through Settings.now() or the column
    defaults), so a moved clock moves them all; intervals may use a monotonic clock, and a
    latency measured from an update's arrival says so with `# wall clock:`."""
    wall_clock = re.compile(r"datetime\.now\(|\.utcnow\(|date\.today\(|\btime\.time\(")
    allowed = {ROOT / "bot" / "clock.py"}
    found = []
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            skipped = ("fake_telegram", "migrations")
            if path in allowed or any(part in path.parts for part in skipped):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                measured = "# wall clock:" in line
                if wall_clock.search(line) and not line.lstrip().startswith("#") and not measured:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
