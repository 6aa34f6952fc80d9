"""/book through the fake Bot API: a secretary's book with the photos the bot downloads, a
deputy of two branches choosing, an admin's picker, subtree ZIP and spot check (audited), and
members, strangers and another committee's admin who get no book (forged buttons: the
project-wide test, tests/forged/book.py)."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import select

from bot.app import ZhibuApp
from bot.book import build
from bot.demo import DemoUser
from bot.enums import OrgKind, Role
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeTelegramServer
from bot.i18n import Translator
from handlers import book as book_handlers
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, AuditEntry, Person
from tests.support.activity import as_user, pin_clock
from tests.support.book import YEAR, all_text, headings, open_docx, photo_bytes, seed_year

REFUSED_ZH = "未做任何更改"
# Builds run in worker processes that start on first use: allow for a loaded machine.
BUILD_WAIT = 90.0


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_clock(monkeypatch)


async def _photos(bot: ZhibuApp, client: FakeTelegramClient, count: int) -> tuple[str, ...]:
    """Photos Telegram holds (the bot sent them to someone), as activity attachments store."""
    keeper = await client.user(777001, "Keeper", language_code="en")
    ids = []
    for number in range(count):
        sent = await bot.bot.send_photo(keeper.chat_id, photo_bytes((40 * number % 255, 90, 30)))
        ids.append(sent.photo[-1].file_id)
    return tuple(ids)


async def _sibling_admin(db: SessionFactory) -> int:
    """A second committee beside the demo one, with its own admin; their Telegram id."""
    async with db.begin() as session:
        other = await queries.add_org_unit(
            session, code="OTHER", kind=OrgKind.COMMITTEE, name="另一党委", name_en="Other"
        )
        await queries.add_org_unit(
            session, code="OTHER-B1", kind=OrgKind.BRANCH, name="另一支部", parent=other
        )
        admin = Person(name="外委书记", branch_id=None)
        session.add(admin)
        await session.flush()
        await queries.grant_role(session, person=admin, org_unit=other, role=Role.ADMIN)
        session.add(Account(telegram_id=990001, person_id=admin.id, telegram_language="en"))
    return 990001


async def _audit(db: SessionFactory) -> list[AuditEntry]:
    async with db() as session:
        return list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.startswith("book."))
                .order_by(AuditEntry.id)
            )
        )


async def _branch_id(db: SessionFactory, code: str) -> int:
    async with db() as session:
        unit = await queries.org_by_code(session, code)
        assert unit is not None
        return unit.id


async def test_the_secretary_gets_the_branch_book_with_photos_and_reasons(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    photo_ids = await _photos(bot, client, 3)
    await seed_year(db, photo_ids=photo_ids)
    monkeypatch.setattr(book_handlers, "LONG_BOOK_PHOTOS", 3)
    secretary = await as_user(client, demo, "王芳", "zh-hans")
    tr = Translator("zh_Hans")
    await secretary.send(f"/book {YEAR}")
    progress = await secretary.wait_reply(timeout=BUILD_WAIT)
    assert "20" in progress.text and "3" in progress.text  # activities and photos, in Chinese
    sent = await secretary.wait_reply(timeout=BUILD_WAIT)
    assert sent.document is not None and sent.document.filename == f"DEMO-B1-{YEAR}.docx"
    await secretary.wait_deleted()  # the progress message goes once the book is there
    document = open_docx(sent.document.data)
    assert len(headings(document, 2)) == 20
    assert len(document.inline_shapes) == 3  # downloaded through the bot and embedded
    text = all_text(document)
    assert tr._("{name} ({reason})").format(name="张伟", reason=tr._("sick leave")) in text
    # The dues section closes the book (no standards recorded in this branch's ledger).
    assert headings(document, 1)[-1] == tr._("Party dues")
    assert tr._("No Party dues recorded for {year}.").format(year=YEAR) in text
    assert telegram.method_calls["sendchataction"] >= 1  # "sending a file" while waiting
    [entry] = await _audit(db)
    assert (entry.action, entry.details) == ("book.issued", {"year": YEAR})
    assert entry.org_unit_id == await _branch_id(db, "DEMO-B1")


async def test_a_deputy_of_two_branches_chooses_and_other_years_are_checked(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await seed_year(db, count=2)
    async with db.begin() as session:
        person = await session.scalar(select(Person).where(Person.name == "杨磊"))
        b1 = await queries.org_by_code(session, "DEMO-B1")
        b2 = await queries.org_by_code(session, "DEMO-B2")
        assert person is not None and b1 is not None and b2 is not None
        await queries.grant_role(session, person=person, org_unit=b1, role=Role.DEPUTY)
        await queries.grant_role(session, person=person, org_unit=b2, role=Role.DEPUTY)
    deputy = await as_user(client, demo, "杨磊", "en")
    await deputy.send("/book 1999")
    assert "2000" in (await deputy.wait_reply()).text  # the years books exist for
    await deputy.send("/book")
    choice = await deputy.wait_reply()
    assert choice.button_texts == ["DEMO-B1 First Party Branch", "DEMO-B2 Second Party Branch"]
    await deputy.press(choice, "DEMO-B1 First Party Branch")
    sent = await deputy.wait_reply(timeout=BUILD_WAIT)
    assert sent.document is not None
    assert "sick leave" in all_text(open_docx(sent.document.data))  # a leader's copy
    # A year past this one, forged into the same button, is refused.
    forged = await deputy.press_data(choice, f"bk:b:{b1.id}:{YEAR + 1}")
    assert "2026" in str((await deputy.callback_answer(forged))["text"])


async def test_the_admin_picks_searches_and_pages_through_the_subtree(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        committee = await queries.org_by_code(session, "DEMO")
        for number in range(1, 11):
            await queries.add_org_unit(
                session,
                code=f"DEMO-X{number:02d}",
                kind=OrgKind.BRANCH,
                name=f"新建第{number}支部",
                parent=committee,
            )
    admin = await client.user(demo["林书记"].telegram_id, "林书记", language_code="en")
    await admin.send(f"/book {YEAR}")
    picker = await admin.wait_reply()
    assert "13 branches" in picker.text and "page 1 of 2" in picker.text
    assert picker.button_texts[:2] == ["DEMO-B1 First Party Branch", "DEMO-B2 Second Party Branch"]
    assert "All of Demo Sub-district Committee: 13 books (ZIP)" in picker.button_texts
    await admin.press(picker, "›")
    second = await admin.wait_edit()
    assert "DEMO-X06 新建第6支部" in second.button_texts and "page 2 of 2" in second.text
    await admin.send(f"/book {YEAR} 机关")
    found = await admin.wait_reply()
    assert "1 branch matches" in found.text
    await admin.press(found, "DEMO-B3 Office Party Branch")
    sent = await admin.wait_reply(timeout=BUILD_WAIT)
    assert sent.document is not None and sent.document.filename == f"DEMO-B3-{YEAR}.docx"
    assert [e.action for e in await _audit(db)] == ["book.issued"]


async def _zip_names(message: FakeMessage) -> list[str]:
    assert message.document is not None
    with zipfile.ZipFile(io.BytesIO(message.document.data)) as archive:
        names = archive.namelist()
        for name in names:
            open_docx(archive.read(name))
    return names


async def test_the_admin_gets_the_subtree_as_one_zip_and_a_spot_check(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One branch a round, and every round's progress shown.
    monkeypatch.setattr(build, "CHUNK", 1)
    monkeypatch.setattr(book_handlers, "PROGRESS_SECONDS", 0)
    photo_ids = await _photos(bot, client, 1)
    await seed_year(db, count=3, photo_ids=photo_ids)
    admin = await client.user(demo["林书记"].telegram_id, "林书记", language_code="en")
    await admin.send(f"/book {YEAR}")
    picker = await admin.wait_reply()
    await admin.press(picker, "All of Demo Sub-district Committee: 3 books (ZIP)")
    progress = await admin.wait_reply(timeout=BUILD_WAIT)
    assert "0 of 3 record books written" in progress.text
    for done in (1, 2, 3):
        edited = await admin.wait_edit(timeout=BUILD_WAIT)
        assert f"{done} of 3 record books written" in edited.text
    archive = await admin.wait_reply(timeout=BUILD_WAIT)
    assert archive.document is not None and archive.document.filename == f"books-DEMO-{YEAR}.zip"
    assert sorted(await _zip_names(archive)) == [
        f"DEMO-B1 First Party Branch {YEAR}.docx",
        f"DEMO-B2 Second Party Branch {YEAR}.docx",
        f"DEMO-B3 Office Party Branch {YEAR}.docx",
    ]
    done = await admin.wait_edit()
    assert "all 3 record books written" in done.text
    await admin.press(picker, "Spot check: 3 at random")
    await admin.wait_reply(timeout=BUILD_WAIT)
    sample = await admin.wait_reply(timeout=BUILD_WAIT)
    assert len(await _zip_names(sample)) == 3
    assert sample.document is not None
    with zipfile.ZipFile(io.BytesIO(sample.document.data)) as files:
        b1 = open_docx(files.read(f"DEMO-B1 First Party Branch {YEAR}.docx"))
    assert len(b1.inline_shapes) == 1  # a spot check embeds the photos
    subtree, spot = await _audit(db)
    ids = sorted([await _branch_id(db, f"DEMO-B{n}") for n in (1, 2, 3)])
    assert (subtree.action, subtree.details) == ("book.subtree", {"year": YEAR, "branches": 3})
    assert (spot.action, spot.details) == (
        "book.spot_check",
        {"year": YEAR, "size": 3, "branches": ids},
    )


async def test_members_and_strangers_get_no_book_and_an_admin_only_their_subtree(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    """Forged buttons are pressed by tests/forged/book.py; here, the command itself."""
    await seed_year(db, count=2)
    sibling_id = await _sibling_admin(db)
    member = await as_user(client, demo, "李强", "zh-hans")
    stranger = await client.user(424242, "Stranger", language_code="en")
    sibling = await client.user(sibling_id, "外委书记", language_code="en")
    await member.send("/book")
    assert REFUSED_ZH in (await member.wait_reply()).text
    await stranger.send(f"/book {YEAR}")
    assert "not registered" in (await stranger.wait_reply()).text
    await sibling.send(f"/book {YEAR}")
    picker = await sibling.wait_reply()
    assert picker.button_texts[0] == "OTHER-B1 另一支部"
    assert not any("DEMO" in label for label in picker.button_texts)
    await sibling.send(f"/book {YEAR} 第一")  # a search stays inside their own subtree
    assert not any("DEMO" in label for label in (await sibling.wait_reply()).button_texts)
    for user in (member, stranger, sibling):
        assert not [m for m in await user.messages() if m.document is not None], user
    assert await _audit(db) == []
