"""One date format per locale (issue 17): every date a reader sees comes from the Translator's
one formatter (Nov 21, 2026 / 2026年11月21日), never from isoformat(), strftime() or a format
picked per call."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.i18n import Translator
from storage.db import SessionFactory
from storage.models import Account
from tests.support.relink import submit_mobile_request

ROOT = Path(__file__).resolve().parent.parent
# Where a date is written as text on purpose, and why.
ALLOWED = {
    "handlers/meet_texts.py": "an example of what to type, in a form the time parser reads",
    "handlers/notify.py": "an example of what to type, in a form the time parser reads",
    "bot/reminders/kinds.py": "a reminder's subject, never shown",
    "bot/reminders/meeting_kinds.py": "a reminder's subject and dedupe key, never shown",
    "bot/reminders/sources.py": "a reminder's subject, never shown",
    "bot/imports/cells.py": "the operators' import report (command line, English)",
    "bot/grading/cli.py": "command-line output for operators",
}
# Babel's date functions outside the one formatter.
# The others: "Nov" column labels of a table whose year is in its title.
BABEL_ALLOWED = {"bot/i18n.py", "handlers/dues_texts.py", "bot/book/labels.py"}


def _dated(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in ("isoformat", "strftime")
        for n in ast.walk(node)
    )


def _text_with_dates(tree: ast.AST) -> list[int]:
    """Lines where isoformat() or strftime() goes into a text: str.format or an f-string."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            arguments = [*node.args, *(k.value for k in node.keywords)]
            if node.func.attr == "format" and any(_dated(a) for a in arguments):
                lines.append(node.lineno)
        if isinstance(node, ast.JoinedStr) and any(
            isinstance(v, ast.FormattedValue) and _dated(v.value) for v in node.values
        ):
            lines.append(node.lineno)
    return lines


def _sources() -> list[tuple[str, ast.AST]]:
    paths = [*ROOT.glob("handlers/**/*.py"), *ROOT.glob("bot/**/*.py")]
    return [
        (str(path.relative_to(ROOT)), ast.parse(path.read_text()))
        for path in sorted(paths)
        if "bot/cli/" not in str(path.relative_to(ROOT))
    ]


def test_no_user_facing_text_formats_a_date_by_itself() -> None:
    found = {
        name: lines
        for name, tree in _sources()
        if name not in ALLOWED and (lines := _text_with_dates(tree))
    }
    assert found == {}, "format dates with context.tr.date() / context.tr.datetime()"


def test_babel_date_functions_are_called_by_the_one_formatter_only() -> None:
    users = {
        name
        for name, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "babel.dates"
    }
    assert users <= BABEL_ALLOWED


def test_the_one_format_of_each_locale() -> None:
    moment = dt.datetime(2026, 12, 4, 6, 30, tzinfo=dt.UTC)  # 14:30 in Shanghai
    en, zh = Translator("en"), Translator("zh_Hans")
    assert en.date(dt.date(2026, 12, 4)) == "Dec 4, 2026"
    assert zh.date(dt.date(2026, 12, 4)) == "2026年12月4日"
    assert en.datetime(moment) == "Dec 4, 2026 2:30\u202fPM"
    assert zh.datetime(moment) == "2026年12月4日 14:30"
    assert en.month(dt.date(2026, 12, 4)) == "December 2026"
    assert zh.month(dt.date(2026, 12, 4)) == "2026年12月"


@pytest.mark.parametrize(
    ("locale", "submitted"),
    [
        ("en", "Submitted: Nov 21, 2026 10:00\u202fAM"),
        ("zh_Hans", "提交时间：2026年11月21日 10:00"),
    ],
)
async def test_a_request_card_shows_the_one_format(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    locale: str,
    submitted: str,
) -> None:
    await submit_mobile_request(db, demo["李强"].telegram_id)
    async with db.begin() as session:
        await session.execute(update(Account).values(locale=locale))
    member = await client.user(demo["李强"].telegram_id, "李强")
    await member.send("/relink")
    assert submitted in (await member.wait_reply()).text
