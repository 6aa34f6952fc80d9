"""Import of the organisation tree and member rosters from CSV or XLSX, all or nothing.

Three layers, so later imports (the lost-contact register) can reuse the first two:
reading (`read_table`: any CSV/XLSX into rows with the line numbers the user sees), checking
(`Problems` and the cell parsers: every bad cell of every row collected, then reported at
once) and applying (storage writes in the caller's transaction). `import_file` ties them
together for the `zhibu org|people import FILE` command.

reading, problems and cells are the first two layers; org and people apply a file each;
summary audits what an import did; command is the CLI's entry. The names below are the
package's public face (the CLI and the register import use them).
"""

from bot.imports.cells import (
    PARTY_FOUNDED_YEAR,
    choice,
    date_parser,
    optional_text,
    parse_code,
    parse_optional_code,
    parse_person_name,
    parse_phone_cell,
    required_text,
)
from bot.imports.command import import_file
from bot.imports.org import ExistingUnit, OrgRow, apply_org, import_org, validate_org
from bot.imports.people import PersonRow, apply_people, import_people, validate_people
from bot.imports.problems import CellError, ImportFailed, Problem, Problems
from bot.imports.reading import HEADER_ALIASES, Row, Table, normalise_header, read_table
from bot.imports.summary import ImportSummary, finish

__all__ = [
    "HEADER_ALIASES",
    "PARTY_FOUNDED_YEAR",
    "CellError",
    "ExistingUnit",
    "ImportFailed",
    "ImportSummary",
    "OrgRow",
    "PersonRow",
    "Problem",
    "Problems",
    "Row",
    "Table",
    "apply_org",
    "apply_people",
    "choice",
    "date_parser",
    "finish",
    "import_file",
    "import_org",
    "import_people",
    "normalise_header",
    "optional_text",
    "parse_code",
    "parse_optional_code",
    "parse_person_name",
    "parse_phone_cell",
    "read_table",
    "required_text",
    "validate_org",
    "validate_people",
]
