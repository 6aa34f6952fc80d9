"""Bad input in the bot: a negative, zero, non-numeric or too precise standard, a month too far
ahead, a month beyond prepayment: each a clear answer in the reader's language, nothing stored
until the input is good."""

from __future__ import annotations

import pytest

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from storage.db import SessionFactory
from tests.support.dues import counts, ledger_rows, person
from tests.support.reminders import at

NOW = at("2026-11-20 10:00")
ANSWERS = {
    "en": {
        "members": "Members and standards",
        "set": "Set the monthly standard",
        "ask": "Type the new monthly standard in yuan",
        "-5": "An amount cannot be negative.",
        "abc": "That is not an amount.",
        "0": "The amount must be more than zero.",
        "12.345": "At most two decimals (fen)",
        "12.50 2030-01": "within a year from now",
        "saved": "Saved: 张伟 pays 12.50 yuan a month from December 2026.",
        "too_far": "That month is further ahead than members may prepay. Nothing was changed.",
    },
    "zh-hans": {
        "members": "党员和交纳标准",
        "set": "设置交纳标准",
        "ask": "请以元为单位输入新的月交纳标准",
        "-5": "金额不能为负数。",
        "abc": "这不是金额。",
        "0": "金额必须大于零。",
        "12.345": "最多两位小数",
        "12.50 2030-01": "且在一年以内",
        "saved": "已保存：张伟自2026年12月起每月交纳 12.50 元。",
        "too_far": "该月超出了允许预交的期限，未做任何更改。",
    },
}


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Settings, "now", lambda self: NOW)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_bad_amounts_and_months_are_answered_and_nothing_is_stored(
    language: str,
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    a = ANSWERS[language]
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code=language)
    await secretary.send("/dues")
    view = await secretary.wait_reply()
    await secretary.press(view, a["members"])
    members = await secretary.wait_edit()
    await secretary.press(members, next(b for b in members.button_texts if "张伟" in b))
    member = await secretary.wait_edit()
    await secretary.press(member, a["set"])
    assert a["ask"] in (await secretary.wait_reply()).text
    before = await counts(db)
    for typed in ("-5", "abc", "0", "12.345", "12.50 2030-01"):
        await secretary.send(typed)
        assert a[typed] in (await secretary.wait_reply()).text, typed
        assert await counts(db) == before, typed
    await secretary.send("12.50 2026-12")
    assert a["saved"] in (await secretary.wait_reply()).text
    standards, payments = await ledger_rows(db)
    zhang = await person(db, "张伟")
    assert [(s.person_id, s.amount_fen) for s in standards] == [(zhang.id, 1250)] and not payments
    # A month beyond what members may prepay (12 months ahead), named by a forged button.
    before = await counts(db)
    update_id = await secretary.press_data(member, f"dues:p:{zhang.branch_id}:2027-12:{zhang.id}:0")
    answer = await secretary.callback_answer(update_id)
    assert answer.get("text") == a["too_far"]
    assert await counts(db) == before
