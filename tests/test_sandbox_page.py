"""The sandbox's web page in a real headless browser (Debian's chromium over WebDriver): a
secretary logs a meeting by buttons, a member acknowledges a notice pushed while the admin's
phone was the active one, a report's chart is shown and its XLSX downloads, and the page's
controls (phones, clock, language, a stranger, start over) work. And `zhibu` without a token
serves the page and prints its local URL.

Set ZHIBU_SCREENSHOTS=docs to write the README's screenshots (docs/sandbox-*.png).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import select

from storage.db import SessionFactory
from storage.models_activity import Activity
from tests.support import database
from tests.support.bot import ROOT, eventually
from tests.support.browser import Browser, chromium, require_browser
from tests.support.sandbox import RunningSandbox, running_sandbox

pytestmark = pytest.mark.slow

ADMIN, SECRETARY, MEMBER = 900001, 900010, 900011
NOTICE = "请全体党员本周五前完成党的二十届四中全会精神专题学习。"


@pytest.fixture
async def page(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[RunningSandbox, Browser]]:
    """The sandbox's page open in a fresh headless Chromium (its interface in Chinese)."""
    require_browser()
    # No quiet hours, so what the demo's history makes due lands at once, whatever the hour.
    async with running_sandbox(
        database_url,
        page=True,
        fire=True,
        reminder_quiet_start="00:00",
        reminder_quiet_end="00:00",
    ) as running:
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        async with chromium(downloads) as browser:
            await browser.open(f"{running.url}?locale=zh_Hans")
            await browser.wait("return document.body.dataset.ready === '1'", what="the page")
            yield running, browser


def _phone(telegram_id: int) -> str:
    return f'.phone[data-id="{telegram_id}"]'


async def say(browser: Browser, telegram_id: int, text: str) -> None:
    """Type a message in a phone and send it with Enter."""
    field = await browser.wait(
        "return document.querySelector(args[0] + ' .compose .entry')", _phone(telegram_id)
    )
    await browser.type(field, text + "\ue007")


async def press(browser: Browser, telegram_id: int, label: str) -> None:
    """Press the newest button in a phone labelled `label` (or, failing that, containing it)."""
    button = await browser.wait(
        """
        const selector = ['.msg:not(.deleted) .inline-keyboard button', '.reply-keyboard button']
          .map((part) => args[0] + ' ' + part).join(', ');
        const buttons = [...document.querySelectorAll(selector)];
        const exact = buttons.filter((button) => button.textContent === args[1]);
        const near = buttons.filter((button) => button.textContent.includes(args[1]));
        const pool = exact.length ? exact : near;
        return pool[pool.length - 1];
        """,
        _phone(telegram_id),
        label,
        what=f"a button {label!r} in {telegram_id}'s phone",
    )
    await browser.click(button)


async def bubble(browser: Browser, telegram_id: int, text: str) -> dict[str, str]:
    """Wait for a message of the bot containing `text` in a phone."""
    found: dict[str, str] = await browser.wait(
        """
        const bubbles = [...document.querySelectorAll(args[0] + ' .msg.bot')]
          .filter((bubble) => bubble.textContent.includes(args[1]));
        return bubbles[bubbles.length - 1];
        """,
        _phone(telegram_id),
        text,
        what=f"{text!r} in {telegram_id}'s phone",
    )
    return found


async def screenshot(browser: Browser, name: str, tmp_path: Path) -> None:
    """Save a screenshot (into ZHIBU_SCREENSHOTS when set: the README's come from here)."""
    folder = Path(os.environ.get("ZHIBU_SCREENSHOTS") or tmp_path)
    if not folder.is_absolute():
        folder = ROOT / folder
    await browser.screenshot(folder / f"sandbox-{name}.png")


async def test_a_secretary_logs_a_meeting_by_buttons(
    page: tuple[RunningSandbox, Browser], db: SessionFactory, tmp_path: Path
) -> None:
    _running, browser = page
    await say(browser, SECRETARY, "/log")
    await press(browser, SECRETARY, "支部委员会会议")
    await bubble(browser, SECRETARY, "✓ 支部委员会会议")
    await press(browser, SECRETARY, "完成")
    await press(browser, SECRETARY, "昨天")
    await bubble(browser, SECRETARY, "议题是什么")
    await say(browser, SECRETARY, "研究年终党员民主评议工作安排")
    await press(browser, SECRETARY, "人全部到会")
    await bubble(browser, SECRETARY, "活动地点")
    await press(browser, SECRETARY, "跳过")
    await bubble(browser, SECRETARY, "会议记录")
    await press(browser, SECRETARY, "跳过")
    await bubble(browser, SECRETARY, "可发送照片或文件")
    # A photo of the meeting, attached from the phone.
    photo = tmp_path / "meeting.png"
    Image.new("RGB", (320, 200), (200, 30, 40)).save(photo)
    field = await browser.wait(
        "return document.querySelector(args[0] + ' .photo-input')", _phone(SECRETARY)
    )
    await browser.type(field, str(photo))
    await bubble(browser, SECRETARY, "已附加：1")
    await press(browser, SECRETARY, "完成")
    await bubble(browser, SECRETARY, "保存前请核对")
    await press(browser, SECRETARY, "保存")
    await bubble(browser, SECRETARY, "已保存")
    async with db() as session:
        saved = await session.scalar(
            select(Activity).where(Activity.topic == "研究年终党员民主评议工作安排")
        )
    assert saved is not None
    assert saved.kinds == ["committee_meeting"] and len(saved.attachments) == 1
    assert saved.present == saved.expected


async def test_a_member_acknowledges_a_notice_pushed_while_another_phone_was_active(
    page: tuple[RunningSandbox, Browser], tmp_path: Path
) -> None:
    _running, browser = page
    # The admin's phone is the one in use: the notice lands in the member's phone by itself.
    await say(browser, ADMIN, "/notify")
    await bubble(browser, ADMIN, "撰写通知")
    await say(browser, ADMIN, NOTICE)
    await press(browser, ADMIN, "一种语言即可")
    await press(browser, ADMIN, "党员")
    await press(browser, ADMIN, "请读者确认阅读")
    await press(browser, ADMIN, "立即发送")
    await press(browser, ADMIN, "确认发送")
    await bubble(browser, MEMBER, NOTICE)
    await press(browser, MEMBER, "Acknowledge")
    # The bot's answer to the press shows as a toast, and the message is edited in place.
    await browser.wait(
        "return [...document.querySelectorAll(args[0] + ' .toast')]"
        ".some((toast) => toast.textContent.includes('acknowledged'))",
        _phone(MEMBER),
        what="the toast",
    )
    await browser.wait(
        """
        return [...document.querySelectorAll(args[0] + ' .inline-keyboard button')]
          .some((button) => button.textContent.startsWith('✓ Acknowledged'));
        """,
        _phone(MEMBER),
        what="the acknowledged mark",
    )
    # The admin's progress card says the sending finished: the same picture every time.
    await bubble(browser, ADMIN, "已发送完毕")
    await screenshot(browser, "phones", tmp_path)
    # A button of a question already answered: the bot's alert, shown until dismissed.
    await press(browser, ADMIN, "立即发送")
    ok = await browser.wait(
        """
        const alert = document.querySelector(args[0] + ' .alert');
        const shown = !alert.hidden && alert.textContent.includes('已失效');
        return shown && alert.querySelector('button');
        """,
        _phone(ADMIN),
        what="the alert",
    )
    await browser.click(ok)
    await browser.wait("return document.querySelector(args[0] + ' .alert').hidden", _phone(ADMIN))


async def test_a_report_shows_its_chart_and_its_spreadsheet_downloads(
    page: tuple[RunningSandbox, Browser], tmp_path: Path
) -> None:
    running, browser = page
    # What the bot is doing shows under the person's name, as in Telegram.
    server = running.sandbox.server
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.base_url}{server.token}/sendChatAction",
            json={"chat_id": ADMIN, "action": "upload_photo"},
        ) as response,
    ):
        assert (await response.json())["ok"]
    await browser.wait(
        "return document.querySelector(args[0] + ' .status').textContent === '正在发送图片…'",
        _phone(ADMIN),
        what="the chat action",
    )
    await say(browser, ADMIN, "/report compliance")
    await browser.wait(
        """
        const image = document.querySelector(args[0] + ' img.photo');
        return image && image.complete && image.naturalWidth > 100;
        """,
        _phone(ADMIN),
        what="the chart, loaded",
    )
    link = await browser.wait(
        "return document.querySelector(args[0] + ' a.document')", _phone(ADMIN)
    )
    name = await browser.script("return arguments[0].getAttribute('download')", link)
    assert name.startswith("compliance-") and name.endswith(".xlsx")
    await browser.script("arguments[0].scrollIntoView()", link)
    await screenshot(browser, "report", tmp_path)
    await browser.click(link)
    downloaded = browser.downloads / name

    async def arrived() -> bool:
        return downloaded.exists() and downloaded.stat().st_size > 0

    assert await eventually(arrived, within=30), sorted(browser.downloads.iterdir())
    assert downloaded.read_bytes()[:2] == b"PK"  # an XLSX is a zip


async def test_formatting_and_a_reply_keyboard_show_as_in_telegram(
    page: tuple[RunningSandbox, Browser],
) -> None:
    """What the bot does not send today but Telegram would show: HTML formatting (as the
    message's entities) and a reply keyboard, whose button sends its text."""
    running, browser = page
    server = running.sandbox.server
    body = {
        "chat_id": MEMBER,
        "text": "<b>粗体</b>与<i>斜体</i>",
        "parse_mode": "HTML",
        "reply_markup": {"keyboard": [[{"text": "是"}, {"text": "否"}]], "resize_keyboard": True},
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.base_url}{server.token}/sendMessage", json=body) as response,
    ):
        assert (await response.json())["ok"]
    await browser.wait(
        """
        const bubble = [...document.querySelectorAll(args[0] + ' .msg.bot')].pop();
        return bubble.querySelector('b').textContent === '粗体'
          && bubble.querySelector('i').textContent === '斜体';
        """,
        _phone(MEMBER),
        what="the formatted message",
    )
    await press(browser, MEMBER, "是")
    await browser.wait(
        "return [...document.querySelectorAll(args[0] + ' .msg.user')]"
        ".some((bubble) => bubble.querySelector('.text').textContent === '是')",
        _phone(MEMBER),
        what="the keyboard's text sent as the member's message",
    )


async def test_the_pages_controls_choose_phones_move_the_clock_add_a_stranger_and_start_over(
    page: tuple[RunningSandbox, Browser],
) -> None:
    """The bar's buttons and each phone's controls, clicked as a person would."""
    _running, browser = page

    async def click(selector: str, *args: object) -> None:
        await browser.click(await browser.wait(selector, *args, what=selector))

    # Choose which phones: a person not shown at first, by their chip, and closed again.
    chosen = await browser.script(
        "return document.querySelector('#picker .chip:not(.on)').dataset.id"
    )
    await click("return document.querySelector(`#picker .chip[data-id='${args[0]}']`)", chosen)
    await click("return document.querySelector(args[0] + ' .hide')", _phone(int(chosen)))
    await browser.wait("return !document.querySelector(args[0])", _phone(int(chosen)))
    # Move the clock by a day.
    await click("return document.querySelector('#advance-day')")
    await browser.wait(
        "return document.querySelector('#clock-now').dataset.offset === '86400'", what="a day on"
    )
    # Switch a phone's language: the bot answers it in Chinese from then on.
    await click(
        "return document.querySelector(args[0] + ' .lang option[value=\"zh-hans\"]')",
        _phone(MEMBER),
    )
    await browser.wait(
        "return document.querySelector(args[0] + ' .lang').value === 'zh-hans'", _phone(MEMBER)
    )
    await say(browser, MEMBER, "/help")
    await bubble(browser, MEMBER, "您可以使用")
    # A new stranger holding an invite: a phone of their own, which opens the invite.
    before = await browser.script("return document.querySelectorAll('.phone').length")
    await click("return document.querySelector('#stranger')")
    stranger = await browser.wait(
        """
        const phones = document.querySelectorAll('.phone[data-kind="newcomer"]');
        return document.querySelectorAll('.phone').length > args[0]
          && phones[phones.length - 1].dataset.id;
        """,
        before,
        what="the stranger's phone",
    )
    await click("return document.querySelector(args[0] + ' .open-invite')", _phone(int(stranger)))
    await browser.wait(
        "return document.querySelector(args[0] + ' .msg.bot .inline-keyboard button')",
        _phone(int(stranger)),
        what="the privacy notice with its buttons",
    )
    # Start over (after the page's own "are you sure?"): real time, the stranger gone.
    await browser.script("window.confirm = () => true")
    await click("return document.querySelector('#reset')")
    await browser.wait(
        """
        return document.body.dataset.ready === '1'
          && document.querySelector('#clock-now').dataset.offset === '0'
          && !document.querySelector(args[0]);
        """,
        _phone(int(stranger)),
        what="the demo started over",
    )


@pytest.mark.skipif(
    database.BACKEND == "postgresql",
    reason="the sandbox process keeps its own SQLite file: the PostgreSQL pass would repeat it",
)
def test_zhibu_without_a_token_serves_the_page_on_loopback(tmp_path: Path) -> None:
    """`bash .ci/start` runs `zhibu`: without a token it prints the page's local URL and serves
    it until stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "open http://" in line:
                break
        url = lines[-1].split("open ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:"), lines
        with urllib.request.urlopen(url, timeout=30) as response:
            assert b"/page/sandbox.js" in response.read()
        with urllib.request.urlopen(f"{url}api/state", timeout=30) as response:
            state = json.loads(response.read())
        assert {phone["kind"] for phone in state["phones"]} >= {"admin", "newcomer"}
        # Where `zhibu clock` finds it.
        assert json.loads((tmp_path / "data" / "sandbox.json").read_text())["url"] == url
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert not (tmp_path / "data" / "sandbox.json").exists()
