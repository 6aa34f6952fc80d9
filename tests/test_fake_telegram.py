"""The fake Telegram server against the real python-telegram-bot request layer."""

import asyncio
import datetime as dtm
import html
import json
import struct
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler
from telegram.ext import filters as ext_filters

from bot.fake_telegram import (
    FakeTelegramClient,
    FakeTelegramServer,
    FakeUsageError,
    FloodLimits,
    parse_html,
)

ALICE = 1001
BOB = 1002
TOKEN = "123456:TEST"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in buttons]
    )


def png(width: int, height: int) -> bytes:
    # Only the header matters to the fake: it reads the size from IHDR.
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", width, height) + b"\x08\x02"


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    fake = FakeTelegramServer(token=TOKEN)
    await fake.start()
    fake.add_user(ALICE, "Alice", username="alice", language_code="en")
    yield fake
    await fake.stop()


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url) as b:
        yield b


@pytest.fixture
async def client(server: FakeTelegramServer) -> AsyncIterator[FakeTelegramClient]:
    async with FakeTelegramClient(server.url) as c:
        yield c


async def raw_call(
    server: FakeTelegramServer, method: str, token: str = TOKEN, **kwargs: Any
) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{server.url}/bot{token}/{method}", **kwargs)


# -- wire format ------------------------------------------------------------------------------


async def test_get_me_has_telegrams_shape(server: FakeTelegramServer, bot: Bot) -> None:
    response = await raw_call(server, "getMe")

    assert response.json() == {
        "ok": True,
        "result": {
            "id": 123456,
            "is_bot": True,
            "first_name": "Zhibu Test",
            "username": "zhibu_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        },
    }
    assert bot.username == "zhibu_test_bot"
    assert (await raw_call(server, "GETME")).status_code == 200


async def test_wrong_token_and_unknown_method(server: FakeTelegramServer) -> None:
    unauthorized = await raw_call(server, "getMe", token="999:WRONG")
    unknown = await raw_call(server, "sendTelepathy")

    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=server.base_url):
            pass


async def test_json_and_form_bodies_are_both_understood(server: FakeTelegramServer) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}

    as_json = await raw_call(
        server, "sendMessage", json={"chat_id": ALICE, "text": "a", "reply_markup": markup}
    )
    as_form = await raw_call(
        server,
        "sendMessage",
        data={"chat_id": str(ALICE), "text": "b", "reply_markup": json.dumps(markup)},
    )

    first, second = as_json.json()["result"], as_form.json()["result"]
    assert (first["message_id"], second["message_id"]) == (1, 2)
    assert second["reply_markup"] == markup
    assert second["chat"] == {
        "id": ALICE,
        "first_name": "Alice",
        "username": "alice",
        "type": "private",
    }
    assert second["from"]["is_bot"] is True
    assert isinstance(second["date"], int)


# -- sending, editing, deleting -----------------------------------------------------------------


async def test_send_edit_and_delete_are_recorded(server: FakeTelegramServer, bot: Bot) -> None:
    sent = await bot.send_message(
        ALICE,
        "<b>Choose</b> a language",
        parse_mode="HTML",
        reply_markup=keyboard(("English", "lang:en")),
    )
    edited = await bot.edit_message_text(
        "Language: <i>English</i>", ALICE, sent.message_id, parse_mode="HTML"
    )
    await bot.edit_message_reply_markup(
        ALICE, sent.message_id, reply_markup=keyboard(("Undo", "undo"))
    )
    second = await bot.send_message(ALICE, "bye")
    await bot.delete_message(ALICE, second.message_id)

    assert sent.text == "Choose a language"
    assert sent.entities[0].type == "bold"
    assert edited.text == "Language: English"
    assert edited.reply_markup is None  # editing text without reply_markup drops the keyboard
    assert second.message_id == sent.message_id + 1
    first_record, second_record = server.bot_messages(ALICE)
    assert first_record["text"] == "Language: English"
    assert [edit["text"] for edit in first_record["edits"]] == ["Language: English"] * 2
    assert first_record["reply_markup"] == {
        "inline_keyboard": [[{"callback_data": "undo", "text": "Undo"}]]
    }
    assert second_record["deleted"] is True


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "  \n "}, "Bad Request: message text is empty"),
        ({"text": "a" * 4097}, "Bad Request: message is too long"),
        (
            {"text": "<b>" + "a" * 4097 + "</b>", "parse_mode": "HTML"},
            "Bad Request: message is too long",
        ),
        (
            {"text": "<b>bold", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: "
            'Can\'t find end tag corresponding to start tag "b"',
        ),
        (
            {"text": "<div>x</div>", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 0',
        ),
        (
            {"text": "x &foo; y", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported HTML entity "&foo;" at byte offset 2',
        ),
        (
            {"text": "1 < 2", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
        ),
        (
            {"text": "x", "reply_markup": keyboard(("Too long", "中" * 22))},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "x", "reply_markup": keyboard(*((f"B{n}", f"b{n}") for n in range(101)))},
            "Bad Request: reply markup is too long",
        ),
        ({"text": "x", "chat_id": 424242}, "Bad Request: chat not found"),
    ],
)
async def test_invalid_messages_are_refused_in_telegrams_words(
    bot: Bot, server: FakeTelegramServer, kwargs: dict[str, Any], expected: str
) -> None:
    arguments = {"chat_id": ALICE, **kwargs}
    with pytest.raises(BadRequest) as refused:
        await bot.send_message(**arguments)
    # The same request again, without PTB, to see Telegram's exact JSON answer.
    as_json = {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in arguments.items()}
    raw = await raw_call(server, "sendMessage", json=as_json)

    assert raw.status_code == 400
    assert raw.json() == {"ok": False, "error_code": 400, "description": expected}
    # PTB drops the "Bad Request: " prefix and capitalizes what is left.
    assert refused.value.message.lower() == expected.removeprefix("Bad Request: ").lower()
    assert server.bot_messages(ALICE) == []


async def test_limits_count_characters_after_html_parsing(bot: Bot) -> None:
    exactly = await bot.send_message(ALICE, "<b>" + "&lt;" * 4096 + "</b>", parse_mode="HTML")
    # 64 bytes of callback data, in 32 two-byte characters.
    two_byte_data = await bot.send_message(ALICE, "ok", reply_markup=keyboard(("Fits", "ü" * 32)))

    hundred = await bot.send_message(
        ALICE, "ok", reply_markup=keyboard(*((f"B{n}", f"b{n}") for n in range(100)))
    )

    assert len(exactly.text) == 4096
    assert hundred.reply_markup is not None and len(hundred.reply_markup.inline_keyboard) == 100
    assert two_byte_data.reply_markup is not None


async def test_edits_that_change_nothing_or_miss_are_refused(bot: Bot) -> None:
    sent = await bot.send_message(ALICE, "same", reply_markup=keyboard(("A", "a")))

    with pytest.raises(BadRequest, match="Message is not modified: specified new message content"):
        await bot.edit_message_text(
            "same", ALICE, sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("other", ALICE, 999)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(ALICE, 999)
    await bot.edit_message_text("same", ALICE, sent.message_id)  # dropping the keyboard is a change


# -- getUpdates ---------------------------------------------------------------------------------


async def test_long_poll_wakes_as_soon_as_a_user_writes(
    server: FakeTelegramServer, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    assert await server.wait_until(lambda: server.method_calls["getupdates"] == 1)
    update_id = server.user_sends_text(ALICE, "/start ABC123")
    # Well before the poll's own 10 s: the message woke it.
    (update,) = await asyncio.wait_for(poll, timeout=5)

    assert update.update_id == update_id
    assert update.message.text == "/start ABC123"
    assert update.message.from_user.language_code == "en"
    (entity,) = update.message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, len("/start"))


async def test_offset_confirms_and_limit_caps_updates(server: FakeTelegramServer, bot: Bot) -> None:
    first = server.user_sends_text(ALICE, "one")
    second = server.user_sends_text(ALICE, "two")
    third = server.user_sends_text(ALICE, "three")

    unconfirmed = await bot.get_updates()
    again = await bot.get_updates(limit=1)
    after_first = await bot.get_updates(offset=second)
    last_only = await bot.get_updates(offset=-1)
    drained = await bot.get_updates(offset=third + 1)

    assert [u.update_id for u in unconfirmed] == [first, second, third]
    assert [u.update_id for u in again] == [first]
    assert [u.update_id for u in after_first] == [second, third]
    assert [u.update_id for u in last_only] == [third]
    assert drained == ()
    assert server.pending_updates == []


# -- users as Telegram clients ----------------------------------------------------------------


async def test_user_media_and_presses_arrive_as_real_updates(
    server: FakeTelegramServer, bot: Bot, client: FakeTelegramClient
) -> None:
    alice = await client.user(ALICE, "Alice")
    menu = await bot.send_message(
        ALICE, "Menu", reply_markup=keyboard(("Report", "report"), ("Help", "help"))
    )
    await alice.send_sticker("🎉")
    await alice.send_photo(png(640, 480), caption="receipt")
    await alice.send_document("姓名,党支部\n".encode(), "名单.csv")
    pressed = await alice.press(menu.message_id, "Report")
    by_data = await alice.press(menu.message_id, data="help")
    forged = await alice.press_data(menu.message_id, "admin:drop_all")

    updates = {u.update_id: u for u in await bot.get_updates()}
    sticker, photo, document, *_ = updates.values()
    assert sticker.message.sticker.emoji == "🎉"
    assert (photo.message.photo[-1].width, photo.message.photo[-1].height) == (640, 480)
    assert photo.message.caption == "receipt"
    assert document.message.document.file_name == "名单.csv"
    assert document.message.document.mime_type == "text/csv"
    downloaded = await (
        await bot.get_file(document.message.document.file_id)
    ).download_as_bytearray()
    assert downloaded.decode() == "姓名,党支部\n"
    assert updates[pressed].callback_query.data == "report"
    assert updates[pressed].callback_query.message.message_id == menu.message_id
    assert updates[by_data].callback_query.data == "help"
    assert updates[forged].callback_query.data == "admin:drop_all"
    assert updates[pressed].callback_query.id != updates[by_data].callback_query.id
    assert (
        updates[pressed].callback_query.chat_instance
        == updates[by_data].callback_query.chat_instance
    )
    with pytest.raises(AssertionError, match="no button with text 'Delete'"):
        await alice.press(menu.message_id, "Delete")
    with pytest.raises(FakeUsageError):
        server.user_presses(ALICE, menu.message_id, data="nope")


async def test_reply_keyboard_press_sends_the_label(
    server: FakeTelegramServer, bot: Bot, client: FakeTelegramClient
) -> None:
    alice = await client.user(ALICE, "Alice")
    await bot.send_message(
        ALICE, "Language?", reply_markup=ReplyKeyboardMarkup([["English", "中文"]])
    )
    await bot.send_message(ALICE, "Thanks", reply_markup=ReplyKeyboardRemove())
    question = await alice.wait_reply()
    await alice.press(question, "中文")

    (update,) = await bot.get_updates()
    assert question.buttons == [[("English", None), ("中文", None)]]
    assert update.message.text == "中文"


async def test_photo_and_document_round_trip_through_get_file(
    server: FakeTelegramServer, bot: Bot, client: FakeTelegramClient
) -> None:
    alice = await client.user(ALICE, "Alice")
    photo_message = await bot.send_photo(
        ALICE, png(3, 2), caption="<b>chart</b>", parse_mode="HTML"
    )
    document_message = await bot.send_document(ALICE, b"a,b\n1,2\n", filename="report.csv")
    resent = await bot.send_document(ALICE, document_message.document.file_id)

    photo_file = await bot.get_file(photo_message.photo[-1].file_id)
    document_file = await bot.get_file(document_message.document.file_id)
    photo_seen, document_seen, _ = await alice.wait_replies(3)

    assert (photo_message.photo[-1].width, photo_message.photo[-1].height) == (3, 2)
    assert photo_message.caption == "chart"
    assert bytes(await photo_file.download_as_bytearray()) == png(3, 2)
    assert bytes(await document_file.download_as_bytearray()) == b"a,b\n1,2\n"
    assert document_message.document.file_size == 8
    assert resent.document.file_id == document_message.document.file_id
    assert photo_seen.photo is not None and photo_seen.photo.data == png(3, 2)
    assert photo_seen.text == "chart"
    assert document_seen.document is not None
    assert (document_seen.document.filename, document_seen.document.data) == (
        "report.csv",
        b"a,b\n1,2\n",
    )
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


# -- faults and limits ---------------------------------------------------------------------------


async def test_blocked_and_deactivated_users_answer_403(
    server: FakeTelegramServer, bot: Bot
) -> None:
    server.add_user(BOB, "Bob")
    server.block_user(ALICE)
    server.deactivate_user(BOB)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "hi")
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_document(BOB, b"x", filename="x.txt")
    (member_update,) = await bot.get_updates()
    assert member_update.my_chat_member.new_chat_member.status == "kicked"
    server.unblock_user(ALICE)
    await bot.send_message(ALICE, "welcome back")


async def test_flood_limits_refuse_with_retry_after_and_count_violations(
    server: FakeTelegramServer,
    bot: Bot,
    client: FakeTelegramClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # PTB 22 warns about RetryAfter.retry_after becoming a timedelta unless we opt in.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    for user_id in (2001, 2002, 2003):
        server.add_user(user_id)
    server.set_flood_limits(FloodLimits(global_per_second=3, per_chat_per_second=1))

    await bot.send_message(ALICE, "one")
    with pytest.raises(RetryAfter) as per_chat:
        await bot.send_message(ALICE, "two")
    await bot.send_message(2001, "x")
    await bot.send_message(2002, "x")
    with pytest.raises(RetryAfter):
        await bot.send_message(2003, "x")  # fourth send in a second, over the global limit
    await bot.send_message(2003, "x", allow_paid_broadcast=True)
    await bot.get_me()  # reads are not limited

    stats = await client.flood_stats()
    assert per_chat.value.retry_after == dtm.timedelta(seconds=1)
    assert (server.violations, server.sent_count) == (2, 4)
    assert (stats["violations"], stats["sent_count"], stats["peak_per_second"]) == (2, 4, 4)
    assert stats["send_chats"] == [ALICE, 2001, 2002, 2003]
    await client.disable_flood_limits()
    await bot.send_message(ALICE, "two")


async def test_measuring_only_flood_limits_let_sends_through(
    server: FakeTelegramServer, bot: Bot, client: FakeTelegramClient
) -> None:
    await client.set_flood_limits(per_chat_per_second=1, enforce=False)

    await bot.send_message(ALICE, "one")
    await bot.send_message(ALICE, "two")

    assert server.violations == 1
    assert len(server.send_times) == 2


async def test_transient_failures_and_latency(
    server: FakeTelegramServer, bot: Bot, client: FakeTelegramClient
) -> None:
    await client.fail_next("sendMessage", status=502)
    server.fail_next("*", status=500)

    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(ALICE, "lost")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_me()
    await bot.send_message(ALICE, "delivered")
    await client.set_latency(0.05)
    started = time.monotonic()
    await bot.get_me()

    assert time.monotonic() - started >= 0.05
    assert [m["text"] for m in server.bot_messages(ALICE)] == ["delivered"]


# -- bot settings ----------------------------------------------------------------------------------


async def test_commands_are_kept_per_language_and_scope(
    bot: Bot, client: FakeTelegramClient
) -> None:
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    await bot.set_my_commands([("start", "开始")], language_code="zh")
    await bot.set_my_commands([("report", "Report")], scope=BotCommandScopeChat(ALICE))

    default = await bot.get_my_commands()
    chinese = await bot.get_my_commands(language_code="zh")
    scoped = await bot.get_my_commands(scope=BotCommandScopeChat(ALICE))
    await bot.delete_my_commands(language_code="zh")

    assert [(c.command, c.description) for c in default] == [("start", "Start"), ("help", "Help")]
    assert [(c.command, c.description) for c in chinese] == [("start", "开始")]
    assert [c.command for c in scoped] == ["report"]
    assert await bot.get_my_commands(language_code="zh") == ()
    assert len(await client.commands()) == 2
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Start!", "bad")])


# -- webhooks ------------------------------------------------------------------------------------


class WebhookReceiver(tornado.web.RequestHandler):
    def initialize(
        self, received: list[tuple[dict[str, str], dict[str, Any]]], statuses: list[int]
    ) -> None:
        self.received = received
        self.statuses = statuses

    async def post(self, *args: str, **kwargs: str) -> None:
        self.received.append((dict(self.request.headers), json.loads(self.request.body)))
        self.set_status(self.statuses.pop(0) if self.statuses else 200)
        self.finish()


@pytest.fixture
async def receiver() -> AsyncIterator[
    tuple[str, list[tuple[dict[str, str], dict[str, Any]]], list[int]]
]:
    received: list[tuple[dict[str, str], dict[str, Any]]] = []
    statuses: list[int] = []
    app = tornado.web.Application(
        [(r"/hook", WebhookReceiver, {"received": received, "statuses": statuses})]
    )
    http_server = tornado.httpserver.HTTPServer(app)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    http_server.add_sockets(sockets)
    yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook", received, statuses
    http_server.stop()
    await http_server.close_all_connections()


async def test_webhook_delivers_with_secret_and_records_rejections(
    server: FakeTelegramServer, bot: Bot, receiver: tuple[str, list[Any], list[int]]
) -> None:
    url, received, statuses = receiver
    await bot.set_webhook(url, secret_token="s3cret-token")

    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    delivered = server.user_sends_text(ALICE, "hello")
    assert await server.wait_until(lambda: len(server.webhook_deliveries) == 1)
    statuses.extend([403, 403, 403])
    rejected = server.user_sends_text(ALICE, "again")
    assert await server.wait_until(lambda: len(server.webhook_deliveries) == 4)
    info = await bot.get_webhook_info()

    headers, body = received[0]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret-token"
    assert Update.de_json(body, bot).message.text == "hello"
    assert body["update_id"] == delivered
    assert [(d["update_id"], d["status_code"]) for d in server.webhook_deliveries] == [
        (delivered, 200),
        (rejected, 403),
        (rejected, 403),
        (rejected, 403),
    ]
    assert info.url == url
    assert "403" in (info.last_error_message or "")
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


# -- the client with a real Application ----------------------------------------------------------


async def test_echo_application_conversation(
    server: FakeTelegramServer, client: FakeTelegramClient
) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer in capitals with a button."""
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(
            update.message.text.upper(), reply_markup=keyboard(("English", "lang:en"))
        )

    async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Acknowledge the press and replace the keyboard message."""
        query = update.callback_query
        assert query is not None
        await query.answer("Saved")
        await query.edit_message_text(f"Language: {query.data}")

    app = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(ext_filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(choose))
    alice = await client.user(ALICE, "Alice", language_code="en")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=dtm.timedelta(seconds=5))

        await alice.send("/start ABC123")
        reply = await alice.wait_reply()
        pressed = await alice.press(reply, "English")
        edited = await alice.wait_edit_or_reply()
        answer = await alice.callback_answer(pressed)
        await alice.expect_no_reply(within=0.1)
        with pytest.raises(AssertionError, match=r"got no reply within 0.05s") as no_reply:
            await alice.wait_reply(timeout=0.05)

        await app.updater.stop()
        await app.stop()

    assert str(no_reply.value).endswith("\n  #2 'Language: lang:en' (already read)")
    assert reply.text == "/START ABC123"
    assert reply.button_texts == ["English"]
    assert reply.buttons == [[("English", "lang:en")]]
    assert edited.event == "edit"
    assert edited.text == "Language: lang:en"
    assert edited.buttons == []
    assert answer["text"] == "Saved"
    assert server.pending_updates == []  # PTB confirmed everything on the way out


# -- the HTML parser -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1<2", "Unclosed start tag at byte offset 1"),
        ("名<div>", 'Unsupported start tag "div" at byte offset 3'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href=x!>y</a>", "Unexpected end of name token at byte offset 8"),
        ("&#0;", 'Unsupported HTML entity "&#0;" at byte offset 0'),
    ],
)
def test_html_parse_errors_use_tdlibs_wording(source: str, error: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_html(source)
    assert str(refused.value) == error


def test_html_entities_and_offsets() -> None:
    text, entities = parse_html(
        '😀<b>x</b> <a href="https://e.org/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">p</code></pre><blockquote expandable>q</blockquote>'
        '<span class="tg-spoiler">s</span> Q&A &#x4e2d;'
    )

    assert text == "😀x link pqs Q&A 中"
    assert entities == [
        {"type": "bold", "offset": 2, "length": 1},
        {"type": "text_link", "offset": 4, "length": 4, "url": "https://e.org/?a=1&b=2"},
        {"type": "pre", "offset": 9, "length": 1, "language": "python"},
        {"type": "expandable_blockquote", "offset": 10, "length": 1},
        {"type": "spoiler", "offset": 11, "length": 1},
    ]


@given(st.text())
def test_escaped_text_parses_back_to_itself(text: str) -> None:
    assert parse_html(html.escape(text)) == (text, [])


# -- standalone process -------------------------------------------------------------------------


@pytest.mark.slow
async def test_standalone_server_prints_its_port_and_is_drivable() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.fake_telegram",
        "--port",
        "0",
        "--flood",
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        port = int(await asyncio.wait_for(process.stdout.readline(), timeout=10))
        async with FakeTelegramClient(f"http://127.0.0.1:{port}") as client:
            bob = await client.user(BOB, "Bob")
            await bob.send("/help")
            stats = await client.flood_stats()
            async with Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot") as remote_bot:
                (update,) = await remote_bot.get_updates()
        assert update.message.text == "/help"
        assert stats["limits"]["global_per_second"] == 30
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
