"""The translation catalog pipeline: extract messages, merge them into the catalogs, check them.

    python -m bot.catalogs extract   # write locales/messages.pot from the code
    python -m bot.catalogs update    # extract, then merge the template into every catalog
    python -m bot.catalogs check     # list every problem and exit 1 (the test command runs this)

The files are written for small, stable diffs: no source locations, messages sorted by msgid, no
line wrapping, and a header with no date or tool version that changes by itself. Merging never
guesses: a new or changed msgid arrives empty, for a translator to fill in (`en` too).
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import io
import json
import string
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

if TYPE_CHECKING:
    from babel.messages.extract import _Keyword

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers", "storage")
# The fake Bot API is a test double: its strings are never shown to a user.
EXCLUDED_DIRS = ("bot/fake_telegram",)
LOCALES = ("en", "zh_Hans")
DOMAIN = "messages"
TEMPLATE = Path("locales") / f"{DOMAIN}.pot"

KEYWORDS: Mapping[str, _Keyword] = {
    "_": None,
    "N_": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
}
# Positions of the literal arguments of each keyword, for the "built at run time" check.
_LITERAL_ARGS = {"_": (0,), "N_": (0,), "ngettext": (0, 1), "pgettext": (0, 1)}
COMMENT_TAGS = ("TRANSLATORS:",)

# Constant, because a real POT-Creation-Date would change the files on every extraction.
CREATION_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
TEMPLATE_HEADER = (
    "# Translations template for zhibu.\n"
    "# Written by `python -m bot.catalogs extract`: do not edit, run `update` instead."
)
# Babel turns "Translations template" into "<Language> translations" for a locale's catalog.
CATALOG_HEADER = "# Translations template for zhibu."

_FIX_STALE = "run `python -m bot.catalogs update`"

# (msgctxt, msgid, msgid_plural): what makes two messages the same message.
MessageKey = tuple[str, str, str]


def catalog_path(root: Path, locale: str) -> Path:
    """Where the catalog of `locale` lives under `root`."""
    return root / "locales" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def source_files(root: Path) -> list[Path]:
    """The Python files messages are extracted from, in a stable order."""
    excluded = [root / name for name in EXCLUDED_DIRS]
    files = []
    for name in SOURCE_DIRS:
        for path in (root / name).rglob("*.py"):
            relative = path.relative_to(root)
            if any(path.is_relative_to(folder) for folder in excluded):
                continue
            if "tests" in relative.parts or "__pycache__" in relative.parts:
                continue
            if path.name.startswith("test_") or path.name == "conftest.py":
                continue
            files.append(path)
    return sorted(files, key=lambda path: path.relative_to(root).as_posix())


def extract(root: Path) -> Catalog:
    """The template catalog of every message in the code under `root`."""
    template = Catalog(
        domain=DOMAIN,
        project="zhibu",
        header_comment=TEMPLATE_HEADER,
        creation_date=CREATION_DATE,
        fuzzy=False,
    )
    for path in source_files(root):
        relative = path.relative_to(root).as_posix()
        results = extract_from_file(
            "python", path, keywords=KEYWORDS, comment_tags=COMMENT_TAGS, strip_comment_tags=True
        )
        for lineno, message, comments, context in results:
            template.add(
                message, locations=[(relative, lineno)], auto_comments=comments, context=context
            )
    return template


def render(catalog: Catalog) -> bytes:
    """The catalog as a .po/.pot file, formatted for stable diffs."""
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalog,
        width=0,
        no_location=True,
        sort_output=True,
        ignore_obsolete=True,
        include_previous=False,
    )
    # Babel stamps its own version into the header; leave it out so upgrades don't churn files.
    lines = buffer.getvalue().splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith(b'"Generated-By: '))


def _write_if_changed(path: Path, content: bytes) -> bool:
    if path.exists() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_bytes(content)
    scratch.replace(path)
    return True


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def write_template(root: Path) -> tuple[Catalog, bool]:
    """Extract the messages and write the template; True if the file changed."""
    template = extract(root)
    return template, _write_if_changed(root / TEMPLATE, render(template))


def merge(template: Catalog, path: Path, locale: str) -> Catalog:
    """The catalog at `path` (or a new one) brought in line with the template.

    Translations of unchanged msgids are kept, new msgids arrive empty, messages no longer in
    the template are dropped. Fuzzy matching is off: a translator must look at every change.
    """
    if path.exists():
        catalog = _read(path, locale)
    else:
        catalog = Catalog(
            locale=locale,
            domain=DOMAIN,
            project="zhibu",
            header_comment=CATALOG_HEADER,
            creation_date=CREATION_DATE,
            fuzzy=False,
        )
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    return catalog


def update(root: Path) -> list[str]:
    """Extract, write the template and merge it into every catalog; one line per file."""
    template, changed = write_template(root)
    report = [f"{TEMPLATE}: {len(_messages(template))} messages ({_written(changed)})"]
    for locale in LOCALES:
        path = catalog_path(root, locale)
        catalog = merge(template, path, locale)
        changed = _write_if_changed(path, render(catalog))
        entries = _messages(catalog)
        fuzzy = sum(1 for entry in entries if entry.fuzzy)
        untranslated = sum(1 for entry in entries if not all(_forms(entry, catalog.num_plurals)))
        report.append(
            f"{path.relative_to(root)}: {len(entries)} messages, {untranslated} untranslated, "
            f"{fuzzy} fuzzy ({_written(changed)})"
        )
    return report


def _written(changed: bool) -> str:
    return "written" if changed else "unchanged"


def _messages(catalog: Catalog) -> list[Message]:
    # The entry with the empty msgid is the header, not a message.
    return [message for message in catalog if message.id]


def _ids(message: Message) -> tuple[str, str | None]:
    if isinstance(message.id, str):
        return message.id, None
    return message.id[0], message.id[1]


def _key(message: Message) -> MessageKey:
    singular, plural = _ids(message)
    return message.context or "", singular, plural or ""


def _describe(message: Message) -> str:
    singular, plural = _ids(message)
    text = f"msgid {json.dumps(singular, ensure_ascii=False)}"
    if plural is not None:
        text += f" (plural {json.dumps(plural, ensure_ascii=False)})"
    if message.context:
        text += f" [msgctxt {json.dumps(message.context, ensure_ascii=False)}]"
    return text


def _forms(message: Message, num_plurals: int) -> list[str]:
    """The translation as a list: one string, or every plural form the locale has."""
    strings = message.string or ""
    if not message.pluralizable:
        return [strings if isinstance(strings, str) else strings[0]]
    if isinstance(strings, str):
        strings = (strings,)
    return [strings[index] if index < len(strings) else "" for index in range(num_plurals)]


def placeholders(text: str) -> frozenset[str]:
    """The replacement fields of a str.format template; ValueError if it is not one."""
    fields: set[str] = set()
    for _literal, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if conversion not in (None, "r", "s", "a"):
            raise ValueError(f"unknown conversion '!{conversion}'")
        fields.add(f"{{{field}}}")
        if spec and "{" in spec:
            fields |= placeholders(spec)
    return frozenset(fields)


def _show(fields: frozenset[str]) -> str:
    return " ".join(sorted(fields)) or "none"


def _runtime_built(root: Path) -> list[str]:
    """Calls like `_(f"...")` or `_("...".format())`: the text looked up is never in a catalog."""
    problems = []
    for path in source_files(root):
        relative = path.relative_to(root).as_posix()
        try:
            tree = ast.parse(path.read_bytes(), filename=relative)
        except SyntaxError as error:
            problems.append(f"{relative}:{error.lineno}: cannot parse: {error.msg}")
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            for index in _LITERAL_ARGS.get(name or "", ()):
                if index >= len(node.args):
                    continue
                argument = node.args[index]
                if isinstance(argument, ast.JoinedStr):
                    how = "an f-string"
                elif isinstance(argument, ast.BinOp):
                    how = "a string built with an operator"
                elif (
                    isinstance(argument, ast.Call)
                    and isinstance(argument.func, ast.Attribute)
                    and argument.func.attr in ("format", "format_map")
                ):
                    how = "an already formatted string"
                else:
                    continue
                problems.append(
                    f"{relative}:{argument.lineno}: {name}() is given {how}, which no catalog "
                    f"can contain: translate the literal, then .format() the result"
                )
    return problems


def _check_template(template: Catalog, fresh: Catalog) -> list[str]:
    problems = []
    committed = {_key(message): message for message in _messages(template)}
    current = {_key(message): message for message in _messages(fresh)}
    for key in sorted(current.keys() - committed.keys()):
        problems.append(
            f"{TEMPLATE}: stale, {_describe(current[key])} is in the code but not in the "
            f"template ({_FIX_STALE})"
        )
    for key in sorted(committed.keys() - current.keys()):
        problems.append(
            f"{TEMPLATE}: stale, {_describe(committed[key])} is in the template but no longer in "
            f"the code ({_FIX_STALE})"
        )
    for message in _messages(template):
        for source in filter(None, _ids(message)):
            try:
                placeholders(source)
            except ValueError as error:
                problems.append(
                    f"{TEMPLATE}: {_describe(message)} is not a valid format string ({error}); "
                    "write literal braces as {{ and }}"
                )
    return problems


def _check_translation(where: str, message: Message, entry: Message, num_plurals: int) -> list[str]:
    what = _describe(message)
    singular, plural = _ids(message)
    try:
        sources = [placeholders(source) for source in (singular, plural) if source is not None]
    except ValueError:
        sources = []  # an invalid msgid is reported once, for the template
    problems = []
    for index, form in enumerate(_forms(entry, num_plurals)):
        label = f"plural form {index}" if plural is not None else "translation"
        if not form:
            problems.append(f"{where}: {what}: {label} is empty")
            continue
        try:
            fields = placeholders(form)
        except ValueError as error:
            problems.append(f"{where}: {what}: {label} is not a valid format string ({error})")
            continue
        if not sources or fields in sources:
            continue
        if plural is None:
            expected = f"the msgid has {_show(sources[0])}"
        else:
            expected = f"msgid has {_show(sources[0])}, msgid_plural has {_show(sources[1])}"
        problems.append(f"{where}: {what}: {label} has placeholders {_show(fields)}, {expected}")
    return problems


def _check_catalog(root: Path, locale: str, template: Catalog) -> list[str]:
    path = catalog_path(root, locale)
    where = path.relative_to(root).as_posix()
    if not path.exists():
        return [f"{where}: missing ({_FIX_STALE})"]
    catalog = _read(path, locale)
    problems = []
    for message in _messages(template):
        singular, plural = _ids(message)
        entry = catalog.get(singular, message.context)
        if entry is None:
            problems.append(f"{where}: {_describe(message)} is missing ({_FIX_STALE})")
            continue
        if _ids(entry)[1] != plural:
            problems.append(
                f"{where}: {_describe(message)} differs from the template in its plural "
                f"({_FIX_STALE})"
            )
            continue
        if entry.fuzzy:
            problems.append(
                f"{where}: {_describe(message)} is fuzzy: review it, then drop the flag"
            )
        problems += _check_translation(where, message, entry, catalog.num_plurals)
    expected = {_key(message) for message in _messages(template)}
    for entry in _messages(catalog):
        if _key(entry) not in expected:
            problems.append(f"{where}: {_describe(entry)} is not in the template ({_FIX_STALE})")
    return problems


def find_problems(root: Path) -> list[str]:
    """Every problem with the template and the catalogs under `root`; empty when all is well."""
    fresh = extract(root)
    problems = _runtime_built(root)
    template_path = root / TEMPLATE
    if template_path.exists():
        template = _read(template_path)
        problems += _check_template(template, fresh)
    else:
        problems.append(f"{TEMPLATE}: missing ({_FIX_STALE})")
        template = fresh
    for locale in LOCALES:
        problems += _check_catalog(root, locale, template)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: extract, update or check."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.catalogs", description="Extract, merge and check the catalogs."
    )
    parser.add_argument("command", choices=("extract", "update", "check"))
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root
    if args.command == "extract":
        template, changed = write_template(root)
        print(f"{TEMPLATE}: {len(_messages(template))} messages ({_written(changed)})")
    elif args.command == "update":
        print("\n".join(update(root)))
    else:
        problems = find_problems(root)
        if problems:
            print("\n".join(problems))
            print(f"catalogs: {len(problems)} problem(s)", file=sys.stderr)
            return 1
        template = _read(root / TEMPLATE)
        print(f"catalogs OK: {len(_messages(template))} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
