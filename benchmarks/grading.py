"""Time to score and export a grading campaign of 10,000 branches with member answers.

    .venv/bin/python -m benchmarks.grading [--branches 10000] [--members 20] [--database-url URL]

Seeds a committee with N branches (M members each, every branch's self-assessment submitted,
a superior's score, 75 % of members and 10 % masses answering the surveys) into a fresh
database, then times what /report grading and finalising do: scoring every branch from the
database (campaign_results) and writing the XLSX. Target: under 10 s for 10,000 branches.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (this checkout's code, not the virtualenv's editable install)
from sqlalchemy import insert, update

from bot.enums import OrgKind, SurveyGroup
from bot.grading import service
from bot.grading.export import export_xlsx
from bot.grading.results import campaign_results
from bot.grading.satisfaction import SATISFACTION_VALUES
from bot.i18n import Translator, load_catalogs
from handlers.grading_labels import export_labels
from storage import queries
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import OrgUnit, Person
from storage.models_grading import GradingAssessment, GradingCampaign, SatisfactionResponse

CHUNK = 20_000


def _answers(questionnaire_items: list[tuple[str, str]], rng: random.Random) -> dict[str, object]:
    answers: dict[str, object] = {}
    for item_id, kind in questionnaire_items:
        if kind == "yes_partly_no":
            answers[item_id] = rng.choice(["yes", "yes", "partly", "no"])
        elif kind == "scale_1_5":
            answers[item_id] = rng.randint(1, 5)
        elif kind == "number":
            answers[item_id] = rng.randint(0, 60)
        elif kind == "text":
            answers[item_id] = "ok"
    return answers


async def seed(url: str, branches: int, members: int) -> int:
    """Fill the database; returns the campaign id."""
    rng = random.Random(2012)
    engine = create_engine(url)
    db = session_factory(engine)
    questionnaire = service.load_default()
    choice_items = {i.id: [o.id for o in i.options] for i in questionnaire.items if i.options}
    items = [(i.id, i.type.value) for i in questionnaire.items]
    async with db.begin() as session:
        root = await queries.add_org_unit(
            session, code="BENCH", kind=OrgKind.COMMITTEE, name="基准党委"
        )
        first = root.id + 1
        rows = [
            {
                "id": first + n,
                "code": f"BENCH-{n:05d}",
                "kind": OrgKind.BRANCH,
                "name": f"第{n}党支部",
                "name_en": f"Branch {n}",
                "parent_id": root.id,
                "path": f"{root.path}{first + n}/",
            }
            for n in range(branches)
        ]
        for start in range(0, len(rows), CHUNK):
            await session.execute(insert(OrgUnit), rows[start : start + CHUNK])
        people = [
            {"name": f"党员{n}-{m}", "branch_id": first + n}
            for n in range(branches)
            for m in range(members)
        ]
        for start in range(0, len(people), CHUNK):
            await session.execute(insert(Person), people[start : start + CHUNK])
        now = dt.datetime.now(dt.UTC)
        campaign, _ = await service.start_campaign(
            session,
            root=root,
            deadline=now + dt.timedelta(days=30),
            config=service.make_config(satisfaction_floor=0.9),
            now=now,
        )
        campaign_id = campaign.id
    async with db.begin() as session:
        values = SATISFACTION_VALUES
        responses = []
        for n in range(branches):
            answers = _answers(items, rng)
            for item_id, options in choice_items.items():
                answers[item_id] = rng.choice(options)
            await session.execute(
                update(GradingAssessment)
                .where(
                    GradingAssessment.campaign_id == campaign_id,
                    GradingAssessment.branch_id == first + n,
                )
                .values(
                    answers=answers,
                    submitted_at=now,
                    self_score=service.self_points(questionnaire, answers)[0],  # type: ignore[arg-type]
                    superior={"total": float(rng.randint(40, 100))},
                )
            )
            for _ in range(members * 3 // 4):
                responses.append(
                    {
                        "id": len(responses) + 1,
                        "campaign_id": campaign_id,
                        "branch_id": first + n,
                        "group": SurveyGroup.MEMBER,
                        "value": rng.choice(values[:3] * 3 + values[3:]),
                    }
                )
            for _ in range(max(1, members // 10)):
                responses.append(
                    {
                        "id": len(responses) + 1,
                        "campaign_id": campaign_id,
                        "branch_id": first + n,
                        "group": SurveyGroup.MASS,
                        "value": rng.choice(values),
                    }
                )
        for start in range(0, len(responses), CHUNK):
            await session.execute(insert(SatisfactionResponse), responses[start : start + CHUNK])
    await engine.dispose()
    return campaign_id


async def measure(url: str, campaign_id: int) -> tuple[float, float, int, int]:
    """(seconds to score, seconds to export, branches, bytes of XLSX)."""
    load_catalogs()
    engine = create_engine(url)
    db = session_factory(engine)
    started = time.perf_counter()
    async with db() as session:
        campaign = await session.get(GradingCampaign, campaign_id)
        assert campaign is not None
        results = await campaign_results(session, campaign)
    scored = time.perf_counter()
    data = export_xlsx(
        service.questionnaire_for(campaign),
        results,
        export_labels(Translator("zh_Hans")),
        closed=True,
    )
    exported = time.perf_counter()
    await engine.dispose()
    return scored - started, exported - scored, len(results), len(data)


def main() -> None:
    """Seed, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        seeding = time.perf_counter()
        campaign_id = asyncio.run(seed(url, args.branches, args.members))
        seeded = time.perf_counter() - seeding
        score, export, count, size = asyncio.run(measure(url, campaign_id))
    total = score + export
    print(f"database: {url.split(':', 1)[0]}; seeded in {seeded:.1f} s (not timed)")
    print(
        f"{count} branches, {args.members} members each "
        f"({count * args.members * 3 // 4} member answers, mass answers, superior's scores)"
    )
    print(f"score every branch from the database: {score:.2f} s")
    print(f"export the XLSX ({size // 1024} kB): {export:.2f} s")
    print(f"total: {total:.2f} s (target < 10 s): {'OK' if total < 10 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
