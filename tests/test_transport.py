"""The delivery worker's aiohttp backend under PTB's Bot, against the fake Bot API over HTTP.

What matters beyond "it sends": each failure must say whether the request may have reached
Telegram, because that decides between sending a copy again and counting it as delivered.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.fake_telegram import FakeTelegramServer
from bot.fake_telegram.server import FloodLimits
from bot.transport import AiohttpRequest, MaybeSent, NotSent, SendFailure, classify_network_error
from tests.support.bot import TOKEN

USER = 4242


@pytest.fixture
async def bot(telegram: FakeTelegramServer) -> AsyncIterator[Bot]:
    """A plain Bot on the aiohttp backend, talking to the fake server."""
    telegram.add_user(USER, "Reader")
    # A generous pool timeout: on a loaded machine even opening a loopback connection can take
    # longer than a few tenths of a second. The test of the pool timeout passes its own.
    request = AiohttpRequest(connection_pool_size=2, read_timeout=2.0, pool_timeout=5.0)
    the_bot = Bot(TOKEN, base_url=telegram.base_url, request=request)
    async with the_bot:
        yield the_bot


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_sends_text_markup_and_uploads(bot: Bot, telegram: FakeTelegramServer) -> None:
    me = await bot.get_me()
    assert me.is_bot
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("已阅", callback_data="ntc:ack:1")]])
    message = await bot.send_message(
        USER, "<b>通知</b> & more", parse_mode="HTML", reply_markup=keyboard
    )
    sent = telegram.bot_messages(USER)[-1]
    assert sent["message_id"] == message.message_id
    assert sent["text"] == "通知 & more"
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ntc:ack:1"
    # Multipart: a file upload goes through the same backend.
    document = await bot.send_document(USER, b"minutes", filename="minutes.txt", caption="纪要")
    assert document.document is not None
    assert telegram.file_bytes(document.document.file_id) == b"minutes"


async def test_telegram_errors_are_ptbs(bot: Bot, telegram: FakeTelegramServer) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999_999, "nobody")
    telegram.block_user(USER)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(USER, "blocked")
    telegram.unblock_user(USER)
    telegram.set_flood_limits(FloodLimits(global_per_second=1, per_chat_per_second=1))
    await bot.send_message(USER, "one")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "two")
    telegram.set_flood_limits(None)
    telegram.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError) as failed:
        await bot.send_message(USER, "5xx")
    # Telegram answered: nothing was delivered, trying again is safe.
    assert classify_network_error(failed.value) is SendFailure.NOT_SENT


async def test_refused_connection_was_not_sent() -> None:
    async with AiohttpRequest(connect_timeout=1.0) as request:
        with pytest.raises(NotSent) as failed:
            await request.post(f"http://127.0.0.1:{_free_port()}/bot{TOKEN}/getMe")
    assert classify_network_error(failed.value) is SendFailure.NOT_SENT


async def test_no_answer_in_time_may_have_arrived(bot: Bot, telegram: FakeTelegramServer) -> None:
    telegram.set_latency(3.0)
    with pytest.raises(TimedOut) as failed:
        await bot.send_message(USER, "slow", read_timeout=0.2)
    assert classify_network_error(failed.value) is SendFailure.MAYBE_SENT


async def test_no_free_connection_was_not_sent(bot: Bot, telegram: FakeTelegramServer) -> None:
    telegram.set_latency(1.0)
    # Two pooled connections, both busy: the third call waits 0.3 s for one, then gives up.
    before = telegram.method_calls["sendmessage"]
    busy = [asyncio.create_task(bot.send_message(USER, f"busy {i}")) for i in range(2)]
    # Both have reached the server (and hold their connections) before the third is tried.
    assert await telegram.wait_until(lambda: telegram.method_calls["sendmessage"] >= before + 2)
    with pytest.raises(NotSent, match="Pool timeout") as failed:
        await bot.send_message(USER, "third", pool_timeout=0.3)
    assert classify_network_error(failed.value) is SendFailure.NOT_SENT
    await asyncio.gather(*busy)


async def test_connection_dropped_after_sending_may_have_arrived() -> None:
    """A server that reads the request and hangs up without answering."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AiohttpRequest() as request:
            with pytest.raises(MaybeSent) as failed:
                await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/sendMessage")
        assert classify_network_error(failed.value) is SendFailure.MAYBE_SENT
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("error", "meaning"),
    [
        # PTB's default (httpx) backend, which interactive replies and tests' Bots use.
        (
            TimedOut("Pool timeout: All connections in the connection pool are occupied."),
            SendFailure.NOT_SENT,
        ),
        (TimedOut(), SendFailure.MAYBE_SENT),
        (NetworkError("httpx.ConnectError: All connection attempts failed"), SendFailure.NOT_SENT),
        (NetworkError("httpx.RemoteProtocolError: Server disconnected"), SendFailure.MAYBE_SENT),
        (NetworkError("Bad Gateway"), SendFailure.NOT_SENT),
    ],
)
def test_classification_of_the_default_backend(error: NetworkError, meaning: SendFailure) -> None:
    assert classify_network_error(error) is meaning


async def test_the_standard_proxy_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where api.telegram.org is not reachable directly, deployments set HTTPS_PROXY."""
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readline())
        while (await reader.readline()).strip():
            pass  # headers; the body is not needed
        body = b'{"ok": true, "result": {"via": "proxy"}}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        async with AiohttpRequest() as request:
            result = await request.post(f"http://bot-api.example/bot{TOKEN}/getMe")
    finally:
        server.close()
        await server.wait_closed()
    assert result == {"via": "proxy"}
    assert seen == [f"POST http://bot-api.example/bot{TOKEN}/getMe HTTP/1.1\r\n".encode()]
