"""The one XLSX writer: what users typed is never a formula in the bot's spreadsheets."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl

from bot.enums import NoticeAudience, RequestState, RequestType
from bot.i18n import Translator
from bot.relink.report import Labels, RelinkReport, ReportRow, report_xlsx
from bot.xlsx import BarChart, Sheet, book_bytes, sheet_bytes, workbook_bytes
from handlers.notice_report import workbook
from storage.models_notices import Notice, NoticeText
from storage.notice_reports import NoticeCounts

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tX", "\rY", "=1+1"]


def _cells(data: bytes) -> list[openpyxl.cell.cell.Cell]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _assert_text(data: bytes) -> None:
    cells = _cells(data)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    found = {c.value: c for c in cells if c.value in HOSTILE}
    assert set(found) == set(HOSTILE)
    for value, cell in found.items():
        assert cell.data_type == "s", value
        assert cell.quotePrefix, value  # editing it in Excel or WPS keeps it text


def test_every_entry_point_writes_formula_like_values_as_text() -> None:
    rows = [[value, len(value)] for value in HOSTILE]
    _assert_text(workbook_bytes("Compliance", ["Branch", "n"], rows))
    _assert_text(sheet_bytes("grading", ["Branch", "n"], rows))
    _assert_text(book_bytes([Sheet("a", ["x", "n"], rows), Sheet("b", HOSTILE, [])]))


def test_numbers_stay_numbers_and_ordinary_text_has_no_prefix() -> None:
    data = workbook_bytes("T", ["name", "score", "delta"], [["王芳", 95.5, -2], ["a-b", 0, 1]])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert list(sheet.values) == [("name", "score", "delta"), ("王芳", 95.5, -2), ("a-b", 0, 1)]
    assert sheet["C2"].data_type == "n" and not sheet["A2"].quotePrefix
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 10


def test_exact_amounts_are_numbers_written_as_they_are() -> None:
    amounts = [Decimal("12.50"), Decimal("0.01"), Decimal(1000).scaleb(-2), Decimal("75.0")]
    data = workbook_bytes("Dues", ["yuan"], [[amount] for amount in amounts])
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read("xl/worksheets/sheet1.xml").decode()
    assert [f"<v>{text}</v>" in xml for text in ("12.50", "0.01", "10.00", "75.0")] == [True] * 4
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [(c.value, c.data_type) for (c,) in sheet.iter_rows(min_row=2)] == [
        (12.5, "n"),
        (0.01, "n"),
        (10, "n"),
        (75, "n"),
    ]


def test_the_relink_report_writes_names_as_text_and_keeps_its_chart() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    rows = [
        ReportRow(
            id=n,
            type=RequestType.RECONNECT,
            state=RequestState.SUBMITTED,
            name=name,
            phone_masked="138****0000",
            home="B1",
            other="",
            submitted_at=now,
            age_days=3,
        )
        for n, name in enumerate(HOSTILE, start=1)
    ]
    labels = Labels(
        sheets=["Requests", "By state and age", "Overdue", "Relinked"],
        request_header=[f"h{i}" for i in range(12)],
        state_header="State",
        total_header="Total",
        types={t: t.value for t in RequestType},
        states={s: s.value for s in RequestState},
    )
    data = report_xlsx(RelinkReport(year=2026, rows=rows), labels, "Asia/Shanghai")
    _assert_text(data)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == labels.sheets
    assert book["By state and age"]._charts
    ages = list(book["By state and age"].values)
    assert ages[0][0] == "State" and ages[0][-1] == "Total"


def test_the_notice_report_writes_texts_as_text() -> None:
    sent_at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    counts = NoticeCounts(
        recipients=1, pending=0, sent=1, failed=0, unreachable=0, cancelled=0, acknowledged=0
    )
    notices = [
        (
            Notice(
                id=n,
                audience=NoticeAudience.EVERYONE,
                primary_locale="en",
                require_ack=True,
                send_at=sent_at,
                texts=[NoticeText(locale="en", body=text)],
            ),
            counts,
        )
        for n, text in enumerate(HOSTILE, start=1)
    ]
    _assert_text(workbook(Translator("en"), notices, [], {}))


def test_a_chart_is_read_back_with_its_references() -> None:
    chart = BarChart("Ages", 1, 3, 1, 3, horizontal=True, stacked=True)
    data = book_bytes(
        [Sheet("It's", ["state", "0-7", "8-30"], [["a", 1, 2], ["b", 3, 4]], chart=chart)]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(data))["It's"]
    (read,) = sheet._charts
    assert read.type == "bar" and read.grouping == "stacked"
    assert [s.val.numRef.f for s in read.series] == ["'It''s'!$B$2:$B$3", "'It''s'!$C$2:$C$3"]


def test_no_module_writes_xlsx_any_other_way() -> None:
    writers = [
        path.relative_to(ROOT).as_posix()
        for package in ("bot", "handlers", "storage")
        for path in (ROOT / package).rglob("*.py")
        if "from openpyxl import Workbook" in path.read_text(encoding="utf-8")
        or "openpyxl.Workbook(" in path.read_text(encoding="utf-8")
    ]
    assert writers == []
