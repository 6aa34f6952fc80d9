"""Uploaded spreadsheets, checked before and while they are read (no Telegram here).

An upload is checked three times: before it is downloaded, by the size and type Telegram
reports (`check_document`); after, before any parser sees it, by what its ZIP directory says
it will unpack to (`check_xlsx_archive`: a few kilobytes that inflate to gigabytes are
refused); and while it is read, off the event loop, with caps on rows and columns
(`read_xlsx_rows`), so one admin's file can neither exhaust memory nor stall everyone's updates.
"""

from __future__ import annotations

import enum
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Final

XLSX_MIME: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What clients send for an .xlsx besides its own type (Telegram passes the client's word on).
_GENERIC_MIMES: Final = frozenset({"application/octet-stream", "application/zip"})
# Parts every XLSX has; a ZIP without them is not a workbook.
_XLSX_PARTS: Final = ("[Content_Types].xml", "xl/workbook.xml")


class UploadProblem(enum.StrEnum):
    """Why an upload was refused."""

    TOO_LARGE = "too_large"
    WRONG_TYPE = "wrong_type"
    NOT_XLSX = "not_xlsx"
    ZIP_BOMB = "zip_bomb"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_MANY_COLUMNS = "too_many_columns"


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How large an upload may be, as sent and once unpacked, and how much of it is read."""

    max_bytes: int = 2 * 1024 * 1024
    max_unpacked_bytes: int = 50 * 1024 * 1024
    # A sheet's XML compresses well, but not a thousandfold; members smaller than
    # `ratio_floor` unpacked are not judged by ratio (tiny files compress oddly).
    max_ratio: int = 200
    ratio_floor: int = 1024 * 1024
    max_members: int = 200
    max_rows: int = 20_000
    max_columns: int = 60


SPREADSHEET_LIMITS: Final = UploadLimits()


def check_document(
    *,
    file_name: str | None,
    mime_type: str | None,
    file_size: int | None,
    limits: UploadLimits = SPREADSHEET_LIMITS,
) -> UploadProblem | None:
    """Whether an XLSX upload may be downloaded, from what Telegram says about it."""
    if file_size is None or file_size > limits.max_bytes:
        # Telegram states every document's size; one without is not downloaded blind.
        return UploadProblem.TOO_LARGE
    if PurePosixPath(file_name or "").suffix.lower() != ".xlsx":
        return UploadProblem.WRONG_TYPE
    if mime_type and mime_type != XLSX_MIME and mime_type not in _GENERIC_MIMES:
        return UploadProblem.WRONG_TYPE
    return None


def check_xlsx_archive(
    data: bytes, limits: UploadLimits = SPREADSHEET_LIMITS
) -> UploadProblem | None:
    """Whether downloaded bytes are an XLSX that unpacks within the limits.

    Python's zipfile never inflates a member past the size its directory declares (a member
    that does fails its check), so judging the declared sizes is enough.
    """
    if len(data) > limits.max_bytes:
        return UploadProblem.TOO_LARGE
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return UploadProblem.NOT_XLSX
    names = {m.filename for m in members}
    if any(part not in names for part in _XLSX_PARTS):
        return UploadProblem.NOT_XLSX
    if len(members) > limits.max_members:
        return UploadProblem.ZIP_BOMB
    if sum(m.file_size for m in members) > limits.max_unpacked_bytes:
        return UploadProblem.ZIP_BOMB
    for member in members:
        if member.file_size > limits.ratio_floor and (
            member.compress_size == 0 or member.file_size / member.compress_size > limits.max_ratio
        ):
            return UploadProblem.ZIP_BOMB
    return None


@dataclass(frozen=True, slots=True)
class Sheet:
    """The first sheet's rows (values only), or why the file was refused."""

    rows: list[tuple[Any, ...]]
    problem: UploadProblem | None = None


def read_xlsx_rows(data: bytes, limits: UploadLimits = SPREADSHEET_LIMITS) -> Sheet:
    """The first sheet's rows of a checked XLSX, within the row and column caps.

    Blocking: call it through asyncio.to_thread from the bot.
    """
    problem = check_xlsx_archive(data, limits)
    if problem is not None:
        return Sheet([], problem)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that isn't a workbook
        return Sheet([], UploadProblem.NOT_XLSX)
    try:
        if not workbook.worksheets:
            return Sheet([])
        # One column past the cap is read, to tell a sheet that is too wide; a sheet claiming
        # to be wider is not padded out to its claim.
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(max_col=limits.max_columns + 1, values_only=True)
        return _capped_rows(rows, limits)
    except Exception:  # a damaged sheet fails while it is read
        return Sheet([], UploadProblem.NOT_XLSX)
    finally:
        workbook.close()


def _capped_rows(rows: Any, limits: UploadLimits) -> Sheet:
    kept: list[tuple[Any, ...]] = []
    for row in rows:
        if len(kept) >= limits.max_rows:
            return Sheet([], UploadProblem.TOO_MANY_ROWS)
        values: Sequence[Any] = row
        if any(v not in (None, "") for v in values[limits.max_columns :]):
            return Sheet([], UploadProblem.TOO_MANY_COLUMNS)
        kept.append(tuple(values[: limits.max_columns]))
    return Sheet(kept)
