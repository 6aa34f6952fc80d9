"""/report notices: acknowledgement per notice and per branch, XLSX, chart, re-send button."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from tests.support.notices import ADMIN, compose, demo_users, wait_status


async def test_report_of_notices_and_resend_from_it(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    await admin.send("/report notices")
    assert "No notices have gone out yet" in (await admin.wait_reply()).text
    summary = await compose(admin, "Study session on Friday", ack=True)
    await admin.press(summary, "Confirm and send")
    await wait_status(admin, "has gone out")
    for name in ("李强", "张伟", "陈静"):
        copy = await users[name].wait_reply()
        await users[name].press(copy, copy.button_texts[0])
        await users[name].wait_edit()
    await admin.send("/report notices")
    report = await admin.wait_reply()
    assert "#1 · Study session on Friday · 3 of 12 acknowledged (25%)" in report.text
    assert report.button_texts == ["Re-send #1 to those who have not acknowledged"]
    sheet, picture = await admin.wait_replies(2)
    assert sheet.document is not None and sheet.document.filename == "notices.xlsx"
    book = load_workbook(io.BytesIO(sheet.document.data))
    notices = list(book["Notices"].iter_rows(values_only=True))
    assert notices[0][0] == "Notice" and notices[1][5:] == (12, 12, 0, 0, 3, 0.25)
    by_branch = {row[1]: row[3:] for row in book["By branch"].iter_rows(values_only=True)}
    assert by_branch["DEMO-B1"] == (4, 4, 2, 0.5)
    assert by_branch["DEMO-B2"] == (3, 3, 1, 0.3333)
    assert by_branch["DEMO-B3"] == (5, 5, 0, 0)
    assert picture.photo is not None and picture.photo.data.startswith(b"\x89PNG")
    await admin.press(report, "Re-send #1 to those who have not acknowledged")
    again = await wait_status(admin, "has gone out")
    assert "acknowledged 3 · of 12" in again.text
    assert len(await users["刘洋"].messages()) == 2
    assert len(await users["李强"].messages()) == 1
    # The other reports are still someone else's: /report alone is not taken here.
    await admin.send("/report")
    other = await admin.wait_reply()
    assert "acknowledged" not in other.text
