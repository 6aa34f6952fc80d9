"""Helpers for notice tests: the demo people as fake users, composing a notice step by step."""

from __future__ import annotations

from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeMessage, FakeUser

ADMIN = "林书记"


async def demo_users(
    client: FakeTelegramClient, demo: dict[str, DemoUser], *, admin_language: str = "en"
) -> dict[str, FakeUser]:
    """Every demo person as a fake Telegram user (so the bot can reach them)."""
    users = {}
    for name, person in demo.items():
        language = admin_language if name == ADMIN else person.language_code
        users[name] = await client.user(person.telegram_id, name, language_code=language)
    return users


async def wait_final(admin: FakeUser, marker: str = "has gone out") -> FakeMessage:
    """The admin's status message once its text says the notice finished."""
    while True:
        message = await admin.wait_edit(timeout=10)
        if marker in message.text:
            return message


async def compose(
    admin: FakeUser,
    text: str,
    *,
    second: str | None = None,
    audience: str = "members",
    branches: tuple[str, ...] = (),
    ack: bool = False,
    at: str | None = None,
) -> FakeMessage:
    """Drive /notify in English up to the confirmation summary; return that summary."""
    await admin.send("/notify")
    await admin.wait_reply()
    await admin.send(text)
    question = await admin.wait_reply()
    if second is None:
        await admin.press(question, "No, one language is enough")
        audiences = await admin.wait_edit()
    else:
        await admin.press(question, question.button_texts[0])
        await admin.wait_edit()
        await admin.send(second)
        audiences = await admin.wait_reply()
    await admin.press(audiences, data=f"ntf:aud:{audience}")
    step = await admin.wait_edit()
    if audience == "branches":
        for code in branches:
            label = next(b for b in step.button_texts if b.startswith(code + " "))
            await admin.press(step, label)
            step = await admin.wait_edit()
        await admin.press(step, "Done")
        step = await admin.wait_edit()
    await admin.press(
        step, "Yes, ask readers to acknowledge" if ack else "No acknowledgement needed"
    )
    when = await admin.wait_edit()
    if at is None:
        await admin.press(when, "Send now")
    else:
        await admin.press(when, "Choose a time")
        await admin.wait_edit()
        await admin.send(at)
    while True:
        message = await admin.wait_reply()
        if "Send this notice?" in message.text:
            return message
