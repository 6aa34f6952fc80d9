"""`zhibu dues import` and `zhibu dues payments`: all or nothing, idempotent, every bad row
reported with its line, nothing stored for a bad file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import Settings
from bot.demo import DemoUser
from bot.dues.importing import import_dues_file
from bot.imports import ImportFailed
from bot.rules.dues import month_index
from storage.db import SessionFactory
from tests.support.bot import SECRET_KEY
from tests.support.dues import counts, in_force_total, ledger_rows, write_csv, write_xlsx

NOW = dt.datetime(2026, 11, 10, 2, tzinfo=dt.UTC)
STANDARDS = [
    ["王芳", "DEMO-B1", "20.00", "2026-08"],
    ["李强", "DEMO-B1", "12.5", "2026/08"],
    ["张伟", "DEMO-B1", "10", "2026年8月"],
    ["刘洋", "DEMO-B1", "0.50元", "2026-08"],
]


@pytest.fixture
def settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on the test database, the bot's clock at 2026-11-10 10:00 in Shanghai."""
    monkeypatch.setattr(Settings, "now", lambda self: NOW)
    return Settings(database_url=database_url, secret_key=SECRET_KEY)  # type: ignore[arg-type]


async def _import(settings: Settings, what: str, path: Path) -> str:
    return await import_dues_file(settings, what, path)


async def test_standards_import_from_utf8_gb18030_and_xlsx(
    settings: Settings, db: SessionFactory, demo: dict[str, DemoUser], tmp_path: Path
) -> None:
    header = ["姓名", "支部", "月缴纳额", "起始月份"]
    first = write_csv(tmp_path / "standards.csv", header, STANDARDS)
    assert await _import(settings, "standards", first) == (
        "dues standards: 4 created, 0 updated, 0 unchanged"
    )
    assert await _import(settings, "standards", first) == (
        "dues standards: 0 created, 0 updated, 4 unchanged"
    )
    changed = [["李强", "DEMO-B1", "15.00", "2026-08"], ["张伟", "DEMO-B1", "11", "2027-01"]]
    gbk = write_csv(tmp_path / "gbk.csv", header, changed, encoding="gb18030")
    assert await _import(settings, "standards", gbk) == (
        "dues standards: 1 created, 1 updated, 0 unchanged"
    )
    xlsx = write_xlsx(
        tmp_path / "s.xlsx",
        ["name", "branch", "monthly_amount", "from_month"],
        [["刘洋", "DEMO-B1", 0.8, dt.datetime(2026, 9, 1)]],
    )
    assert await _import(settings, "standards", xlsx) == (
        "dues standards: 1 created, 0 updated, 0 unchanged"
    )
    standards, _ = await ledger_rows(db)
    in_force = sorted(
        (s.person_id, s.from_month, s.amount_fen) for s in standards if not s.voided_at
    )
    assert [fen for _, _, fen in in_force] == [2000, 1500, 1000, 1100, 50, 80]


async def test_payments_are_split_per_month_and_importing_twice_changes_nothing(
    settings: Settings, db: SessionFactory, demo: dict[str, DemoUser], tmp_path: Path
) -> None:
    header = ["name", "branch", "monthly_amount", "from_month"]
    await _import(settings, "standards", write_csv(tmp_path / "s.csv", header, STANDARDS))
    payments = write_csv(
        tmp_path / "bank.csv",
        ["姓名", "支部", "缴费月份", "金额", "缴费日期"],
        [
            # Three months at once, prepaying one (November is the current month).
            ["李强", "DEMO-B1", "2026-10~2026-12", "37.50", "2026-11-02"],
            # More than the standard: the extra goes to the (first) month.
            ["王芳", "DEMO-B1", "2026-08", "25.00", ""],
            ["张伟", "DEMO-B1", "2026-08, 2026-09", "20", "2026/11/3"],
        ],
    )
    assert await _import(settings, "payments", payments) == (
        "dues payments: 6 created, 0 updated, 0 unchanged"
    )
    before = await counts(db)
    assert await _import(settings, "payments", payments) == (
        "dues payments: 0 created, 0 updated, 6 unchanged"
    )
    assert await counts(db) == before
    _, rows = await ledger_rows(db)
    assert sorted((p.month - month_index(2026, 1) + 1, p.amount_fen) for p in rows) == [
        (8, 1000),
        (8, 2500),
        (9, 1000),
        (10, 1250),
        (11, 1250),
        (12, 1250),
    ]
    assert await in_force_total(db) == 3750 + 2500 + 2000
    assert {p.source for p in rows} == {"import"}


async def test_a_bad_payments_file_reports_every_problem_and_stores_nothing(
    settings: Settings, db: SessionFactory, demo: dict[str, DemoUser], tmp_path: Path
) -> None:
    header = ["name", "branch", "monthly_amount", "from_month"]
    await _import(settings, "standards", write_csv(tmp_path / "s.csv", header, STANDARDS))
    await _import(
        settings,
        "payments",
        write_csv(
            tmp_path / "ok.csv",
            ["name", "branch", "month", "amount"],
            [["王芳", "DEMO-B1", "2026-09", "20.00"]],
        ),
    )
    before = await counts(db)
    bad = write_csv(
        tmp_path / "bad.csv",
        ["name", "branch", "months", "amount"],
        [
            ["李强", "DEMO-B1", "2026-09", "-12.50"],  # line 2: negative
            ["李强", "DEMO-B1", "2026-09", "twelve"],  # line 3: not a number
            ["李强", "DEMO-B1", "2027-12", "12.50"],  # line 4: beyond prepayment
            ["无此人", "DEMO-B1", "2026-09", "12.50"],  # line 5: not on the roster
            ["李强", "DEMO-B1", "2025-01", "12.50"],  # line 6: no standard then
            ["张伟", "DEMO-B1", "2026-08~2026-10", "5.00"],  # line 7: less than the standards
            ["刘洋", "DEMO-B1", "2026-09", "0.50"],  # line 8
            ["刘洋", "DEMO-B1", "2026-09", "0.50"],  # line 9: the same month again
            ["王芳", "DEMO-B1", "2026-09", "30.00"],  # line 10: recorded with another amount
            ["李强", "DEMO-B9", "2026-09", "12.50"],  # line 11: no such branch
            ["李强", "DEMO-B1", "Sept", "12.50"],  # line 12: not a month
        ],
    )
    with pytest.raises(ImportFailed) as failed:
        await _import(settings, "payments", bad)
    assert failed.value.problems == [
        "line 2: amount: '-12.50' is negative",
        "line 3: amount: 'twelve' is not an amount in yuan like 12.50",
        "line 4: months: 2027-12 is further ahead than members may prepay (12 months)",
        "line 5: name: 无此人 is not on the roster of DEMO-B1",
        "line 6: amount: no monthly standard covers 2025-01: import the standard first",
        "line 7: amount: 5.00 is less than the standards of those months (30.00)",
        "line 9: months: 2026-09 of 刘洋 is also on line 8",
        "line 10: months: 2026-09 of 王芳 is already recorded as 20.00: void that entry in the "
        "bot first",
        "line 11: branch: no node DEMO-B9 in the database",
        "line 12: months: 'Sept' is not a month like 2026-11, a range like 2026-01~2026-03 or a "
        "list",
    ]
    assert await counts(db) == before


async def test_a_bad_standards_file_stores_nothing(
    settings: Settings, db: SessionFactory, demo: dict[str, DemoUser], tmp_path: Path
) -> None:
    bad = write_csv(
        tmp_path / "bad.csv",
        ["name", "branch", "monthly_amount", "from_month"],
        [
            ["王芳", "DEMO-B1", "0", "2026-08"],
            ["李强", "DEMO-B1", "12.345", "2026-08"],
            ["张伟", "DEMO-B1", "10", "2028-01"],
            ["杨磊", "DEMO-B1", "10", "2026-08"],
            ["刘洋", "DEMO-B1", "1", "2026-08"],
            ["刘洋", "DEMO-B1", "2", "2026-08"],
        ],
    )
    before = await counts(db)
    with pytest.raises(ImportFailed) as failed:
        await _import(settings, "standards", bad)
    assert failed.value.problems == [
        "line 2: monthly_amount: '0' is zero",
        "line 3: monthly_amount: '12.345' has more than two decimals (fen)",
        "line 4: from_month: 2028-01 is more than 12 months ahead",
        "line 5: name: 杨磊 is not on the roster of DEMO-B1",
        "line 7: from_month: 刘洋 from 2026-08 is already on line 6",
    ]
    assert await counts(db) == before


def test_the_cli_imports_standards_and_payments(
    cli_env: str,
    demo: dict[str, DemoUser],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Settings, "now", lambda self: NOW)
    standards = write_csv(
        tmp_path / "s.csv", ["name", "branch", "monthly_amount", "from_month"], STANDARDS
    )
    assert main(["dues", "import", str(standards)]) == 0
    assert "dues standards: 4 created" in capsys.readouterr().out
    bad = write_csv(
        tmp_path / "p.csv",
        ["name", "branch", "month", "amount"],
        [["李强", "DEMO-B1", "2026-09", "-1"]],
    )
    assert main(["dues", "payments", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err and "line 2: amount: '-1' is negative" in err
    good = write_csv(
        tmp_path / "g.csv",
        ["name", "branch", "month", "amount"],
        [["李强", "DEMO-B1", "2026-09", "12.50"]],
    )
    assert main(["dues", "payments", str(good)]) == 0
    assert "dues payments: 1 created" in capsys.readouterr().out
    assert main(["dues", "day", "--org", "DEMO-B1", "--day", "15"]) == 0
    assert "DEMO-B1: dues are collected on day 15 of the month" in capsys.readouterr().out
    assert main(["dues", "day", "--org", "DEMO", "--day", "15"]) == 1
    assert main(["rules", "set", "--org", "DEMO-B1", "--rule", "dues", "--period", "quarter"]) == 0
    assert "dues: collected every quarter" in capsys.readouterr().out
    assert main(["rules", "set", "--org", "DEMO-B1", "--rule", "dues", "--period", "half"]) == 1
    assert main(["hours", "target", "--org", "DEMO", "--leaders", "60"]) == 0
    assert "60 class hours a year for secretaries" in capsys.readouterr().out
    assert main(["hours", "show", "--org", "DEMO-B1"]) == 0
    assert "60 class hours a year for secretaries and committee members, 32 for members" in (
        capsys.readouterr().out
    )
