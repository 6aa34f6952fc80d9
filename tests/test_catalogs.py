"""The catalog pipeline: extraction, merging, and each problem the check reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot import catalogs

SOURCE = """\
from bot.i18n import N_

KIND = N_("meeting")


def reply(context, tr, n, name):
    context._("Hello, {name}!").format(name=name)
    tr._("Goodbye")
    tr.ngettext("{n} member", "{n} members", n).format(n=n)
    # TRANSLATORS: the button that stores the form
    return tr.pgettext("button", "Save")
"""

TRANSLATIONS: dict[str, dict[tuple[str | None, str], str | tuple[str, ...]]] = {
    "en": {
        (None, "meeting"): "meeting",
        (None, "Hello, {name}!"): "Hello, {name}!",
        (None, "Goodbye"): "Goodbye",
        (None, "{n} member"): ("{n} member", "{n} members"),
        ("button", "Save"): "Save",
    },
    "zh_Hans": {
        (None, "meeting"): "会议",
        (None, "Hello, {name}!"): "你好，{name}！",
        (None, "Goodbye"): "再见",
        (None, "{n} member"): ("{n} 名党员",),
        ("button", "Save"): "保存",
    },
}


def write_source(root: Path, text: str = SOURCE, name: str = "bot/feature.py") -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def read_catalog(root: Path, locale: str) -> Catalog:
    with catalogs.catalog_path(root, locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def edit_catalog(root: Path, locale: str, change: Callable[[Catalog], None]) -> None:
    catalog = read_catalog(root, locale)
    change(catalog)
    catalogs.catalog_path(root, locale).write_bytes(catalogs.render(catalog))


def set_string(
    msgid: str, value: str | tuple[str, ...], context: str | None = None
) -> Callable[[Catalog], None]:
    def change(catalog: Catalog) -> None:
        message = catalog.get(msgid, context)
        assert message is not None
        message.string = value

    return change


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small repository whose template and catalogs are complete."""
    write_source(tmp_path)
    catalogs.update(tmp_path)
    for locale, strings in TRANSLATIONS.items():
        for (context, msgid), value in strings.items():
            edit_catalog(tmp_path, locale, set_string(msgid, value, context))
    return tmp_path


def test_the_repository_catalogs_are_complete() -> None:
    problems = catalogs.find_problems(catalogs.ROOT)
    assert not problems, "\n".join(problems)


def test_a_complete_tree_has_no_problems(tree: Path) -> None:
    assert catalogs.find_problems(tree) == []


def test_extraction_finds_every_keyword_form(tmp_path: Path) -> None:
    write_source(tmp_path)

    template = catalogs.extract(tmp_path)

    found = {(message.context, message.id) for message in template if message.id}
    assert found == {
        (None, "meeting"),
        (None, "Hello, {name}!"),
        (None, "Goodbye"),
        (None, ("{n} member", "{n} members")),
        ("button", "Save"),
    }
    save = template.get("Save", "button")
    assert save is not None
    assert save.auto_comments == ["the button that stores the form"]


def test_extraction_skips_the_fake_bot_api_and_tests(tmp_path: Path) -> None:
    write_source(tmp_path)
    write_source(tmp_path, '_("fake server text")\n', "bot/fake_telegram/server.py")
    write_source(tmp_path, '_("test text")\n', "bot/tests/test_thing.py")
    write_source(tmp_path, '_("handler text")\n', "handlers/thing.py")
    write_source(tmp_path, '_("outside the sources")\n', "scripts/tool.py")

    ids = {message.id for message in catalogs.extract(tmp_path) if message.id}

    assert "handler text" in ids
    assert not ids & {"fake server text", "test text", "outside the sources"}


def test_the_template_is_stable_when_code_moves(tmp_path: Path) -> None:
    write_source(tmp_path)
    catalogs.update(tmp_path)
    before = (tmp_path / catalogs.TEMPLATE).read_bytes()

    write_source(tmp_path, "\n\n# moved down\n" + SOURCE)
    _, changed = catalogs.write_template(tmp_path)

    assert not changed
    text = before.decode()
    assert "\n#: " not in text
    assert '"POT-Creation-Date: 2024-01-01 00:00+0000\\n"' in text
    assert "Generated-By" not in text
    assert catalogs.update(tmp_path)[1].endswith("(unchanged)")


def test_update_creates_catalogs_with_the_locale_plural_forms(tmp_path: Path) -> None:
    write_source(tmp_path)

    catalogs.update(tmp_path)

    assert read_catalog(tmp_path, "zh_Hans").num_plurals == 1
    assert read_catalog(tmp_path, "en").num_plurals == 2


def test_update_keeps_translations_and_never_guesses(tree: Path) -> None:
    write_source(tree, SOURCE.replace('"Goodbye"', '"Goodbye!"'))

    catalogs.update(tree)

    for locale in catalogs.LOCALES:
        catalog = read_catalog(tree, locale)
        changed = catalog.get("Goodbye!")
        assert changed is not None
        assert changed.string == ""
        assert not changed.fuzzy
        assert catalog.get("Goodbye") is None
        assert catalog.get("Hello, {name}!") is not None
    kept = read_catalog(tree, "zh_Hans").get("meeting")
    assert kept is not None
    assert kept.string == "会议"
    po = catalogs.catalog_path(tree, "en").read_text(encoding="utf-8")
    assert "#~" not in po
    problems = catalogs.find_problems(tree)
    assert len(problems) == 2
    assert all('msgid "Goodbye!": translation is empty' in problem for problem in problems)


def test_a_message_missing_from_a_catalog_is_reported(tree: Path) -> None:
    edit_catalog(tree, "zh_Hans", lambda catalog: catalog.delete("Goodbye"))

    assert catalogs.find_problems(tree) == [
        'locales/zh_Hans/LC_MESSAGES/messages.po: msgid "Goodbye" is missing '
        "(run `python -m bot.catalogs update`)"
    ]


def test_an_empty_translation_is_reported(tree: Path) -> None:
    edit_catalog(tree, "en", set_string("Save", "", context="button"))

    assert catalogs.find_problems(tree) == [
        'locales/en/LC_MESSAGES/messages.po: msgid "Save" [msgctxt "button"]: translation is empty'
    ]


def test_a_fuzzy_translation_is_reported(tree: Path) -> None:
    def make_fuzzy(catalog: Catalog) -> None:
        message = catalog.get("Goodbye")
        assert message is not None
        message.flags.add("fuzzy")

    edit_catalog(tree, "zh_Hans", make_fuzzy)

    [problem] = catalogs.find_problems(tree)
    assert 'zh_Hans/LC_MESSAGES/messages.po: msgid "Goodbye" is fuzzy' in problem


def test_a_placeholder_mismatch_is_reported(tree: Path) -> None:
    edit_catalog(tree, "zh_Hans", set_string("Hello, {name}!", "你好，{nom}！"))

    [problem] = catalogs.find_problems(tree)
    assert "translation has placeholders {nom}, the msgid has {name}" in problem


def test_each_plural_form_is_checked(tree: Path) -> None:
    edit_catalog(tree, "en", set_string("{n} member", ("{n} member", "{count} members")))
    edit_catalog(tree, "zh_Hans", set_string("{n} member", ("党员",)))

    problems = catalogs.find_problems(tree)

    assert len(problems) == 2
    assert "en/LC_MESSAGES" in problems[0]
    assert "plural form 1 has placeholders {count}" in problems[0]
    assert "zh_Hans/LC_MESSAGES" in problems[1]
    assert "plural form 0 has placeholders none" in problems[1]


def test_a_translation_that_is_not_a_format_string_is_reported(tree: Path) -> None:
    edit_catalog(tree, "zh_Hans", set_string("Hello, {name}!", "你好，{name！"))

    [problem] = catalogs.find_problems(tree)
    assert "translation is not a valid format string" in problem


def test_a_stale_template_is_reported(tree: Path) -> None:
    write_source(tree, SOURCE.replace('tr._("Goodbye")', 'tr._("See you")'))

    problems = catalogs.find_problems(tree)

    assert problems == [
        'locales/messages.pot: stale, msgid "See you" is in the code but not in the template '
        "(run `python -m bot.catalogs update`)",
        'locales/messages.pot: stale, msgid "Goodbye" is in the template but no longer in the '
        "code (run `python -m bot.catalogs update`)",
    ]


def test_a_changed_plural_or_context_makes_the_template_stale(tree: Path) -> None:
    write_source(
        tree, SOURCE.replace('"{n} members"', '"{n} people"').replace('"button"', '"menu"')
    )

    problems = catalogs.find_problems(tree)

    assert len(problems) == 4
    assert all(problem.startswith("locales/messages.pot: stale") for problem in problems)


def test_a_message_built_at_run_time_is_reported(tree: Path) -> None:
    write_source(
        tree,
        'def f(tr, name):\n    return tr._(f"Hi {name}") + tr._("Hi {name}".format(name=name))\n',
        "handlers/greet.py",
    )

    problems = catalogs.find_problems(tree)

    assert len(problems) == 3
    assert problems[0].startswith("handlers/greet.py:2: _() is given an f-string")
    assert problems[1].startswith("handlers/greet.py:2: _() is given an already formatted string")
    assert '"Hi {name}" is in the code but not in the template' in problems[2]


def test_placeholders() -> None:
    assert catalogs.placeholders("{a} and {b.c} at {d:{width}}") == {
        "{a}",
        "{b.c}",
        "{d}",
        "{width}",
    }
    assert catalogs.placeholders("no fields, {{literal}}") == frozenset()
    with pytest.raises(ValueError):
        catalogs.placeholders("{unclosed")
    with pytest.raises(ValueError):
        catalogs.placeholders("{a!x}")


def test_the_command_line_check(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogs.main(["check", "--root", str(tree)]) == 0
    assert capsys.readouterr().out == "catalogs OK: 5 messages\n"

    edit_catalog(tree, "en", lambda catalog: catalog.delete("Goodbye"))

    assert catalogs.main(["check", "--root", str(tree)]) == 1
    assert '"Goodbye" is missing' in capsys.readouterr().out
