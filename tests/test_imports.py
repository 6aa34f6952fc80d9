"""Importing the organisation tree and rosters from CSV/XLSX: encodings, rules, all or nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.__main__ import main
from bot.config import Settings
from bot.enums import OrgKind, PersonStatus, Role
from bot.imports import (
    ExistingUnit,
    ImportFailed,
    Table,
    import_file,
    read_table,
    validate_org,
    validate_people,
)
from bot.rules.phones import looks_like_id_number
from storage import queries
from storage.db import SessionFactory, create_engine, session_factory
from storage.models import AuditEntry, OrgUnit, Person, RoleAssignment

ORG_HEADER = "code,parent,kind,name,name_en"
ORG_ROWS = [
    "C1,,committee,城关镇党委,Chengguan Committee",
    "GB1,C1,general_branch,机关党总支,",
    "B1,GB1,branch,第一党支部,First Branch",
    "B2,C1,branch,第二党支部,",
    "G1,B1,party_group,第一党小组,",
]
PEOPLE_HEADER = "name,branch,role,status,phone,joined_on"
PEOPLE_ROWS = [
    "王芳,B1,secretary,,138 0013 8000,2001-07-01",
    "李强,B1,deputy,流动,,2005/3/15",
    "张　三,B1,,失联,,2010年7月1日",
    "赵敏,B2,member,regular,+86 139-0000-0000,",
]


def csv_file(
    directory: Path,
    header: str,
    rows: list[str],
    *,
    name: str = "file.csv",
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    """Write a CSV file as a spreadsheet program would."""
    path = directory / name
    path.write_bytes(newline.join([header, *rows, ""]).encode(encoding))
    return path


def table_of(directory: Path, header: str, rows: list[str]) -> Table:
    """A Table read from CSV text."""
    return read_table(csv_file(directory, header, rows, name="table.csv"))


async def do_import(database_url: str, what: str, path: Path) -> str:
    """Run an import the way the CLI does."""
    return await import_file(Settings(database_url=database_url), what, path)


async def row_counts(db: SessionFactory) -> dict[str, int]:
    """Rows in the tables an import may write."""
    async with db() as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (OrgUnit, Person, RoleAssignment, AuditEntry)
        }


async def units_by_code(db: SessionFactory) -> dict[str, OrgUnit]:
    """Every node, by code."""
    async with db() as session:
        return {u.code: u for u in await session.scalars(select(OrgUnit))}


def assert_paths_consistent(units: dict[str, OrgUnit]) -> None:
    """Every materialised path is its parent's path plus its own id."""
    by_id = {u.id: u for u in units.values()}
    for unit in units.values():
        parent_path = by_id[unit.parent_id].path if unit.parent_id else "/"
        assert unit.path == f"{parent_path}{unit.id}/", unit.code


async def import_sample_org(database_url: str, tmp_path: Path) -> None:
    """The five-node sample tree."""
    await do_import(database_url, "org", csv_file(tmp_path, ORG_HEADER, ORG_ROWS, name="org.csv"))


# ---- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [("utf-8", "\n"), ("utf-8-sig", "\r\n"), ("gb18030", "\r\n"), ("utf-16", "\r\n")],
)
async def test_org_csv_in_every_encoding_spreadsheets_export(
    db: SessionFactory, database_url: str, tmp_path: Path, encoding: str, newline: str
) -> None:
    # Chinese headers too, as a Chinese-locale Excel or WPS template has them.
    header = "代码,上级,类型,名称,英文名称"
    path = csv_file(tmp_path, header, ORG_ROWS, encoding=encoding, newline=newline)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")

    summary = await do_import(database_url, "org", path)

    assert summary == "org: 5 created, 0 updated, 0 unchanged"
    units = await units_by_code(db)
    assert units["C1"].name == "城关镇党委"
    assert units["C1"].name_en == "Chengguan Committee"
    assert units["GB1"].name_en is None
    assert units["G1"].kind is OrgKind.PARTY_GROUP
    assert (
        units["G1"].path
        == f"/{units['C1'].id}/{units['GB1'].id}/{units['B1'].id}/{units['G1'].id}/"
    )
    assert_paths_consistent(units)


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimiters_are_detected(tmp_path: Path, delimiter: str) -> None:
    rows = [r.replace(",", delimiter) for r in ORG_ROWS]
    table = table_of(tmp_path, ORG_HEADER.replace(",", delimiter), rows)
    assert table.columns == ("code", "parent", "kind", "name", "name_en")
    assert table.rows[2]["name_en"] == "First Branch"


def test_rows_keep_the_line_number_the_editor_shows(tmp_path: Path) -> None:
    text = f'\n{ORG_HEADER}\nC1,,committee,"党委\n（第二行）",\n\n ,, ,\nB1,C1,branch,支部,\n'
    path = tmp_path / "org.csv"
    path.write_text(text, encoding="utf-8")

    table = read_table(path)

    assert table.header_line == 2
    assert [row.line for row in table.rows] == [3, 7]
    assert table.rows[0]["name"] == "党委\n（第二行）"


def test_headers_are_normalised(tmp_path: Path) -> None:
    table = table_of(
        tmp_path, " Code ,PARENT,Kind*,ｎａｍｅ,Name EN,序号", ["C1,,committee,党委,,1"]
    )
    assert table.columns == ("code", "parent", "kind", "name", "name_en", "序号")
    assert table.label("kind") == "Kind*"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("org.pdf", b"%PDF", "org.pdf: unsupported file type .pdf; use .csv or .xlsx"),
        ("org", b"code", "org: unsupported file type (none); use .csv or .xlsx"),
        ("org.xls", b"\xd0\xcf\x11\xe0", "org.xls: old .xls workbooks can't be read"),
        ("org.csv", b"", "org.csv: the file is empty"),
        ("org.csv", b"\r\n \r\n,,\r\n", "org.csv: the file is empty"),
        ("org.csv", b"code,parent,kind,name\r\n", "org.csv: no rows under the header on line 1"),
        ("org.csv", b"PK\x03\x04rest", "org.csv: this is an XLSX workbook, not text"),
        ("org.xlsx", b"not a zip", "org.xlsx: not a readable XLSX workbook"),
        ("org.csv", b"code,name\n\x81\x30\x81", "org.csv: not UTF-8 or GB18030 text"),
    ],
)
def test_unreadable_files_are_refused_clearly(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFailed) as failed:
        read_table(path)
    assert len(failed.value.problems) == 1
    assert failed.value.problems[0].startswith(expected)


def test_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as failed:
        read_table(tmp_path / "nowhere.csv")
    assert "cannot read the file" in failed.value.problems[0]


@pytest.mark.parametrize("header", ["id_card", "身份证", "身份证号", "ID Card No", "公民身份号码"])
async def test_id_card_column_refuses_the_file(
    db: SessionFactory, database_url: str, tmp_path: Path, header: str
) -> None:
    await import_sample_org(database_url, tmp_path)
    before = await row_counts(db)
    path = csv_file(
        tmp_path, f"{PEOPLE_HEADER},{header}", ["王芳,B1,secretary,,,,110105194912310029"]
    )

    with pytest.raises(ImportFailed) as failed:
        await do_import(database_url, "people", path)

    reason = "ID card numbers are never collected: delete this column and import again"
    assert failed.value.problems == [f"line 1: {header}: {reason}"]
    assert await row_counts(db) == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("110105194912310029", True),
        ("11010519491231002X", True),
        ("110105 19491231 002x", True),
        ("110105491231002", True),  # first-generation 15-digit card
        ("13800138000", False),
        ("008613800138000", False),  # 15 digits, but no birth date where a card has one
        ("+86 755 1234 5678", False),
    ],
)
def test_looks_like_id_number(value: str, expected: bool) -> None:
    assert looks_like_id_number(value) is expected


def test_duplicate_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as failed:
        table_of(tmp_path, "name,branch,姓名", ["王芳,B1,王芳"])
    assert failed.value.problems == ["line 1: 姓名: same column as 'name'"]


# ---- XLSX ----------------------------------------------------------------------------------


def xlsx_file(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    """A workbook whose first sheet holds the rows; another sheet is the active one."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "名单"
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("说明").append(["这一页不导入"])
    workbook.active = 1
    workbook.save(path)
    return path


async def test_xlsx_org_and_people(db: SessionFactory, database_url: str, tmp_path: Path) -> None:
    org = xlsx_file(
        tmp_path / "org.xlsx",
        [["代码", "上级", "类型", "名称", "英文名称"], *[r.split(",") for r in ORG_ROWS]],
    )
    people = xlsx_file(
        tmp_path / "people.xlsx",
        [
            ["序号", "姓名", "支部", "职务", "状态", "电话", "入党日期"],
            [1, "王芳", "B1", "书记", "正常", 13800138000, dt.datetime(2001, 7, 1)],
            [],
            [2, "李强", "B1", "副书记", "流动", None, dt.date(2005, 3, 15)],
        ],
    )

    assert await do_import(database_url, "org", org) == "org: 5 created, 0 updated, 0 unchanged"
    summary = await do_import(database_url, "people", people)

    assert summary == "people: 2 created, 0 updated, 0 unchanged (ignored columns: 序号)"
    async with db() as session:
        branch = await queries.org_by_code(session, "B1")
        assert branch is not None
        wang = await queries.person_in_branch(session, branch=branch, name="王芳")
        assert wang is not None
        assert wang.phone == "13800138000"
        assert wang.joined_on == dt.date(2001, 7, 1)
        li = await queries.person_in_branch(session, branch=branch, name="李强")
        assert li is not None
        assert li.status is PersonStatus.MOBILE
        assert [r.role for r in await queries.roles_of(session, li.id)] == [Role.DEPUTY]


async def test_xlsx_problems_use_spreadsheet_row_numbers(database_url: str, tmp_path: Path) -> None:
    path = xlsx_file(
        tmp_path / "org.xlsx",
        [
            ["code", "parent", "kind", "name"],
            ["C1", None, "committee", "党委"],
            [],
            ["B1", "C1", "x", "支部"],
        ],
    )
    with pytest.raises(ImportFailed) as failed:
        await do_import(database_url, "org", path)
    assert failed.value.problems == [
        "line 4: kind: 'x' is not one of committee, general_branch, branch, party_group"
    ]


# ---- the organisation tree -----------------------------------------------------------------


async def test_second_import_changes_nothing(
    db: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    org = csv_file(tmp_path, ORG_HEADER, ORG_ROWS, name="org.csv")
    people = csv_file(tmp_path, PEOPLE_HEADER, PEOPLE_ROWS, name="people.csv")
    assert await do_import(database_url, "org", org) == "org: 5 created, 0 updated, 0 unchanged"
    assert await do_import(database_url, "people", people) == (
        "people: 4 created, 0 updated, 0 unchanged"
    )
    after_first = await row_counts(db)
    paths_first = {c: u.path for c, u in (await units_by_code(db)).items()}

    assert await do_import(database_url, "org", org) == "org: 0 created, 0 updated, 5 unchanged"
    assert await do_import(database_url, "people", people) == (
        "people: 0 created, 0 updated, 4 unchanged"
    )

    assert await row_counts(db) == after_first
    assert after_first == {"org_units": 5, "people": 4, "role_assignments": 2, "audit_log": 2}
    assert {c: u.path for c, u in (await units_by_code(db)).items()} == paths_first
    async with db() as session:
        entries = await queries.audit_entries(session, action="org.import")
    assert [(e.actor_label, e.details) for e in entries] == [
        ("cli", {"created": 5, "updated": 0, "unchanged": 0, "file": "org.csv"})
    ]


async def test_a_file_with_bad_rows_imports_nothing(
    db: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    rows = [
        "C1,,committee,城关镇党委,",
        "X 1,C1,branch,坏代码,",
        "B1,C1,department,第一党支部,",
        "B2,C1,branch,,",
        "B3,C1,branch,第三党支部,",
    ]
    with pytest.raises(ImportFailed) as failed:
        await do_import(database_url, "org", csv_file(tmp_path, ORG_HEADER, rows))

    assert failed.value.problems == [
        "line 3: code: 'X 1' is not a code (ASCII letters, digits, - and _, at most 64)",
        "line 4: kind: 'department' is not one of committee, general_branch, branch, party_group",
        "line 5: name: is empty",
    ]
    assert await row_counts(db) == {
        "org_units": 0,
        "people": 0,
        "role_assignments": 0,
        "audit_log": 0,
    }


def test_missing_required_columns_are_all_named(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as failed:
        validate_org(table_of(tmp_path, "code,name", ["C1,党委"]), {})
    assert failed.value.problems == [
        "line 1: parent: required column is missing",
        "line 1: kind: required column is missing",
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["B1,,branch,支部"], "line 2: parent: a branch can't be at the top (allowed: "),
        (
            ["C1,,committee,党委", "G1,C1,party_group,小组"],
            "line 3: parent: a party_group can't be under C1, a committee (allowed: branch)",
        ),
        (
            ["C1,,committee,党委", "B1,C1,branch,支部", "GB1,B1,general_branch,总支"],
            "line 4: parent: a general_branch can't be under B1, a branch (allowed: committee)",
        ),
        (["C1,C9,committee,党委"], "line 2: parent: no node C9 in this file or the database"),
        (["C1,C1,committee,党委"], "line 2: parent: cycle: C1 → C1"),
        (
            ["C1,C2,committee,甲", "C2,C1,committee,乙"],
            "line 2: parent: cycle: C1 → C2 → C1",
        ),
        (
            ["C1,,committee,党委", "C1,,committee,又一个"],
            "line 3: code: C1 is already on line 2",
        ),
        (
            ["C1,,党委,城关镇党委", "GB1,C1,党总支,总支", "B1,GB1,党支部,支部", "G1,B1,党小组,组"],
            None,
        ),
        (["C1,,committee,党委", "C2,C1,committee,下级党委"], None),
    ],
)
def test_tree_rules(tmp_path: Path, rows: list[str], expected: str | None) -> None:
    table = table_of(tmp_path, "code,parent,kind,name", rows)
    if expected is None:
        assert len(validate_org(table, {})) == len(rows)
        return
    with pytest.raises(ImportFailed) as failed:
        validate_org(table, {})
    assert any(p.startswith(expected) for p in failed.value.problems), failed.value.problems


def test_cycle_reported_on_each_row_in_it(tmp_path: Path) -> None:
    table = table_of(
        tmp_path, "code,parent,kind,name", ["C1,C2,committee,甲", "C2,C1,committee,乙"]
    )
    with pytest.raises(ImportFailed) as failed:
        validate_org(table, {})
    assert failed.value.problems == [
        "line 2: parent: cycle: C1 → C2 → C1",
        "line 3: parent: cycle: C2 → C1 → C2",
    ]


def test_a_bad_parent_row_does_not_blame_its_children(tmp_path: Path) -> None:
    table = table_of(tmp_path, "code,parent,kind,name", ["C1,,committee,", "B1,C1,branch,支部"])
    with pytest.raises(ImportFailed) as failed:
        validate_org(table, {})
    assert failed.value.problems == ["line 2: name: is empty"]


def test_rules_see_the_existing_tree(tmp_path: Path) -> None:
    existing = {
        "A": ExistingUnit(OrgKind.COMMITTEE, None),
        "B": ExistingUnit(OrgKind.COMMITTEE, "A"),
        "BR": ExistingUnit(OrgKind.BRANCH, "B", people=3),
        "G": ExistingUnit(OrgKind.PARTY_GROUP, "BR"),
    }
    header = "code,parent,kind,name"
    assert [
        r.code
        for r in validate_org(table_of(tmp_path, header, ["N,BR,party_group,新组"]), existing)
    ] == ["N"]

    with pytest.raises(ImportFailed) as failed:
        validate_org(
            table_of(tmp_path, header, ["A,B,committee,甲", "BR,B,general_branch,改总支"]),
            existing,
        )
    assert failed.value.problems == [
        "line 2: parent: cycle: A → B → A",
        "line 3: kind: BR has 3 people on its roster, so it must stay a branch",
        "line 3: kind: G, a party_group, is under BR and can't be under a general_branch",
    ]


async def test_update_and_reparent_rewrites_the_subtree_paths(
    db: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    await import_sample_org(database_url, tmp_path)
    rows = [
        "C1,,committee,城关镇党委（新）,",  # new name; empty name_en keeps the English name
        "C2,,committee,新区党委,",
        "GB1,C2,general_branch,机关党总支,",  # moves with B1 and G1 below it
        "B1,GB1,branch,第一党支部,First Branch",
    ]
    summary = await do_import(database_url, "org", csv_file(tmp_path, ORG_HEADER, rows))

    assert summary == "org: 1 created, 2 updated, 1 unchanged"
    units = await units_by_code(db)
    assert units["C1"].name == "城关镇党委（新）"
    assert units["C1"].name_en == "Chengguan Committee"
    c2, gb1, b1, g1 = (units[c] for c in ("C2", "GB1", "B1", "G1"))
    assert gb1.parent_id == c2.id
    assert g1.path == f"/{c2.id}/{gb1.id}/{b1.id}/{g1.id}/"
    assert units["B2"].path == f"/{units['C1'].id}/{units['B2'].id}/"
    assert_paths_consistent(units)
    async with db() as session:
        under_c1 = await queries.subtree(session, units["C1"])
    assert [u.code for u in under_c1] == ["B2", "C1"]


async def test_a_node_can_move_under_its_former_child(
    db: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    header = "code,parent,kind,name"
    first = ["C1,,committee,甲", "C2,C1,committee,乙", "B1,C2,branch,支部", "B0,C1,branch,零"]
    await do_import(database_url, "org", csv_file(tmp_path, header, first))

    # The child is listed after its new child, so the order must come from the tree.
    swapped = ["C1,C2,committee,甲", "C2,,committee,乙"]
    summary = await do_import(database_url, "org", csv_file(tmp_path, header, swapped))

    assert summary == "org: 0 created, 2 updated, 0 unchanged"
    units = await units_by_code(db)
    c1, c2 = units["C1"], units["C2"]
    assert (c2.parent_id, c1.parent_id) == (None, c2.id)
    assert units["B0"].path == f"/{c2.id}/{c1.id}/{units['B0'].id}/"
    assert units["B1"].path == f"/{c2.id}/{units['B1'].id}/"
    assert_paths_consistent(units)


async def test_kind_change_of_an_existing_node(
    db: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    await import_sample_org(database_url, tmp_path)
    summary = await do_import(
        database_url, "org", csv_file(tmp_path, ORG_HEADER, ["B2,C1,general_branch,第二党总支,"])
    )
    assert summary == "org: 0 created, 1 updated, 0 unchanged"
    assert (await units_by_code(db))["B2"].kind is OrgKind.GENERAL_BRANCH


# ---- people --------------------------------------------------------------------------------


async def test_people_with_roles(db: SessionFactory, database_url: str, tmp_path: Path) -> None:
    await import_sample_org(database_url, tmp_path)
    path = csv_file(tmp_path, PEOPLE_HEADER, PEOPLE_ROWS, encoding="gb18030")

    summary = await do_import(database_url, "people", path)

    assert summary == "people: 4 created, 0 updated, 0 unchanged"
    async with db() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
        assert set(people) == {"王芳", "李强", "张三", "赵敏"}
        assert people["张三"].status is PersonStatus.LOST_CONTACT
        assert people["张三"].joined_on == dt.date(2010, 7, 1)
        assert people["李强"].joined_on == dt.date(2005, 3, 15)
        assert people["王芳"].status is PersonStatus.REGULAR
        assert people["赵敏"].phone == "+86 139-0000-0000"
        grants = {
            (people_id_name, a.org_unit.code, a.role)
            for people_id_name, person in people.items()
            for a in await queries.roles_of(session, person.id)
        }
        assert grants == {("王芳", "B1", Role.SECRETARY), ("李强", "B1", Role.DEPUTY)}
        entries = await queries.audit_entries(session, action="people.import")
    assert [e.details for e in entries] == [
        {"created": 4, "updated": 0, "unchanged": 0, "file": "file.csv"}
    ]


async def test_people_update_keeps_what_empty_cells_leave_out(
    db: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    await import_sample_org(database_url, tmp_path)
    await do_import(database_url, "people", csv_file(tmp_path, PEOPLE_HEADER, PEOPLE_ROWS))

    rows = [
        "王芳,B1,,,,",  # nothing new: keeps phone, date and the secretary role
        "李强,B1,secretary,regular,,",  # promoted (the deputy role stays) and back home
        "赵敏,B2,,,,",
        "钱伟,B2,,,,",
    ]
    summary = await do_import(database_url, "people", csv_file(tmp_path, PEOPLE_HEADER, rows))

    assert summary == "people: 1 created, 1 updated, 2 unchanged"
    async with db() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
        assert people["王芳"].phone == "138 0013 8000"
        assert people["王芳"].joined_on == dt.date(2001, 7, 1)
        assert people["李强"].status is PersonStatus.REGULAR
        assert [a.role for a in await queries.roles_of(session, people["李强"].id)] == [
            Role.DEPUTY,
            Role.SECRETARY,
        ]
        assert [a.role for a in await queries.roles_of(session, people["王芳"].id)] == [
            Role.SECRETARY
        ]
    # Only the two columns that matter: the rest may be left out entirely.
    again = csv_file(tmp_path, "姓名,支部", ["王芳,B1", "钱伟,B2"])
    assert await do_import(database_url, "people", again) == (
        "people: 0 created, 0 updated, 2 unchanged"
    )


TODAY = dt.date(2026, 11, 21)
ORG_KINDS = {"C1": OrgKind.COMMITTEE, "B1": OrgKind.BRANCH, "B2": OrgKind.BRANCH}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (",B1,,,,", "name: is empty"),
        ("王芳,C1,,,,", "branch: C1 is a committee, not a branch"),
        ("王芳,B9,,,,", "branch: no node B9 in the database (import the organisation first)"),
        ("王芳,,,,,", "branch: is empty"),
        ("王芳,B1,boss,,,", "role: 'boss' is not one of secretary, deputy, member"),
        ("王芳,B1,,gone,,", "status: 'gone' is not one of regular, mobile, lost_contact"),
        ("王芳,B1,,,1234,", "phone: '1234' is not a phone number"),
        ("王芳,B1,,,138x0013,", "phone: '138x0013' is not a phone number"),
        ("王芳,B1,,,110105194912310029,", "phone: looks like an ID card number"),
        ("王芳,B1,,,11010519491231002X,", "phone: looks like an ID card number"),
        ("110105194912310029,B1,,,,", "name: looks like an ID card number"),
        ("王芳,B1,,,,2001-02-30", "joined_on: '2001-02-30' is not a real date"),
        ("王芳,B1,,,,01/07/2001", "joined_on: '01/07/2001' is not a date like 2001-07-01"),
        ("王芳,B1,,,,2026-11-22", "joined_on: 2026-11-22 is in the future"),
        ("王芳,B1,,,,1900-01-01", "joined_on: 1900-01-01 is before the Party was founded"),
        ("王" * 51 + ",B1,,,,", "name: is 51 characters long (at most 50)"),
    ],
)
def test_people_rules(tmp_path: Path, row: str, expected: str) -> None:
    with pytest.raises(ImportFailed) as failed:
        validate_people(table_of(tmp_path, PEOPLE_HEADER, [row]), ORG_KINDS, today=TODAY)
    assert len(failed.value.problems) == 1
    assert failed.value.problems[0].startswith(f"line 2: {expected}"), failed.value.problems


def test_people_accepts_spreadsheet_spellings(tmp_path: Path) -> None:
    rows = [
        "王　芳,B1,支部书记,正常,010-6512 3456,2026-11-21",
        "Wang  Wei,B1,Deputy,Lost Contact,+8613800138000,2001.7.1",
        "李强,B1,党员,流动党员,,2001 年 7 月 1 日",
    ]
    people = validate_people(table_of(tmp_path, PEOPLE_HEADER, rows), ORG_KINDS, today=TODAY)
    assert [(p.name, p.role, p.status, p.joined_on) for p in people] == [
        ("王芳", Role.SECRETARY, PersonStatus.REGULAR, TODAY),
        ("Wang Wei", Role.DEPUTY, PersonStatus.LOST_CONTACT, dt.date(2001, 7, 1)),
        ("李强", Role.MEMBER, PersonStatus.MOBILE, dt.date(2001, 7, 1)),
    ]


def test_people_duplicates_within_the_file(tmp_path: Path) -> None:
    rows = [
        "王芳,B1,secretary,,,",
        "王　芳,B1,,,,",  # the same person, padded for alignment
        "王芳,B2,,,,",  # a namesake in another branch is someone else
        "李强,B1,secretary,,,",
    ]
    with pytest.raises(ImportFailed) as failed:
        validate_people(table_of(tmp_path, PEOPLE_HEADER, rows), ORG_KINDS, today=TODAY)
    assert failed.value.problems == [
        "line 3: name: 王芳 in B1 is already on line 2",
        "line 5: role: B1 already has secretary 王芳 on line 2",
    ]


async def test_people_file_with_bad_rows_imports_nothing(
    db: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    await import_sample_org(database_url, tmp_path)
    before = await row_counts(db)
    rows = [*PEOPLE_ROWS, "钱伟,C1,,,,", "孙丽,B1,,,110105194912310029,", "周杰,B2,,,,2099-01-01"]

    with pytest.raises(ImportFailed) as failed:
        await do_import(database_url, "people", csv_file(tmp_path, PEOPLE_HEADER, rows))

    assert [p.split(":")[0] for p in failed.value.problems] == ["line 6", "line 7", "line 8"]
    assert await row_counts(db) == before


async def test_branch_with_people_cannot_stop_being_a_branch(
    db: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    await import_sample_org(database_url, tmp_path)
    await do_import(database_url, "people", csv_file(tmp_path, PEOPLE_HEADER, PEOPLE_ROWS))
    with pytest.raises(ImportFailed) as failed:
        await do_import(
            database_url, "org", csv_file(tmp_path, ORG_HEADER, ["B2,C1,committee,改党委,"])
        )
    assert failed.value.problems == [
        "line 2: kind: B2 has 1 person on its roster, so it must stay a branch"
    ]


# ---- the command line ----------------------------------------------------------------------


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI at the test database and undo its logging set-up afterwards."""
    monkeypatch.setenv("ZHIBU_DATABASE_URL", database_url)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield database_url
    # main() points the root logger at the captured stderr, which is closed after the test.
    root.handlers[:] = handlers
    root.setLevel(level)


def test_cli_imports_and_prints_the_summary(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = csv_file(tmp_path, ORG_HEADER, ORG_ROWS)

    assert main(["org", "import", str(path)]) == 0
    assert capsys.readouterr().out == "org: 5 created, 0 updated, 0 unchanged\n"

    assert main(["org", "import", str(path)]) == 0
    assert capsys.readouterr().out == "org: 0 created, 0 updated, 5 unchanged\n"


def test_cli_lists_the_problems_and_imports_nothing(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["C1,,committee,党委,", "B1,C9,branch,支部,", "B2,C1,team,支部,"]
    path = csv_file(tmp_path, ORG_HEADER, rows)

    assert main(["org", "import", str(path)]) == 1

    err = capsys.readouterr().err
    assert f"zhibu: {path}: nothing was imported:\n" in err
    assert "  line 3: parent: no node C9 in this file or the database\n" in err
    assert "  line 4: kind: 'team' is not one of " in err
    assert asyncio.run(count_units(cli_env)) == 0


def test_cli_people_import(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["org", "import", str(csv_file(tmp_path, ORG_HEADER, ORG_ROWS))]) == 0
    people = csv_file(tmp_path, PEOPLE_HEADER, PEOPLE_ROWS, name="people.csv")
    assert main(["people", "import", str(people)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "people: 4 created, 0 updated, 0 unchanged"


async def count_units(database_url: str) -> int:
    """Nodes in the database, from a fresh engine (for the synchronous CLI tests)."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(OrgUnit)) or 0)
    finally:
        await engine.dispose()
