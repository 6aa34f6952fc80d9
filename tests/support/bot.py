"""Running the real bot (in-process or as a subprocess) against the fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from telegram import Update

from bot.app import ZhibuApp, build_application
from bot.config import Settings
from bot.fake_telegram import FakeTelegramServer
from bot.updates import PerChatUpdateProcessor

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST"
# The key invite codes are hashed with; tests that make invites themselves use the same one.
SECRET_KEY = "test-secret-key-0123456789abcdef0123456789abcdef"


def settings_for(database_url: str, server: FakeTelegramServer, **extra: object) -> Settings:
    """Settings pointing the bot at the fake server and the test database (no reminder pass
    at start-up unless asked: tests drive the reminders they are about by hand)."""
    extra.setdefault("reminder_plan_at_start", False)
    return Settings(
        bot_token=TOKEN,  # type: ignore[arg-type]
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
        database_url=database_url,
        bot_api_url=server.base_url,
        bot_file_url=server.base_file_url,
        **extra,  # type: ignore[arg-type]
    )


def env_for(settings: Settings) -> dict[str, str]:
    """The same settings as environment variables, for a bot subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env.update(
        ZHIBU_BOT_TOKEN=TOKEN,
        ZHIBU_SECRET_KEY=SECRET_KEY,
        ZHIBU_DATABASE_URL=settings.database_url,
        ZHIBU_BOT_API_URL=settings.bot_api_url,
        ZHIBU_BOT_FILE_URL=settings.file_url,
        ZHIBU_LOG_LEVEL="INFO",
        ZHIBU_REMINDER_PLAN_AT_START=str(settings.reminder_plan_at_start).lower(),
    )
    return env


@asynccontextmanager
async def running_bot(settings: Settings, *, rate_limit: bool = False) -> AsyncIterator[ZhibuApp]:
    """Start the real Application polling the fake server; stop it cleanly afterwards
    (`rate_limit`: interactive replies through the flood gate, as in production)."""
    application = build_application(settings, rate_limit=rate_limit)
    report_processing(application, settings)
    await application.initialize()
    # run_polling() calls these hooks; the test drives the lifecycle itself, so it does too.
    assert application.post_init is not None and application.post_shutdown is not None
    await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)


def report_processing(application: ZhibuApp, settings: Settings) -> None:
    """Tell the fake server in this process each update the bot has finished: the positive
    signal FakeUser.expect_no_reply() waits for."""
    server = FakeTelegramServer.serving(settings.bot_api_url)
    processor = application.update_processor
    if server is None or not isinstance(processor, PerChatUpdateProcessor):
        return
    server.track_processing()

    def processed(update: object) -> None:
        if isinstance(update, Update):
            server.mark_processed(update.update_id)

    processor.observe(processed)


class BotProcess:
    """`python -m bot run` as a child process, for crash and restart tests."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self._env = dict(env)
        self._log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    def start(self) -> None:
        """Start the bot process."""
        # What an earlier run of this process wrote stays in the log: `started` reads after it.
        self._log_start = self._log_path.stat().st_size if self._log_path.exists() else 0
        with self._log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=log,
            )

    async def started(self, within: float = 60.0, *, marker: str = "Application started") -> None:
        """Wait until the bot serves (migrated, initialised, polling): a loaded machine can
        take seconds, which a reply's wait should not have to cover. `marker`: the log line
        that says so."""
        assert self.process is not None

        async def serving() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the bot exited with {self.process.returncode}:\n{self.log()}"
                )
            with self._log_path.open("rb") as log:
                log.seek(self._log_start)
                return marker.encode() in log.read()

        assert await eventually(serving, within=within), f"the bot did not start:\n{self.log()}"

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no flushing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    async def terminate(self) -> int:
        """SIGTERM and wait for a graceful exit."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        for _ in range(200):
            if self.process.poll() is not None:
                return self.process.returncode
            await asyncio.sleep(0.05)
        self.process.kill()
        return self.process.wait()

    def ensure_stopped(self) -> None:
        """Kill the process if a failed test left it running (and reap it)."""
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def log(self) -> str:
        """What the process printed."""
        return self._log_path.read_text(errors="replace")


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> bool:
    """Re-check a database condition the bot reaches asynchronously (no reply to wait for)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
