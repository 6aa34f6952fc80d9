"""The record book as a document: twenty activities of a branch's year gathered from the
database and written in Chinese and English, read back with python-docx (structure, every
activity, attendance, absence reasons only in a leader's copy), and rendered to PDF by
LibreOffice to check the pages and the Chinese text layer."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
from pathlib import Path

import pytest
from docx.oxml.ns import qn

from bot.book.document import render_book
from bot.book.gather import gather
from bot.book.model import BookFacts, Copy
from bot.demo import DemoUser
from bot.i18n import Translator
from storage import queries
from storage.db import SessionFactory
from tests.support.activity import ORG_TZ, org_today
from tests.support.book import (
    YEAR,
    SeededYear,
    all_text,
    headings,
    instructions,
    open_docx,
    photo_bytes,
    seed_year,
)
from tests.support.debian import unavailable


async def _facts(db: SessionFactory, locale: str, code: str = "DEMO-B1") -> BookFacts:
    async with db() as session:
        branch = await queries.org_by_code(session, code)
        assert branch is not None
        [facts] = await gather(
            session, [branch], year=YEAR, today=org_today(), zone=ORG_TZ, locale=locale
        )
    return facts


@pytest.fixture
async def year(db: SessionFactory, demo: dict[str, DemoUser]) -> SeededYear:
    return await seed_year(db, photo_ids=("p1", "p2", "p3"))


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
async def test_twenty_activities_in_date_order_with_attendance_and_reasons(
    db: SessionFactory, year: SeededYear, locale: str
) -> None:
    tr = Translator(locale)
    facts = await _facts(db, locale)
    copy = Copy(locale, "Asia/Shanghai", with_reasons=True, photos={"p1": photo_bytes()})
    document = open_docx(render_book(facts, copy))
    text = all_text(document)

    branch = "第一党支部" if locale == "zh_Hans" else "First Party Branch"
    [title] = [p.text for p in document.paragraphs if p.style.name == "Title"]
    assert title == branch
    assert tr._("Record book {year}").format(year=YEAR) in text
    assert tr._("Branch secretary: {names}").format(names="王芳") in text
    assert headings(document, 1) == [
        tr._("Branch and roster"),
        tr._("Activities"),
        tr._("The year's activity calendar"),
        tr._("Trainings attended during the year"),
        tr._("Classification and grading"),
        tr._("Rectification"),
        tr._("Party dues"),
    ]
    records = headings(document, 2)
    assert len(records) == 20
    # One record per activity, in date order, each with its topic.
    for heading, day in zip(records, year.days, strict=True):
        assert heading.startswith(tr.date(day)), heading
    for topic in year.topics:
        assert topic in text
    assert sum(tr._("{title} (void)").format(title="") in h for h in records) == 1
    assert tr._("{date} (logged late)").format(date=tr.date(year.days[4])) in text
    # Attendance: counts, the present named from the roster, absentees with their reasons.
    assert (
        tr._("{present} present out of {expected} expected").format(present=2, expected=4) in text
    )
    assert (
        tr._("{present} present out of {expected} expected").format(present=4, expected=4) in text
    )
    first = {row.cells[0].text: row.cells[1].text for row in document.tables[1].rows}
    assert first[tr._("Place")] == "党员活动室" and first[tr._("Topic")] == year.topics[0]
    assert first[tr._("Kind")] and first[tr._("Date")] == tr.date(year.days[0])
    present = first[tr._("Present")]
    assert "王芳" in present and "李强" in present and "张伟" not in present
    assert tr._("{name} ({reason})").format(name="张伟", reason=tr._("sick leave")) in text
    assert "王芳" in text and "李强" in text
    # Minutes, the document named, the photo embedded and the two others accounted for.
    assert "第二行：表决通过" in text and "计划.docx" in text
    assert len(document.inline_shapes) == 1
    assert tr._("Photo {number}").format(number=1) in text
    assert (
        tr._("Photo {number}: it could not be downloaded from Telegram.").format(number=2) in text
    )
    # The year's compliance, trainings, grading and rectification.
    assert "支部书记轮训班" in text
    assert tr._("ordinary") in text and "76.5" in text
    assert "主题党日不够规范" in text
    # Page numbers and a table of contents that word processors build from the headings.
    fields = instructions(document)
    assert "PAGE" in fields and "NUMPAGES" in fields and 'TOC \\o "1-2"' in fields
    settings = document.settings.element
    assert settings.find(qn("w:updateFields")).get(qn("w:val")) == "true"


async def test_east_asian_fonts_and_languages_are_set(db: SessionFactory, year: SeededYear) -> None:
    facts = await _facts(db, "zh_Hans")
    document = open_docx(render_book(facts, Copy("zh_Hans", "Asia/Shanghai", with_reasons=True)))
    for name, east_asian in (("Normal", "宋体"), ("Heading 1", "黑体"), ("Heading 2", "黑体")):
        fonts = document.styles[name].element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) == east_asian
        assert fonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would win over it
    lang = document.styles.element.find(qn("w:docDefaults")).find(".//" + qn("w:lang"))
    assert (lang.get(qn("w:val")), lang.get(qn("w:eastAsia"))) == ("zh-CN", "zh-CN")
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
async def test_a_copy_without_reasons_names_absentees_only(
    db: SessionFactory, year: SeededYear, locale: str
) -> None:
    tr = Translator(locale)
    facts = await _facts(db, locale)
    with_reasons = all_text(open_docx(render_book(facts, Copy(locale, "UTC", with_reasons=True))))
    without = all_text(open_docx(render_book(facts, Copy(locale, "UTC", with_reasons=False))))
    sick = tr._("sick leave")
    assert sick in with_reasons and sick not in without
    assert "张伟" in without  # the absentee is still named
    assert tr._("This copy names the reasons for absences") not in without


async def test_the_cli_copy_names_photos_instead_of_embedding_them(
    db: SessionFactory, year: SeededYear
) -> None:
    tr = Translator("en")
    facts = await _facts(db, "en")
    document = open_docx(render_book(facts, Copy("en", "UTC", with_reasons=True, photo_note="cli")))
    assert len(document.inline_shapes) == 0
    text = all_text(document)
    for number in (1, 2, 3):
        assert (
            tr._(
                "Photo {number}: photo not embedded (the command line has no bot to "
                "download it with); the book from /book in the bot includes it."
            ).format(number=number)
            in text
        )


async def test_typed_control_characters_do_not_break_the_document(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await seed_year(db, count=1)
    facts = await _facts(db, "zh_Hans")
    activity = facts.activities[0]
    odd = dataclasses.replace(activity, topic="议题\x0b\x01结束", minutes="a\x0cb")
    facts = dataclasses.replace(facts, activities=(odd,))
    text = all_text(open_docx(render_book(facts, Copy("zh_Hans", "UTC", with_reasons=True))))
    assert "议题结束" in text


def _tools() -> tuple[str, str, str]:
    found = tuple(shutil.which(name) for name in ("soffice", "pdfinfo", "pdftotext"))
    if None in found:
        unavailable(
            "LibreOffice or poppler-utils is not installed and could not be (the test command "
            "installs them as root: bash .ci/debian-packages render)"
        )
    return found  # type: ignore[return-value]


async def _run(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, (command, err.decode(errors="replace"))
    return out.decode()


async def test_libreoffice_renders_the_chinese_book_to_pdf_with_a_text_layer(
    db: SessionFactory, year: SeededYear
) -> None:
    soffice, pdfinfo, pdftotext = _tools()
    facts = await _facts(db, "zh_Hans")
    copy = Copy("zh_Hans", "Asia/Shanghai", with_reasons=True, photos={"p1": photo_bytes()})
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "book.docx").write_bytes(render_book(facts, copy))
        await _run(
            soffice,
            f"-env:UserInstallation=file://{work / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(work / "book.docx"),
        )
        info = await _run(pdfinfo, str(work / "book.pdf"))
        text = await _run(pdftotext, "-layout", str(work / "book.pdf"), "-")
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    # Cover, contents, roster, twenty records each from a new page, the year's calendar.
    assert 24 <= pages <= 40, pages
    squeezed = text.replace(" ", "")
    footer = Translator("zh_Hans")._("Page {page} of {pages}").format(page=pages, pages=pages)
    assert footer.replace(" ", "") in squeezed  # the PAGE and NUMPAGES fields were computed
    for chinese in ("第一党支部", "支部党员大会", "学习党章第20次", "病假", "主题党日不够规范"):
        assert chinese in squeezed, chinese
