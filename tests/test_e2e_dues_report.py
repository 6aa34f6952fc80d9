"""Admins' /report dues (text, chart, XLSX, exact sums), the dues rule decided quarterly in
/report rules and shown in /due, muting dues reminders in /reminders, and the lost-contact
register's timers in /report relink."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.dues.ledger import record_payment, set_standard
from bot.fake_telegram import FakeTelegramClient
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from bot.rules.dues import month_index
from storage.db import SessionFactory
from storage.models_relink import LostContactEntry
from tests.support.dues import branch, person
from tests.support.reminders import Clock, at

NOV = month_index(2026, 11)
FEN = {"王芳": 2000, "李强": 1250, "张伟": 1001, "刘洋": 49, "杨磊": 333, "赵敏": 667}
B1_NAMES = ("王芳", "李强", "张伟", "刘洋")
OCTOBER_FIRST = at("2026-10-01 10:00")


async def _ledger(db: SessionFactory) -> None:
    """Standards from October; October paid by everyone, November by all but 张伟 and 赵敏."""
    async with db.begin() as session:
        for name, fen in FEN.items():
            who = await person(db, name)
            await set_standard(
                session,
                person=who,
                from_month=NOV - 1,
                fen=fen,
                actor=None,
                now=at("2026-10-01 10:00"),
            )
            unit = await branch(
                db, "DEMO-B1" if name in ("王芳", "李强", "张伟", "刘洋") else "DEMO-B2"
            )
            for month in (NOV - 1, NOV):
                if month == NOV and name in ("张伟", "赵敏"):
                    continue
                await record_payment(
                    session,
                    branch=unit,
                    person=who,
                    month=month,
                    latest=NOV,
                    actor=None,
                    today=dt.date(2026, 11, 20),
                )


async def test_admins_get_the_collection_of_their_subtree_summed_exactly(
    clock: Clock,
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    await _ledger(db)
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    await admin.send("/report dues")
    summary = await admin.wait_reply()
    due = sum(FEN.values())
    collected = due - FEN["张伟"] - FEN["赵敏"]
    assert "November 2026: 3 branches" in summary.text
    assert "Members who paid: 4 of 6 (66.7%)" in summary.text
    assert f"Collected: {collected / 100:.2f} yuan of {due / 100:.2f} yuan" in summary.text
    assert "Branches not fully collected: 2" in summary.text
    assert "• DEMO-B1 First Party Branch: 3/4" in summary.text
    chart = await admin.wait_reply()
    assert chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")
    document = await admin.wait_reply()
    assert document.document is not None and document.document.filename == "dues-2026-11.xlsx"
    rows = list(load_workbook(io.BytesIO(document.document.data)).active.values)
    assert [row[0] for row in rows[1:]] == ["DEMO-B1", "DEMO-B2", "DEMO-B3"]
    b1 = rows[1]
    assert b1[2:5] == (4, 3, 75)
    assert sum(Decimal(str(row[6])) for row in rows[1:]) == Decimal(collected) / 100
    assert Decimal(str(b1[5])) == Decimal("43.00")
    # The month before: everyone paid.
    await admin.press(summary, "‹ Previous month")
    october = await admin.wait_reply()
    assert "Members who paid: 6 of 6 (100.0%)" in october.text
    # A member cannot ask for it.
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    await member.send("/report dues")
    assert "not available for your role" in (await member.wait_reply()).text


async def test_quarterly_collection_muting_and_the_register_timers(
    clock: Clock,
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    await _ledger(db)
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    await admin.send("/report rules dues quarter")
    assert "Party dues (dues): collected every quarter" in (await admin.wait_reply()).text
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    await secretary.send("/due")
    assert (
        "Party dues (Q4 2026): 7 of 12 paid, 41 days left · /dues"
        in (await secretary.wait_reply()).text
    )
    await admin.send("/report rules dues month")
    await admin.wait_reply()
    # 张伟 mutes dues reminders: on December's collection day he is not reminded.
    zhang = await client.user(demo["张伟"].telegram_id, "Zhang", language_code="en")
    await zhang.send("/reminders")
    settings = await zhang.wait_reply()
    await zhang.press(settings, "🔔 Party dues")
    assert "🔕 Party dues" in (await zhang.wait_edit()).button_texts
    li = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    engine: ReminderEngine = bot.bot_data[REMINDERS_KEY]
    clock.set(at("2026-12-05 09:30"))
    await engine.plan()
    await engine.tick()
    assert "Party dues for December 2026: 12.50 yuan" in (await li.wait_reply()).text
    await zhang.skip_pending()
    await zhang.expect_no_reply()
    # The register's dates start the timers, shown in /report relink.
    async with db.begin() as session:
        session.add(
            LostContactEntry(
                name="失联者",
                branch_code="DEMO-B1",
                branch_id=(await branch(db, "DEMO-B1")).id,
                lost_on=dt.date(2026, 5, 10),
            )
        )
    await admin.skip_pending()
    await admin.send("/report relink")
    text = (await admin.wait_reply()).text
    assert "Lost-contact register: 1 not re-linked; six months passed for 1." in text
    assert (
        "– 失联者 (DEMO-B1): lost contact May 10, 2026; decision due since Nov 10, 2026; next "
        "review Nov 10, 2027"
    ) in text
