"""The fake's event feed: every message (both sides), edit, answer and chat action as it
happens, in process and as a server-sent event stream; a chat's history, both sides."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from bot.fake_telegram import FakeTelegramServer
from tests.support.bot import TOKEN


async def _bot(server: FakeTelegramServer, method: str, **params: Any) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.base_url}{TOKEN}/{method}", json=params) as response,
    ):
        payload = await response.json()
    assert payload["ok"], payload
    return payload["result"]


async def test_every_event_reaches_the_listeners_in_order(telegram: FakeTelegramServer) -> None:
    telegram.add_user(7, "Ann")
    with telegram.listen() as events:
        telegram.user_sends_text(7, "/start")
        sent = await _bot(
            telegram,
            "sendMessage",
            chat_id=7,
            text="<b>Hello</b>",
            parse_mode="HTML",
            reply_markup={"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]},
        )
        update_id = telegram.user_presses(7, sent["message_id"], data="go")
        query_id = telegram.updates_by_id[update_id]["callback_query"]["id"]
        await _bot(
            telegram, "answerCallbackQuery", callback_query_id=query_id, text="No!", show_alert=True
        )
        await _bot(telegram, "sendChatAction", chat_id=7, action="upload_photo")
        await _bot(
            telegram, "editMessageText", chat_id=7, message_id=sent["message_id"], text="Bye"
        )
        seen = [events.get_nowait() for _ in range(events.qsize())]
    kinds = [event["kind"] for event in seen]
    assert kinds == ["user_message", "message", "answer", "action", "edit"]
    assert seen[0]["message"]["text"] == "/start" and not seen[0]["message"]["from_bot"]
    assert seen[1]["message"]["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    assert (seen[2]["chat_id"], seen[2]["text"], seen[2]["show_alert"]) == (7, "No!", True)
    assert seen[3] == {"kind": "action", "chat_id": 7, "action": "upload_photo"}
    assert seen[4]["message"]["text"] == "Bye"
    # The history holds both sides, as they are now.
    history = telegram.chat_history(7)
    assert [(m["from_bot"], m["text"]) for m in history] == [(False, "/start"), (True, "Bye")]


async def test_the_event_stream_over_http(telegram: FakeTelegramServer) -> None:
    telegram.add_user(7, "Ann")
    telegram.add_user(8, "Bob")
    async with aiohttp.ClientSession() as http:
        url = f"{telegram.url}/_fake/events?chats=8"
        async with http.get(url) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            assert (await stream.content.readline()).startswith(b": listening")
            await stream.content.readline()
            telegram.user_sends_text(7, "not for this stream")
            telegram.user_sends_text(8, "hello")
            line = await asyncio.wait_for(stream.content.readline(), 10)
        event = json.loads(line.removeprefix(b"data: "))
        assert (event["kind"], event["chat_id"], event["message"]["text"]) == (
            "user_message",
            8,
            "hello",
        )
        async with http.get(f"{telegram.url}/_fake/chats/8/history") as response:
            body = await response.json()
    assert [m["text"] for m in body["result"]] == ["hello"]
