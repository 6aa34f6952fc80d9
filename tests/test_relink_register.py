"""`zhibu register import FILE`: the lost-contact register, validated and all or nothing."""

import asyncio

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from bot.__main__ import main
from bot.config import Settings
from bot.enums import RequestType
from bot.imports import import_file
from bot.relink import identity, service
from bot.relink.register import import_register_file
from storage import queries
from storage.db import SessionFactory, create_engine, session_factory
from storage.models import Account
from storage.models_relink import LostContactEntry
from tests.support.relink import NOW, THROTTLE

ORG = (
    "code,parent,kind,name\nC1,,committee,街道党工委\n"
    "B1,C1,branch,第一支部\nB2,C1,branch,第二支部\n"
)
# On B1's roster (as a regular member: a roster's lost-contact members are already in the
# register, see test_a_roster_import_fills_the_register).
PEOPLE = "姓名,支部,状态\n黄小明,B1,正常\n"


def _entries(url: str) -> list[tuple[str, str | None, int | None, str | None, bool]]:
    async def read() -> list[LostContactEntry]:
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            rows = list(
                await session.scalars(select(LostContactEntry).order_by(LostContactEntry.id))
            )
        await engine.dispose()
        return rows

    return [
        (e.name, e.branch_code, e.join_year, e.phone, e.person_id is not None)
        for e in asyncio.run(read())
    ]


@pytest.fixture
def organisation(cli_env: str, tmp_path, capsys: pytest.CaptureFixture[str]) -> str:
    (tmp_path / "org.csv").write_text(ORG, encoding="utf-8")
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    assert main(["org", "import", str(tmp_path / "org.csv")]) == 0
    assert main(["people", "import", str(tmp_path / "people.csv")]) == 0
    capsys.readouterr()
    return cli_env


def test_csv_in_gb18030_with_chinese_headers(
    organisation: str, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "register.csv"
    path.write_bytes(
        (
            "姓名,原支部,入党日期,失联时间,手机号,备注\n"
            "黄小明,B1,2005年7月1日,2019-03-01,13800001111,外出务工\n"
            "何　大伟,B2,,,,\n"
            "林一,,2001/5/4,,,原单位撤销\n"
        ).encode("gb18030")
    )
    assert main(["register", "import", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "register: 3 created, 0 updated, 0 unchanged"
    assert _entries(organisation) == [
        ("黄小明", "B1", 2005, "13800001111", True),  # on B1's roster
        ("何大伟", "B2", None, None, False),
        ("林一", None, 2001, None, False),
    ]
    # Importing again updates by name and branch, never duplicates.
    path.write_text("姓名,原支部,入党年份\n黄小明,B1,2005\n何大伟,B2,1999\n", encoding="utf-8")
    assert main(["register", "import", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "register: 0 created, 1 updated, 1 unchanged"
    assert [row[2] for row in _entries(organisation)] == [2005, 1999, 2001]


def test_xlsx_is_read_too(organisation: str, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "branch", "join_year", "phone"])
    sheet.append(["周青", "B2", 2010, 13912345678])
    book.save(tmp_path / "register.xlsx")
    assert main(["register", "import", str(tmp_path / "register.xlsx")]) == 0
    assert _entries(organisation) == [("周青", "B2", 2010, "13912345678", False)]


def test_a_bad_file_imports_nothing_and_says_why(
    organisation: str, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "register.csv"
    path.write_text(
        "姓名,原支部,入党年份,入党日期\n"
        "黄小明,B1,2005,\n"
        ",B9,1900,\n"
        "黄小明,B1,,\n"
        "王五,C1,2004,2003-01-01\n",
        encoding="utf-8",
    )
    assert main(["register", "import", str(path)]) == 1
    errors = capsys.readouterr().err
    assert "nothing was imported" in errors
    for expected in (
        "line 3: 姓名: is empty",
        "line 3: 原支部: no node B9 in the database",
        "line 3: 入党年份: '1900' is not a year",
        "line 4: 姓名: 黄小明 in B1 is already on line 2",
        "line 5: 原支部: C1 is a committee, not a branch",
    ):
        assert expected in errors
    assert _entries(organisation) == []


def test_id_card_numbers_are_refused(
    organisation: str, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "register.csv"
    path.write_text("姓名,身份证号\n黄小明,110101199003074316\n", encoding="utf-8")
    assert main(["register", "import", str(path)]) == 1
    assert "ID card numbers are never collected" in capsys.readouterr().err
    assert _entries(organisation) == []


async def test_a_roster_import_fills_the_register_that_reconnect_matching_reads(
    db: SessionFactory, database_url: str, tmp_path
) -> None:
    settings = Settings(database_url=database_url)
    (tmp_path / "org.csv").write_text(ORG, encoding="utf-8")
    (tmp_path / "people.csv").write_text(
        "姓名,支部,状态,入党日期\n黄小明,B1,失联,2005-07-01\n何大伟,B1,正常,\n", encoding="utf-8"
    )
    await import_file(settings, "org", tmp_path / "org.csv")
    assert await import_file(settings, "people", tmp_path / "people.csv") == (
        "people: 2 created, 0 updated, 0 unchanged"
    )
    # The roster's lost-contact member is in the register, linked to their roster entry.
    assert await _stored(db) == [("黄小明", "B1", 2005, None, True)]
    # Importing the roster again, or the register naming the same member, adds no second row.
    await import_file(settings, "people", tmp_path / "people.csv")
    (tmp_path / "register.csv").write_text("姓名,原支部,手机号\n黄小明,B1,13800001111\n")
    assert await import_register_file(settings, tmp_path / "register.csv") == (
        "register: 0 created, 1 updated, 0 unchanged"
    )
    assert await _stored(db) == [("黄小明", "B1", 2005, "13800001111", True)]
    # A reconnect request to B1 under that name is offered that row.
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "B1")
        assert branch is not None
        account = Account(telegram_id=71001, telegram_language="zh-hans")
        session.add(account)
        await session.flush()
        outcome = await service.submit_request(
            session,
            account=account,
            new=service.NewRequest(
                type=RequestType.RECONNECT,
                name="黄小明",
                home_id=branch.id,
                receiving_id=None,
                join_year=2005,
            ),
            now=NOW,
            throttle=THROTTLE,
        )
        assert outcome.request is not None
        matches = await identity.register_matches(session, outcome.request)
        person = await queries.person_in_branch(session, branch=branch, name="黄小明")
    assert person is not None
    assert [(m.entry.name, m.entry.person_id) for m in matches] == [("黄小明", person.id)]


async def _stored(db: SessionFactory) -> list[tuple[str, str | None, int | None, str | None, bool]]:
    async with db() as session:
        entries = await session.scalars(select(LostContactEntry).order_by(LostContactEntry.id))
        return [
            (e.name, e.branch_code, e.join_year, e.phone, e.person_id is not None) for e in entries
        ]
