"""The anonymity migration: answers stored in answering order under a sequence are re-keyed
and reshuffled, drafts that could hold an answer's key are dropped, nothing else is lost."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import text

from bot.demo import DemoUser
from storage.db import SessionFactory, create_engine
from storage.migrate import alembic_config, upgrade
from tests.support import grading

BEFORE = "20261204_recent_updates"


async def test_answers_are_rekeyed_and_survey_drafts_dropped(
    database_url: str, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    b3 = (await grading.assessment(db, campaign_id, "DEMO-B3")).branch_id
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), BEFORE)
    try:
        engine = create_engine(database_url)
        async with engine.begin() as conn:
            # As the previous version stored them: numbered in the order they were given,
            # and a draft waiting for the comment on answer 4.
            for number, value in enumerate(
                ["satisfied", "dissatisfied", "fairly_satisfied", "satisfied"], start=1
            ):
                await conn.execute(
                    text(
                        'INSERT INTO grading_satisfaction (id, campaign_id, branch_id, "group", '
                        "value, comment) VALUES (:id, :c, :b, 'member', :v, :note)"
                    ),
                    {"id": number, "c": campaign_id, "b": b3, "v": value, "note": f"n{number}"},
                )
            for name, data in (("grading_survey", '{"rid": 4, "step": "text"}'), ("invite", "{}")):
                await conn.execute(
                    text(
                        "INSERT INTO conversations (name, chat_id, user_id, state, data, "
                        "recent_updates, updated_at) VALUES (:n, 1, 1, 'comment', :d, '[]', "
                        "CURRENT_TIMESTAMP)"
                    ),
                    {"n": name, "d": data},
                )
        await engine.dispose()
    finally:
        upgrade(database_url)
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT id, value, comment FROM grading_satisfaction"))
        ).all()
        drafts = (await conn.execute(text("SELECT name FROM conversations"))).scalars().all()
        added = (
            (await conn.execute(text("SELECT DISTINCT added_by_invite FROM people")))
            .scalars()
            .all()
        )
    await engine.dispose()
    assert sorted((v, c) for _id, v, c in rows) == [
        ("dissatisfied", "n2"),
        ("fairly_satisfied", "n3"),
        ("satisfied", "n1"),
        ("satisfied", "n4"),
    ]
    assert not {row[0] for row in rows} & {1, 2, 3, 4}  # no trace of the old numbering
    assert drafts == ["invite"]
    assert [bool(a) for a in added] == [False]
