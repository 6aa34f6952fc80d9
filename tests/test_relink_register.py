"""`zhibu register import FILE`: the lost-contact register, validated and all or nothing."""

import asyncio

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from bot.__main__ import main
from storage.db import create_engine, session_factory
from storage.models_relink import LostContactEntry

ORG = (
    "code,parent,kind,name\nC1,,committee,街道党工委\n"
    "B1,C1,branch,第一支部\nB2,C1,branch,第二支部\n"
)
PEOPLE = "姓名,支部,状态\n黄小明,B1,失联\n"


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
        ("黄小明", "B1", 2005, "13800001111", True),  # on B1's roster as lost contact
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
