"""Uploaded spreadsheets: size and type checked before download, zip bombs refused, reading
capped; the superior's scores upload refuses each without importing anything."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from openpyxl import Workbook

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.fake_telegram.client import FakeUser
from bot.uploads import (
    XLSX_MIME,
    UploadLimits,
    UploadProblem,
    check_document,
    check_xlsx_archive,
    read_xlsx_rows,
)
from handlers.grading_buttons import ImportSuperior
from storage.db import SessionFactory
from tests.support import grading


def _workbook(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _zip_bomb(unpacked: int) -> bytes:
    """A ZIP with the parts of an XLSX and a sheet that inflates from a few kB to `unpacked`
    bytes."""
    workbook = zipfile.ZipFile(io.BytesIO(_workbook([["code"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in workbook.namelist():
            archive.writestr(name, workbook.read(name))
        with archive.open("xl/worksheets/sheet2.xml", "w") as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(unpacked >> 20):
                member.write(chunk)
    return buffer.getvalue()


def _judged(
    name: str = "scores.XLSX", mime: str | None = XLSX_MIME, size: int | None = 10_000
) -> UploadProblem | None:
    return check_document(file_name=name, mime_type=mime, file_size=size)


def test_a_document_is_judged_by_its_size_and_type_before_download() -> None:
    assert _judged() is None
    assert _judged(mime="application/octet-stream") is None
    assert _judged(size=3 << 20) is UploadProblem.TOO_LARGE
    assert _judged(size=None) is UploadProblem.TOO_LARGE
    assert _judged(name="scores.csv") is UploadProblem.WRONG_TYPE
    assert _judged(mime="application/pdf") is UploadProblem.WRONG_TYPE


def test_an_archive_is_judged_by_what_it_unpacks_to() -> None:
    assert check_xlsx_archive(_workbook([["code", "total"], ["B1", 90]])) is None
    assert check_xlsx_archive(b"code,total\nB1,90\n") is UploadProblem.NOT_XLSX
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert check_xlsx_archive(plain_zip.getvalue()) is UploadProblem.NOT_XLSX
    # Far more unpacked than the whole limit, or one member inflating a thousandfold.
    assert check_xlsx_archive(_zip_bomb(8 << 20), UploadLimits(max_unpacked_bytes=4 << 20)) is (
        UploadProblem.ZIP_BOMB
    )
    assert check_xlsx_archive(_zip_bomb(8 << 20)) is UploadProblem.ZIP_BOMB


def test_reading_is_capped_in_rows_and_columns() -> None:
    limits = UploadLimits(max_rows=3, max_columns=2)
    assert read_xlsx_rows(_workbook([["code", "total"], ["B1", 90]]), limits).rows == [
        ("code", "total"),
        ("B1", 90),
    ]
    too_long = _workbook([["code", "total"]] + [["B", 1]] * 3)
    assert read_xlsx_rows(too_long, limits).problem is UploadProblem.TOO_MANY_ROWS
    too_wide = _workbook([["code", "total", "extra"]])
    assert read_xlsx_rows(too_wide, limits).problem is UploadProblem.TOO_MANY_COLUMNS


async def _asked_for_the_file(admin: FakeUser, campaign_id: int) -> None:
    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press_data(menu, ImportSuperior(campaign_id).data)
    assert "Send an XLSX file" in (await admin.wait_reply()).text


# The fake client posts the 2 MiB file as one JSON body, which aiohttp warns about; the bot's
# side never sees the warning.
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
async def test_the_superior_upload_refuses_large_disguised_and_bombed_files(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    campaign_id = await grading.start_campaign(db)
    admin = await client.user(demo["林书记"].telegram_id, "林书记", language_code="en")
    await _asked_for_the_file(admin, campaign_id)
    downloads = telegram.method_calls["getfile"]
    # A real file past the limit is refused from what Telegram says, never downloaded.
    await admin.send_document(os.urandom((2 << 20) + 1), "scores.xlsx")
    assert "too large" in (await admin.wait_reply()).text
    assert telegram.method_calls["getfile"] == downloads
    # A CSV renamed .xlsx, and a ZIP bomb dressed as a workbook.
    await admin.send_document(b"code,total\nDEMO-B1,90\n", "scores.xlsx")
    assert "not an XLSX file" in (await admin.wait_reply()).text
    await admin.send_document(_zip_bomb(16 << 20), "scores.xlsx")
    assert "unpacks to far more" in (await admin.wait_reply()).text
    assert (await grading.assessment(db, campaign_id, "DEMO-B1")).superior is None
    # Still waiting for the file: a good one is imported.
    await admin.send_document(
        _workbook([["code", "total"], ["DEMO-B1", 90]]), "scores.xlsx", mime_type=XLSX_MIME
    )
    assert "Imported the superior's scores of 1 branch." in (await admin.wait_reply()).text
    assert (await grading.assessment(db, campaign_id, "DEMO-B1")).superior == {"total": 90}
