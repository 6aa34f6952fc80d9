"""Import of the organisation tree and member rosters from CSV or XLSX, all or nothing.

Three layers, so later imports (the lost-contact register) can reuse the first two:
reading (`read_table`: any CSV/XLSX into rows with the line numbers the user sees), checking
(`Problems` and the cell parsers: every bad cell of every row collected, then reported at
once) and applying (storage writes in the caller's transaction). `import_file` ties them
together for the `zhibu org|people import FILE` command.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import enum
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.enums import OrgKind, PersonStatus, Role
from bot.rules.phones import InvalidPhone, PhoneProblem, looks_like_id_number, parse_phone
from storage import queries
from storage.db import transaction
from storage.models import OrgUnit, Person, RoleAssignment

E = TypeVar("E", bound=enum.Enum)

# ---- problems ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a file can't be imported, located as precisely as possible."""

    line: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        prefix = "" if self.line is None else f"line {self.line}: "
        if self.column is not None:
            prefix += f"{self.column}: "
        return prefix + self.reason


class ImportFailed(Exception):
    """The file was refused and nothing was written; `problems` says why, one line each."""

    def __init__(self, problems: Iterable[Problem | str]) -> None:
        self.problems = [str(p) for p in problems]
        super().__init__("\n".join(self.problems))


class CellError(ValueError):
    """A cell's value is unacceptable; the message is the reason shown to the user."""


class Problems:
    """Problems found while checking a table, reported all at once, in line order."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.items: list[Problem] = []

    def add(self, line: int | None, column: str | None, reason: str) -> None:
        """Record a problem; `column` is the canonical name, shown as the file's header."""
        label = None if column is None else self.table.label(column)
        self.items.append(Problem(line, label, reason))

    def require_columns(self, required: Iterable[str]) -> None:
        """Record every required column the header lacks."""
        for column in required:
            if column not in self.table.labels:
                self.add(self.table.header_line, column, "required column is missing")

    def parse(
        self, row: Row, parsers: Mapping[str, Callable[[str], object]]
    ) -> dict[str, Any] | None:
        """Each column's parsed value, or None when any cell is bad (each one recorded)."""
        values: dict[str, Any] = {}
        ok = True
        for column, parser in parsers.items():
            try:
                values[column] = parser(row[column])
            except CellError as exc:
                self.add(row.line, column, str(exc))
                ok = False
        return values if ok else None

    def raise_if_any(self) -> None:
        """Refuse the file if anything was recorded."""
        if self.items:
            # Stable sort: cross-row problems found later still sit with their line.
            ordered: list[Problem] = sorted(self.items, key=lambda p: p.line or 0)
            raise ImportFailed(ordered)


# ---- reading -------------------------------------------------------------------------------

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


# ---- cell parsers (raise CellError with the reason) --------------------------------------

_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATE_RES = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$"),
)
_CJK_GAP_RE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
# Nobody can have joined before the Party was founded; earlier dates are spreadsheet defaults.
PARTY_FOUNDED_YEAR = 1921


def parse_code(text: str) -> str:
    """A required node code: ASCII letters, digits, - and _, at most 64."""
    if not text:
        raise CellError("is empty")
    if not _CODE_RE.match(text):
        raise CellError(f"{text!r} is not a code (ASCII letters, digits, - and _, at most 64)")
    return text


def parse_optional_code(text: str) -> str | None:
    """A node code, or None for an empty cell."""
    return parse_code(text) if text else None


def required_text(max_length: int) -> Callable[[str], str]:
    """Parser for non-empty text of at most max_length characters."""

    def parse(text: str) -> str:
        if not text:
            raise CellError("is empty")
        if len(text) > max_length:
            raise CellError(f"is {len(text)} characters long (at most {max_length})")
        return text

    return parse


def optional_text(max_length: int) -> Callable[[str], str | None]:
    """Parser for text of at most max_length characters, None when empty."""
    parse_required = required_text(max_length)
    return lambda text: parse_required(text) if text else None


def parse_person_name(text: str) -> str:
    """A person's name, at most 50 characters; spaces padding a Chinese name are removed."""
    # Rosters often align two-character names as "张　三"; the person is still 张三.
    name = " ".join(_CJK_GAP_RE.sub("", text).split())
    if looks_like_id_number(name):
        raise CellError("looks like an ID card number, which is never collected")
    return required_text(50)(name)


def choice(
    options: Mapping[str, E], *, default: E | None = None, aliases: Mapping[str, E] | None = None
) -> Callable[[str], E | None]:
    """Parser for one of the options (case and `-`/space insensitive); default when empty."""
    accepted = {**options, **(aliases or {})}

    def parse(text: str) -> E | None:
        if not text:
            return default
        key = re.sub(r"[\s\-]+", "_", unicodedata.normalize("NFKC", text).strip().lower())
        if key not in accepted:
            raise CellError(f"{text!r} is not one of {', '.join(options)}")
        return accepted[key]

    return parse


def parse_phone_cell(text: str) -> str | None:
    """An optional phone number (see bot.rules.phones)."""
    try:
        return parse_phone(text)
    except InvalidPhone as invalid:
        if invalid.problem is PhoneProblem.ID_NUMBER:
            raise CellError("looks like an ID card number, which is never collected") from None
        raise CellError(
            f"{text!r} is not a phone number (digits, spaces, dashes, leading +; 5-20 characters)"
        ) from None


def date_parser(today: dt.date) -> Callable[[str], dt.date | None]:
    """Parser for an optional past date: 2001-07-01, 2001/7/1, 2001.07.01 or 2001年7月1日."""

    def parse(text: str) -> dt.date | None:
        if not text:
            return None
        match = next((m for r in _DATE_RES if (m := r.match(text))), None)
        if match is None:
            raise CellError(f"{text!r} is not a date like 2001-07-01 or 2001年7月1日")
        try:
            value = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise CellError(f"{text!r} is not a real date") from None
        if value > today:
            raise CellError(f"{value.isoformat()} is in the future")
        if value.year < PARTY_FOUNDED_YEAR:
            raise CellError(f"{value.isoformat()} is before the Party was founded")
        return value

    return parse


# ---- the organisation tree -----------------------------------------------------------------

ORG_REQUIRED = ("code", "parent", "kind", "name")
ORG_COLUMNS = (*ORG_REQUIRED, "name_en")

ALLOWED_PARENTS: Mapping[OrgKind, frozenset[OrgKind | None]] = {
    OrgKind.COMMITTEE: frozenset({None, OrgKind.COMMITTEE}),
    OrgKind.GENERAL_BRANCH: frozenset({OrgKind.COMMITTEE}),
    OrgKind.BRANCH: frozenset({OrgKind.COMMITTEE, OrgKind.GENERAL_BRANCH}),
    OrgKind.PARTY_GROUP: frozenset({OrgKind.BRANCH}),
}

_parse_kind = choice(
    {k.value: k for k in OrgKind},
    aliases={
        "党委": OrgKind.COMMITTEE,
        "党总支": OrgKind.GENERAL_BRANCH,
        "总支": OrgKind.GENERAL_BRANCH,
        "党支部": OrgKind.BRANCH,
        "支部": OrgKind.BRANCH,
        "党小组": OrgKind.PARTY_GROUP,
        "小组": OrgKind.PARTY_GROUP,
    },
)


def _required_kind(text: str) -> OrgKind:
    kind = _parse_kind(text)
    if kind is None:
        raise CellError("is empty")
    return kind


@dataclass(frozen=True)
class ExistingUnit:
    """What validation needs to know about a node already in the database."""

    kind: OrgKind
    parent: str | None
    people: int = 0


@dataclass(frozen=True)
class OrgRow:
    """A checked row of an organisation file.

    parent None is the top level (so a file can move a committee to the top); name_en None
    means "leave as it is".
    """

    line: int
    code: str
    parent: str | None
    kind: OrgKind
    name: str
    name_en: str | None


def _kind_names(kinds: Iterable[OrgKind | None]) -> str:
    return " or ".join(sorted(k.value if k else "top level" for k in kinds))


def validate_org(table: Table, existing: Mapping[str, ExistingUnit]) -> list[OrgRow]:
    """Check an organisation file against itself and the existing tree; raise ImportFailed."""
    problems = Problems(table)
    problems.require_columns(ORG_REQUIRED)
    problems.raise_if_any()
    parsers: dict[str, Callable[[str], object]] = {
        "code": parse_code,
        "parent": parse_optional_code,
        "kind": _required_kind,
        "name": required_text(200),
        "name_en": optional_text(200),
    }
    rows: dict[str, OrgRow] = {}
    # Codes of rows that are bad for another reason: their children get no second problem.
    mentioned = {row["code"] for row in table.rows}
    for row in table.rows:
        values = problems.parse(row, parsers)
        if values is None:
            continue
        parsed = OrgRow(line=row.line, **values)
        if parsed.code in rows:
            problems.add(
                row.line, "code", f"{parsed.code} is already on line {rows[parsed.code].line}"
            )
            continue
        rows[parsed.code] = parsed

    # The tree as it will be: the database, overridden by the file.
    parent_of = {code: unit.parent for code, unit in existing.items()}
    kind_of = {code: unit.kind for code, unit in existing.items()}
    for r in rows.values():
        parent_of[r.code] = r.parent
        kind_of[r.code] = r.kind

    for r in rows.values():
        _check_parent(problems, r, parent_of, kind_of, mentioned)
        _check_kind_change(problems, r, existing, kind_of, rows)
    problems.raise_if_any()
    return list(rows.values())


def _check_parent(
    problems: Problems,
    row: OrgRow,
    parent_of: Mapping[str, str | None],
    kind_of: Mapping[str, OrgKind],
    mentioned: set[str],
) -> None:
    if row.parent is not None and row.parent not in kind_of:
        if row.parent not in mentioned:
            problems.add(row.line, "parent", f"no node {row.parent} in this file or the database")
        return
    cycle = _cycle_through(row.code, parent_of)
    if cycle:
        problems.add(row.line, "parent", "cycle: " + " → ".join(cycle))
        return
    parent_kind = kind_of[row.parent] if row.parent is not None else None
    if parent_kind not in ALLOWED_PARENTS[row.kind]:
        where = f"under {row.parent}, a {parent_kind.value}" if parent_kind else "at the top"
        problems.add(
            row.line,
            "parent",
            f"a {row.kind.value} can't be {where} "
            f"(allowed: {_kind_names(ALLOWED_PARENTS[row.kind])})",
        )


def _cycle_through(code: str, parent_of: Mapping[str, str | None]) -> list[str]:
    # The chain from code upwards if it comes back to code, else [].
    chain = [code]
    seen = {code}
    current = parent_of.get(code)
    while current is not None:
        chain.append(current)
        if current == code:
            return chain
        if current in seen:
            return []  # a cycle above this node, reported on its own rows
        seen.add(current)
        current = parent_of.get(current)
    return []


def _check_kind_change(
    problems: Problems,
    row: OrgRow,
    existing: Mapping[str, ExistingUnit],
    kind_of: Mapping[str, OrgKind],
    rows: Mapping[str, OrgRow],
) -> None:
    old = existing.get(row.code)
    if old is None or old.kind is row.kind:
        return
    if old.kind is OrgKind.BRANCH and old.people:
        who = "1 person" if old.people == 1 else f"{old.people} people"
        problems.add(
            row.line, "kind", f"{row.code} has {who} on its roster, so it must stay a branch"
        )
    # Children not in the file keep their kind and must still fit under the new one.
    children = [c for c, unit in existing.items() if unit.parent == row.code and c not in rows]
    for child in children:
        if row.kind not in ALLOWED_PARENTS[kind_of[child]]:
            problems.add(
                row.line,
                "kind",
                f"{child}, a {kind_of[child].value}, is under {row.code} "
                f"and can't be under a {row.kind.value}",
            )


async def existing_units(session: AsyncSession) -> dict[str, ExistingUnit]:
    """Every node's kind, parent code and roster size, by code."""
    units = list(await session.scalars(select(OrgUnit)))
    code_of = {u.id: u.code for u in units}
    counts = {
        branch_id: int(n)
        for branch_id, n in await session.execute(
            select(Person.branch_id, func.count())
            .where(Person.branch_id.is_not(None))
            .group_by(Person.branch_id)
        )
    }
    return {
        u.code: ExistingUnit(
            kind=u.kind,
            parent=code_of.get(u.parent_id) if u.parent_id is not None else None,
            people=counts.get(u.id, 0),
        )
        for u in units
    }


@dataclass
class ImportSummary:
    """What an import did, row by row."""

    what: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored_columns: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return bool(self.created or self.updated)

    def __str__(self) -> str:
        text = f"{self.what}: {self.created} created, {self.updated} updated, "
        text += f"{self.unchanged} unchanged"
        if self.ignored_columns:
            text += f" (ignored columns: {', '.join(self.ignored_columns)})"
        return text


async def _finish(
    session: AsyncSession,
    summary: ImportSummary,
    table: Table,
    known: Sequence[str],
    action: str,
) -> ImportSummary:
    # Shown in the summary so a misspelt header doesn't drop a column unnoticed.
    summary.ignored_columns = tuple(table.label(c) for c in table.columns if c not in known)
    if summary.changed:
        await queries.audit(
            session,
            action=action,
            actor_label="cli",
            details={
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "file": table.source,
            },
        )
    return summary


async def apply_org(session: AsyncSession, rows: Sequence[OrgRow]) -> ImportSummary:
    """Create missing nodes and update changed ones (validated rows); never deletes."""
    summary = ImportSummary("org")
    units = list(await session.scalars(select(OrgUnit)))
    by_code = {u.code: u for u in units}
    code_of = {u.id: u.code for u in units}
    parent_of: dict[str, str | None] = {
        u.code: code_of[u.parent_id] if u.parent_id is not None else None for u in units
    }
    parent_of.update({r.code: r.parent for r in rows})

    def depth(code: str) -> int:
        n = 0
        parent = parent_of.get(code)
        while parent is not None:
            n += 1
            parent = parent_of.get(parent)
        return n

    # Parents first in the new tree, so a node is never moved under its own current
    # descendant (move_org_unit rewrites the paths of the subtree it finds under the node).
    for row in sorted(rows, key=lambda r: (depth(r.code), r.line)):
        parent = by_code[row.parent] if row.parent is not None else None
        unit = by_code.get(row.code)
        if unit is None:
            by_code[row.code] = await queries.add_org_unit(
                session,
                code=row.code,
                kind=row.kind,
                name=row.name,
                name_en=row.name_en,
                parent=parent,
            )
            summary.created += 1
            continue
        changed = False
        if unit.name != row.name:
            unit.name = row.name
            changed = True
        if row.name_en is not None and unit.name_en != row.name_en:
            unit.name_en = row.name_en
            changed = True
        if unit.kind is not row.kind:
            unit.kind = row.kind
            changed = True
        if unit.parent_id != (parent.id if parent else None):
            await queries.move_org_unit(session, unit, parent)
            changed = True
        if changed:
            summary.updated += 1
        else:
            summary.unchanged += 1
    return summary


async def import_org(session: AsyncSession, table: Table) -> ImportSummary:
    """Validate and apply an organisation file in the caller's transaction, with audit."""
    rows = validate_org(table, await existing_units(session))
    summary = await apply_org(session, rows)
    return await _finish(session, summary, table, ORG_COLUMNS, "org.import")


# ---- people --------------------------------------------------------------------------------

PEOPLE_REQUIRED = ("name", "branch")
PEOPLE_COLUMNS = (*PEOPLE_REQUIRED, "role", "status", "phone", "joined_on")

_parse_role = choice(
    {r.value: r for r in (Role.SECRETARY, Role.DEPUTY, Role.MEMBER)},
    default=Role.MEMBER,
    aliases={
        "书记": Role.SECRETARY,
        "支部书记": Role.SECRETARY,
        "副书记": Role.DEPUTY,
        "党员": Role.MEMBER,
    },
)
_parse_status = choice(
    {s.value: s for s in PersonStatus},
    aliases={
        "正常": PersonStatus.REGULAR,
        "流动": PersonStatus.MOBILE,
        "流动党员": PersonStatus.MOBILE,
        "失联": PersonStatus.LOST_CONTACT,
        "失联党员": PersonStatus.LOST_CONTACT,
    },
)


@dataclass(frozen=True)
class PersonRow:
    """A checked roster row; None in status/phone/joined_on means "leave as it is"."""

    line: int
    name: str
    branch: str
    role: Role
    status: PersonStatus | None
    phone: str | None
    joined_on: dt.date | None


def validate_people(
    table: Table, org_kinds: Mapping[str, OrgKind], *, today: dt.date
) -> list[PersonRow]:
    """Check a roster file; org_kinds are the existing nodes. Raises ImportFailed."""
    problems = Problems(table)
    problems.require_columns(PEOPLE_REQUIRED)
    problems.raise_if_any()

    def parse_branch(text: str) -> str:
        code = parse_code(text)
        kind = org_kinds.get(code)
        if kind is None:
            raise CellError(f"no node {code} in the database (import the organisation first)")
        if kind is not OrgKind.BRANCH:
            raise CellError(f"{code} is a {kind.value}, not a branch")
        return code

    parsers: dict[str, Callable[[str], object]] = {
        "name": parse_person_name,
        "branch": parse_branch,
        "role": _parse_role,
        "status": _parse_status,
        "phone": parse_phone_cell,
        "joined_on": date_parser(today),
    }
    rows: dict[tuple[str, str], PersonRow] = {}
    secretaries: dict[str, PersonRow] = {}
    for row in table.rows:
        values = problems.parse(row, parsers)
        if values is None:
            continue
        person = PersonRow(line=row.line, **values)
        key = (person.branch, person.name)
        if key in rows:
            problems.add(
                row.line,
                "name",
                f"{person.name} in {person.branch} is already on line {rows[key].line}",
            )
            continue
        rows[key] = person
        if person.role is Role.SECRETARY:
            other = secretaries.setdefault(person.branch, person)
            if other is not person:
                problems.add(
                    row.line,
                    "role",
                    f"{person.branch} already has secretary {other.name} on line {other.line}",
                )
    problems.raise_if_any()
    return list(rows.values())


async def apply_people(session: AsyncSession, rows: Sequence[PersonRow]) -> ImportSummary:
    """Create or update people by (branch, name) and grant their roles (validated rows).

    Empty cells keep what is stored (a roster without phones doesn't erase known phones),
    and a role missing from the file is not taken away: both are done in the bot.
    """
    summary = ImportSummary("people")
    branches = {
        u.code: u
        for u in await session.scalars(
            select(OrgUnit).where(OrgUnit.code.in_({r.branch for r in rows}))
        )
    }
    branch_ids = [b.id for b in branches.values()]
    people: dict[tuple[int, str], Person] = {}
    for known in await session.scalars(
        select(Person).where(Person.branch_id.in_(branch_ids)).order_by(Person.id)
    ):
        # Same choice as queries.person_in_branch when a roster already has a duplicate name.
        people.setdefault((known.branch_id or 0, known.name), known)
    granted = {
        (a.person_id, a.org_unit_id, a.role)
        for a in await session.scalars(
            select(RoleAssignment).where(RoleAssignment.org_unit_id.in_(branch_ids))
        )
    }
    to_grant: list[tuple[Person, OrgUnit, Role]] = []
    for row in rows:
        branch = branches[row.branch]
        person = people.get((branch.id, row.name))
        if person is None:
            person = Person(
                name=row.name,
                branch_id=branch.id,
                status=row.status or PersonStatus.REGULAR,
                phone=row.phone,
                joined_on=row.joined_on,
            )
            session.add(person)
            summary.created += 1
        else:
            changed = _update_person(person, row)
            if row.role is not Role.MEMBER and (person.id, branch.id, row.role) not in granted:
                changed = True
            if changed:
                summary.updated += 1
            else:
                summary.unchanged += 1
        if row.role is not Role.MEMBER:
            to_grant.append((person, branch, row.role))
    await session.flush()
    for person, branch, role in to_grant:
        await queries.grant_role(session, person=person, org_unit=branch, role=role)
    return summary


def _update_person(person: Person, row: PersonRow) -> bool:
    changed = False
    if row.status is not None and person.status is not row.status:
        person.status = row.status
        changed = True
    if row.phone is not None and person.phone != row.phone:
        person.phone = row.phone
        changed = True
    if row.joined_on is not None and person.joined_on != row.joined_on:
        person.joined_on = row.joined_on
        changed = True
    return changed


async def import_people(session: AsyncSession, table: Table, *, today: dt.date) -> ImportSummary:
    """Validate and apply a roster file in the caller's transaction, with audit."""
    org_kinds = {
        code: kind for code, kind in await session.execute(select(OrgUnit.code, OrgUnit.kind))
    }
    rows = validate_people(table, org_kinds, today=today)
    summary = await apply_people(session, rows)
    return await _finish(session, summary, table, PEOPLE_COLUMNS, "people.import")


# ---- the command -------------------------------------------------------------------------


async def import_file(settings: Settings, what: str, path: Path | str) -> str:
    """Import an "org" or "people" file in one transaction; the summary, or ImportFailed."""
    if what not in ("org", "people"):
        raise ValueError(f"unknown import {what!r}")
    table = read_table(path)
    today = settings.now().astimezone(settings.tz).date()
    async with transaction(settings.database_url) as session:
        if what == "org":
            summary = await import_org(session, table)
        else:
            summary = await import_people(session, table, today=today)
    return str(summary)
