"""The bot as a process and in webhook mode: kill -9 mid-conversation, SIGTERM, secret token."""

import socket
from pathlib import Path

import httpx
import pytest

from bot.app import build_application
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import Role
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from storage import queries
from storage.db import SessionFactory
from storage.migrate import is_up_to_date
from tests.support.bot import BotProcess, env_for, eventually, settings_for
from tests.support.registration import make_invite

pytestmark = pytest.mark.slow


async def _member_invite(db: SessionFactory) -> str:
    return await make_invite(db, Role.MEMBER, "DEMO-B1")


async def test_kill_9_mid_conversation_keeps_every_answer(
    settings: Settings,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    tmp_path: Path,
) -> None:
    code = await _member_invite(db)
    process = BotProcess(env_for(settings), tmp_path / "bot.log")
    process.start()
    try:
        user = await client.user(77, "Kai", language_code="en")
        await user.send(f"/start {code}")
        notice = await user.wait_reply(timeout=30)
        assert notice.buttons, process.log()
        await user.press(notice, "I agree")
        assert "full name" in (await user.wait_reply(timeout=30)).text, process.log()
        await user.send("Kai Wen")
        assert "phone number" in (await user.wait_reply()).text
        process.kill()  # no shutdown hooks run: whatever is not in the database is gone

        process.start()
        await user.send("13800000000")
        # On PostgreSQL the chat's send turn, taken by a call still in flight when the process
        # died, frees when its lease ends (delivery_lease_seconds, 30 s): allow for that.
        welcome = await user.wait_reply(timeout=75)
        assert "Welcome, Kai Wen!" in welcome.text, process.log()
    finally:
        process.ensure_stopped()
    async with db() as session:
        account = await queries.account_by_telegram_id(session, 77)
        assert account is not None and account.person is not None
        assert (account.person.name, account.person.phone) == ("Kai Wen", "13800000000")


async def test_sigterm_shuts_down_gracefully(
    settings: Settings, client: FakeTelegramClient, tmp_path: Path
) -> None:
    process = BotProcess(env_for(settings), tmp_path / "bot.log")
    process.start()
    try:
        user = await client.user(78, "Term", language_code="en")
        await user.send("/start")
        await user.wait_reply(timeout=30)
        assert await process.terminate() == 0, process.log()
    finally:
        process.ensure_stopped()
    assert "123456:TEST" not in process.log()  # the token never reaches the logs


async def test_sigterm_during_start_up_lets_the_migration_finish_and_exits_cleanly(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    # An empty database: the bot migrates it from nothing, the slowest start there is.
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    process = BotProcess(env_for(settings_for(url, telegram)), tmp_path / "bot.log")
    process.start()
    try:
        assert await eventually(lambda: _logged(process, "INFO zhibu: starting"), within=30)
        code = await process.terminate()
    finally:
        process.ensure_stopped()
    log = process.log()
    assert code == 0, log
    # Told while migrating or loading, it finishes that and stops before taking any update.
    assert "stopped before serving" in log and "Application started" not in log, log
    assert "migration" in log.lower()
    assert is_up_to_date(url)


async def _logged(process: BotProcess, line: str) -> bool:
    return line in process.log()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_accepts_only_the_right_secret(
    settings: Settings, telegram: FakeTelegramServer, client: FakeTelegramClient
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hook"
    application = build_application(settings, rate_limit=False)
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_webhook(
        listen="127.0.0.1", port=port, url_path="hook", webhook_url=url, secret_token="s3cret-Token"
    )
    try:
        user = await client.user(79, "Hook", language_code="en")
        await user.send("/start")
        assert "invite link" in (await user.wait_reply()).text
        deliveries = await client.webhook_deliveries()
        assert deliveries and all(d["ok"] for d in deliveries)
        forged = {
            "update_id": 999999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 79, "type": "private"},
                "from": {"id": 79, "is_bot": False, "first_name": "X"},
                "text": "/me",
            },
        }
        async with httpx.AsyncClient() as http:
            missing = await http.post(url, json=forged)
            wrong = await http.post(
                url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
            )
        assert missing.status_code == 403 and wrong.status_code == 403
        await user.expect_no_reply(within=0.5)
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)
