"""Reading an import file: any CSV or XLSX into rows with the line numbers the user sees."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.imports.problems import ImportFailed, Problem

# Headers as Chinese spreadsheets usually have them, after normalise_header().
HEADER_ALIASES: Mapping[str, str] = {
    "代码": "code",
    "编码": "code",
    "组织代码": "code",
    "上级": "parent",
    "上级代码": "parent",
    "类型": "kind",
    "类别": "kind",
    "名称": "name",
    "组织名称": "name",
    "英文名称": "name_en",
    "英文名": "name_en",
    "姓名": "name",
    "支部": "branch",
    "所在支部": "branch",
    "支部代码": "branch",
    "职务": "role",
    "状态": "status",
    "电话": "phone",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "联系电话": "phone",
    "入党日期": "joined_on",
    "入党时间": "joined_on",
}

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")

# We never collect ID card numbers (domain.md), so a column that holds them refuses the file
# rather than being silently ignored: the person importing learns not to circulate it.
# sfz/sfzh is the pinyin abbreviation common in Chinese systems' exports.
_ID_COLUMN_RE = re.compile(
    r"身份证|身份號|公民身份|证件号|^sfzh?(hm)?$|^id_?(card|no|num|number)|^identity|^citizen_id"
)


@dataclass(frozen=True)
class Row:
    """One non-blank data row: its line as the user sees it and its cells by column."""

    line: int
    cells: Mapping[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass(frozen=True)
class Table:
    """A file's header and data rows; cells are stripped text, "" when empty."""

    source: str
    header_line: int
    # Canonical column name -> the header as written in the file, in file order.
    labels: Mapping[str, str]
    rows: tuple[Row, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Canonical column names in file order."""
        return tuple(self.labels)

    def label(self, column: str) -> str:
        """The header as the user wrote it (canonical name for a missing column)."""
        return self.labels.get(column, column)


def normalise_header(label: str) -> str:
    """`" Name EN* "` -> `name_en`: full-width folded, lower-case, required-marker dropped."""
    text = unicodedata.normalize("NFKC", label).strip().lower().rstrip("*").strip()
    return re.sub(r"[\s\-]+", "_", text)


def read_table(path: Path | str, *, aliases: Mapping[str, str] = HEADER_ALIASES) -> Table:
    """Read the first sheet of an XLSX or a CSV (UTF-8, UTF-8 with BOM, GB18030, UTF-16).

    The header is the first non-blank row; blank rows are skipped. Raises ImportFailed
    for files that can't be read at all: unsupported type, empty, undecodable, a header
    naming one column twice, or a column of ID card numbers.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportFailed([f"{path.name}: old .xls workbooks can't be read; save as .xlsx or CSV"])
    if suffix not in TEXT_SUFFIXES + WORKBOOK_SUFFIXES:
        raise ImportFailed(
            [f"{path.name}: unsupported file type {suffix or '(none)'}; use .csv or .xlsx"]
        )
    try:
        raw = _read_workbook(path) if suffix in WORKBOOK_SUFFIXES else _read_delimited(path)
    except OSError as exc:
        raise ImportFailed([f"{path}: cannot read the file: {exc.strerror or exc}"]) from None
    return _table(path.name, raw, aliases)


def _read_delimited(path: Path) -> list[tuple[int, list[str]]]:
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise ImportFailed([f"{path.name}: this is an XLSX workbook, not text; rename it .xlsx"])
    text = _decode(data, path.name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_guess_delimiter(text))
    rows = []
    # The line a record starts on, which is what an editor shows even for multi-line cells.
    line = 1
    try:
        for cells in reader:
            rows.append((line, [cell.strip() for cell in cells]))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFailed([f"line {line}: not readable as CSV: {exc}"]) from None
    return rows


def _decode(data: bytes, name: str) -> str:
    # Excel's "Unicode text" export is UTF-16 with a BOM; "CSV UTF-8" has a UTF-8 BOM;
    # plain "CSV" from a Chinese-locale Excel or WPS is GB18030 (a superset of GBK/GB2312).
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            [f"{name}: not UTF-8 or GB18030 text (undecodable byte at offset {exc.start})"]
        ) from None


def _guess_delimiter(text: str) -> str:
    # Counting in the header line is more predictable than csv.Sniffer on Chinese text.
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_workbook(path: Path) -> list[tuple[int, list[str]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # data_only: the values Excel last computed, not formula text.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise ImportFailed(
            [f"{path.name}: not a readable XLSX workbook (damaged or password-protected?): {exc}"]
        ) from None
    try:
        if not workbook.worksheets:
            return []
        sheet = workbook.worksheets[0]
        # Some producers write a wrong dimension record, which would cut rows or columns off.
        sheet.reset_dimensions()
        return [
            (number, [_cell_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1)
        ]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    # Phone numbers typed into Excel come back as numbers; 13800138000.0 must read as digits.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _table(source: str, raw: list[tuple[int, list[str]]], aliases: Mapping[str, str]) -> Table:
    rows = [(line, cells) for line, cells in raw if any(cells)]
    if not rows:
        raise ImportFailed([f"{source}: the file is empty"])
    header_line, header = rows[0]
    columns: list[str | None] = []
    labels: dict[str, str] = {}
    problems: list[Problem] = []
    for label in header:
        key = normalise_header(label)
        if not key:
            columns.append(None)
            continue
        if _ID_COLUMN_RE.search(key):
            problems.append(
                Problem(
                    header_line,
                    label,
                    "ID card numbers are never collected: delete this column and import again",
                )
            )
        column = aliases.get(key, key)
        if column in labels:
            problems.append(Problem(header_line, label, f"same column as {labels[column]!r}"))
        labels.setdefault(column, label)
        columns.append(column)
    if problems:
        raise ImportFailed(problems)
    data = tuple(
        Row(line, {c: v for c, v in zip(columns, cells, strict=False) if c is not None})
        for line, cells in rows[1:]
    )
    if not data:
        raise ImportFailed([f"{source}: no rows under the header on line {header_line}"])
    return Table(source=source, header_line=header_line, labels=labels, rows=data)
