"""`zhibu book --org CODE --year YEAR [--out DIR]` (bot/cli/book.py): a branch's book, one
book per branch below another node, photos named rather than embedded, and sentences for what
cannot be done."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.demo import DemoUser
from bot.i18n import Translator
from storage.db import SessionFactory
from tests.support.activity import pin_clock
from tests.support.book import YEAR, all_text, headings, open_docx, seed_year


@pytest.fixture
async def seeded(
    cli_env: str,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_clock(monkeypatch)
    monkeypatch.setenv("ZHIBU_DEFAULT_LOCALE", "zh_Hans")
    await seed_year(db, photo_ids=("p1",))


def book(org: str, year: int, out: Path) -> int:
    """Run `zhibu book` as an operator would."""
    return main(["book", "--org", org, "--year", str(year), "--out", str(out)])


def test_a_branch_book_is_written_with_its_photos_named(
    seeded: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert book("DEMO-B1", YEAR, tmp_path) == 0
    [path] = capsys.readouterr().out.splitlines()
    assert Path(path) == tmp_path / f"DEMO-B1 第一党支部 {YEAR}.docx"
    document = open_docx(Path(path).read_bytes())
    assert len(headings(document, 2)) == 20 and len(document.inline_shapes) == 0
    tr = Translator("zh_Hans")
    assert tr._("sick leave") in all_text(document)
    note = tr._(
        "Photo {number}: photo not embedded (the command line has no bot to "
        "download it with); the book from /book in the bot includes it."
    ).format(number=1)
    assert note in all_text(document)


def test_a_committee_writes_one_book_per_branch(
    seeded: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert book("DEMO", YEAR, tmp_path / "out") == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        f"DEMO-B1 第一党支部 {YEAR}.docx",
        f"DEMO-B2 第二党支部 {YEAR}.docx",
        f"DEMO-B3 机关党支部 {YEAR}.docx",
    ]


def test_unknown_nodes_and_years_are_sentences(
    seeded: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert book("NOPE", YEAR, out) == 1
    assert "no organisation node with code 'NOPE'" in capsys.readouterr().err
    assert book("DEMO-B1", YEAR + 1, out) == 1
    assert f"the year must be 2000-{YEAR}" in capsys.readouterr().err
    assert not out.exists()
