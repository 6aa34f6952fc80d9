"""Shards of a test pass for CI to run side by side (ZHIBU_TEST_SHARD=k/n): whole test files,
balanced by the seconds each file took in a measured run (tests/durations.json, per backend).

A file keeps its module-scoped fixtures and its order, and a split by file is the same in every
run. A file not measured yet counts as its tests times the measured seconds per test.

Refresh the table from the JUnit reports `.ci/test` leaves in .ci/logs/:
    .venv/bin/python -m tests.support.shards .ci/logs/sqlite-*.xml .ci/logs/postgresql-*.xml
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

TABLE = Path(__file__).resolve().parents[1] / "durations.json"
# The backend a report is of, from its name (`sqlite-1.xml`, `postgresql-2.xml`).
REPORT_NAME = re.compile(r"(sqlite|postgresql)(-\d+)?\.xml$")


class Item(Protocol):
    """What a shard reads of a collected test."""

    @property
    def nodeid(self) -> str: ...


T = TypeVar("T", bound=Item)


def parse(spec: str) -> tuple[int, int]:
    """`k/n` → (k, n), 1 <= k <= n."""
    match = re.fullmatch(r"(\d+)/(\d+)", spec.strip())
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"ZHIBU_TEST_SHARD must be k/n with 1 <= k <= n, not {spec!r}")
    return int(match[1]), int(match[2])


def file_of(item: Item) -> str:
    """The test file an item belongs to (`tests/test_x.py`)."""
    return item.nodeid.split("::", 1)[0]


def split(items: Sequence[Item], shards: int, seconds: dict[str, float]) -> list[set[str]]:
    """The files of each shard: longest first onto the shard with the fewest seconds so far."""
    tests = Counter(file_of(item) for item in items)
    known = [name for name in tests if name in seconds]
    per_test = sum(seconds[n] for n in known) / sum(tests[n] for n in known) if known else 1.0
    weight = {name: seconds.get(name, per_test * count) for name, count in tests.items()}
    loads = [0.0] * shards
    files: list[set[str]] = [set() for _ in range(shards)]
    for name in sorted(weight, key=lambda n: (-weight[n], n)):
        lightest = min(range(shards), key=lambda k: (loads[k], k))
        loads[lightest] += weight[name]
        files[lightest].add(name)
    return files


def select(items: Sequence[T], spec: str, backend: str) -> tuple[list[T], list[T]]:
    """(kept, dropped): the items of shard `spec` of this backend's pass."""
    shard, shards = parse(spec)
    table = json.loads(TABLE.read_text()) if TABLE.exists() else {}
    mine = split(items, shards, table.get(backend, {}))[shard - 1]
    kept = [item for item in items if file_of(item) in mine]
    dropped = [item for item in items if file_of(item) not in mine]
    return kept, dropped


def measured(reports: Iterable[Path]) -> dict[str, dict[str, float]]:
    """Seconds per test file and backend in JUnit reports (set-up, call and tear-down)."""
    table: dict[str, dict[str, float]] = {}
    for report in reports:
        match = REPORT_NAME.search(report.name)
        if match is None:
            raise SystemExit(f"{report}: name it sqlite[-k].xml or postgresql[-k].xml")
        seconds = table.setdefault(match[1], {})
        for case in ET.parse(report).getroot().iter("testcase"):
            parts = case.get("classname", "").split(".")
            while parts and parts[-1].startswith("Test"):  # a test class, not a module
                parts.pop()
            name = "/".join(parts) + ".py"
            seconds[name] = seconds.get(name, 0.0) + float(case.get("time") or 0)
    return {
        backend: {name: round(value, 1) for name, value in sorted(seconds.items())}
        for backend, seconds in sorted(table.items())
    }


def main(argv: Sequence[str]) -> None:
    """Write tests/durations.json from the reports named on the command line."""
    if not argv:
        raise SystemExit(__doc__)
    table = json.loads(TABLE.read_text()) if TABLE.exists() else {}
    table.update(measured(Path(arg) for arg in argv))
    TABLE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"{TABLE}: {', '.join(f'{b}: {len(s)} files' for b, s in table.items())}")


if __name__ == "__main__":
    main(sys.argv[1:])
