"""The branch-term command line, and the planner's use of the category's term length."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.__main__ import main
from bot.demo import DemoUser
from bot.enums import BranchCategory
from storage.db import SessionFactory
from storage.models_reminders import BranchTerm


async def _run(argv: list[str]) -> int:
    # main() runs its own event loop; keep it off the test's loop.
    return await asyncio.to_thread(main, ["terms", *argv])


async def test_set_and_show_a_village_branch_term(
    cli_env: str,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = await _run(
        ["set", "--org", "DEMO-B1", "--started", "2024-01-31", "--category", "village"]
    )
    assert code == 0
    assert (
        "village branch, term of 5 years from 2024-01-31, ends 2029-01-31"
        in capsys.readouterr().out
    )
    assert await _run(["set", "--org", "DEMO-B1", "--started", "2024-01-31", "--years", "3"]) == 0
    assert "ends 2027-01-31" in capsys.readouterr().out
    async with db() as session:
        rows = list((await session.scalars(select(BranchTerm))).all())
    assert [(r.category, r.term_years) for r in rows] == [(BranchCategory.VILLAGE, 3)]
    assert await _run(["show", "--org", "DEMO-B2"]) == 0
    assert "no term recorded" in capsys.readouterr().out
    assert await _run(["show", "--org", "NOPE"]) == 1
