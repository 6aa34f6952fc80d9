"""What the record book takes from the dues ledger and from meetings called with /meet: the
year's Party dues as totals only (per month and for the year, as the yearly account counts
them, and whether that account was published), and the time of day of a meeting's record."""

from __future__ import annotations

import datetime as dt

import pytest
from babel.dates import format_time
from docx.document import Document

from bot.book.document import render_book
from bot.book.gather import gather
from bot.book.model import BookFacts, Copy
from bot.demo import DemoUser
from bot.dues.account import publish_account
from bot.dues.ledger import record_payment, set_standard
from bot.enums import MeetingAudience
from bot.i18n import Translator
from bot.rules.dues import month_index
from storage import queries
from storage.db import SessionFactory
from storage.models_meetings import Meeting
from tests.support.activity import NOW, ORG_TZ, org_today
from tests.support.book import YEAR, SeededYear, all_text, headings, open_docx, seed_year
from tests.support.dues import branch, person

SEP, OCT, NOV = (month_index(YEAR, m) for m in (9, 10, 11))
STANDARDS = {"王芳": 2000, "李强": 1250}
# Who paid which month: 李强 owes September, and November is this month (not yet late).
PAID = {SEP: ("王芳",), OCT: ("王芳", "李强"), NOV: ("王芳",)}


async def _facts(db: SessionFactory, locale: str, code: str = "DEMO-B1") -> BookFacts:
    async with db() as session:
        unit = await queries.org_by_code(session, code)
        assert unit is not None
        [facts] = await gather(
            session, [unit], year=YEAR, today=org_today(), zone=ORG_TZ, locale=locale
        )
    return facts


def _member_copy(facts: BookFacts, locale: str) -> Document:
    return open_docx(render_book(facts, Copy(locale, "Asia/Shanghai", with_reasons=False)))


async def _ledger(db: SessionFactory) -> None:
    b1 = await branch(db, "DEMO-B1")
    async with db.begin() as session:
        for name, fen in STANDARDS.items():
            who = await person(db, name)
            await set_standard(session, person=who, from_month=SEP, fen=fen, actor=None, now=NOW)
        for month, names in PAID.items():
            for name in names:
                await record_payment(
                    session,
                    branch=b1,
                    person=await person(db, name),
                    month=month,
                    latest=NOV,
                    actor=None,
                    today=org_today(),
                )


def _dues_rows(document: Document, tr: Translator) -> list[list[str]]:
    [table] = [t for t in document.tables if t.rows[0].cells[0].text == tr._("Month")]
    return [[cell.text for cell in row.cells] for row in table.rows[1:]]


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
async def test_the_book_holds_the_years_dues_as_totals_only(
    db: SessionFactory, demo: dict[str, DemoUser], locale: str
) -> None:
    await seed_year(db, count=2)
    await _ledger(db)
    tr = Translator(locale)
    facts = await _facts(db, locale)
    document = _member_copy(facts, locale)
    assert headings(document, 1)[-1] == tr._("Party dues")
    months = {"zh_Hans": ("9月", "10月", "11月"), "en": ("Sep", "Oct", "Nov")}[locale]
    # From the first month with dues to this one; the members owing, who paid, the sums.
    assert _dues_rows(document, tr) == [
        [months[0], "2", "1", "32.50", "20.00"],
        [months[1], "2", "2", "32.50", "32.50"],
        [months[2], "2", "1", "32.50", "20.00"],
    ]
    assert facts.dues is not None
    text = all_text(document)
    assert (
        tr._(
            "The year: {amount} yuan collected for its months; members who paid: {payers} "
            "of {members}; months in arrears: {arrears}."
        ).format(amount="72.50", payers=2, members=facts.dues.members, arrears=1)
        in text
    )
    # Totals only, even in a member's copy: no one's own standard is shown.
    assert "12.50" not in text
    assert tr._("The yearly account has not been published to the members yet.") in text
    async with db.begin() as session:
        await publish_account(
            session, branch=await branch(db, "DEMO-B1"), year=YEAR, current=NOV, actor=None, now=NOW
        )
    text = all_text(_member_copy(await _facts(db, locale), locale))
    assert (
        tr._("The yearly account was published to the members on {date}.").format(
            date=tr.date(org_today())
        )
        in text
    )


async def test_a_branch_without_dues_says_so(db: SessionFactory, demo: dict[str, DemoUser]) -> None:
    await _ledger(db)
    tr = Translator("zh_Hans")
    facts = await _facts(db, "zh_Hans", "DEMO-B2")
    assert facts.dues is None
    text = all_text(_member_copy(facts, "zh_Hans"))
    assert tr._("No Party dues recorded for {year}.").format(year=YEAR) in text


def _first_record(document: Document, tr: Translator) -> dict[str, str]:
    # Table 0 is the roster; each activity's fields follow in date order.
    return {row.cells[0].text: row.cells[1].text for row in document.tables[1].rows}


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
async def test_a_meeting_called_with_meet_shows_its_time_of_day(
    db: SessionFactory, demo: dict[str, DemoUser], locale: str
) -> None:
    seeded: SeededYear = await seed_year(db, count=2)
    starts = dt.datetime.combine(seeded.days[0], dt.time(19, 30), ORG_TZ)
    async with db.begin() as session:
        session.add(
            Meeting(
                branch_id=seeded.branch_id,
                kinds=["general_meeting", "lecture"],
                starts_at=starts.astimezone(dt.UTC),
                place="党员活动室",
                agenda=seeded.topics[0],
                audience=MeetingAudience.BRANCH,
                activity_id=seeded.activity_ids[0],
            )
        )
    tr = Translator(locale)
    document = _member_copy(await _facts(db, locale), locale)
    time = format_time(dt.time(19, 30), "short", locale=tr.babel_locale)
    assert time == {"zh_Hans": "19:30", "en": time}[locale]
    first = _first_record(document, tr)
    assert first[tr._("Date")] == tr._("{date}, {time}").format(
        date=tr.date(seeded.days[0]), time=time
    )
    # An activity logged by hand, with no meeting behind it, has no time to show.
    second = {row.cells[0].text: row.cells[1].text for row in document.tables[2].rows}
    assert second[tr._("Date")] == tr.date(seeded.days[1])
