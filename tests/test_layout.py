"""The shape of the code that the checks hold: no module grows past what a reader takes in."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500


def _modules() -> dict[str, int]:
    sizes = {}
    for package in ("bot", "handlers", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                sizes[relative] = len(path.read_text(encoding="utf-8").splitlines())
    return sizes


def test_no_module_is_longer_than_500_lines() -> None:
    sizes = _modules()
    too_long = {m: n for m, n in sizes.items() if n > MAX_LINES}
    assert too_long == {}, f"split these by use case (at most {MAX_LINES} lines): {too_long}"
