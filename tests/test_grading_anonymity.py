"""Satisfaction answers cannot be linked to who gave them by whoever holds the database.

Four members answer the member survey, twice over on two fresh databases, with the answers
dealt out differently between them (same people, same order, the same four answers and one
comment, but each member giving another one). If anything stored paired a participant with an
answer — a column, a shared sequence number, the order rows lie in — the two databases would
differ. They don't: a dump of every table, all rows and all columns, in the database's natural
(physical) order and ordered by each column in turn, is the same in both runs. Only the shuffle
is seeded alike in both runs, so that "the same" can be compared at all; times are blanked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo import seed_demo
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.grading import surveys
from storage.db import create_engine, session_factory
from storage.models import ConversationRecord
from storage.models_grading import SatisfactionResponse, SurveyParticipant
from tests.support import database, grading
from tests.support.bot import running_bot, settings_for

ORDER = ("吴军", "孙丽", "马超", "胡婷")
LABELS = {
    "satisfied": "satisfied",
    "fairly_satisfied": "fairly satisfied",
    "basically_satisfied": "basically satisfied",
    "dissatisfied": "dissatisfied",
}
COMMENT = "会议通知能再早一点"
# Who gives which answer (with the comment, if any) in each run: the same four answers, but
# every member gives another one the second time.
PAIRINGS: tuple[dict[str, tuple[str, str | None]], ...] = (
    {
        "吴军": ("satisfied", COMMENT),
        "孙丽": ("fairly_satisfied", None),
        "马超": ("basically_satisfied", None),
        "胡婷": ("dissatisfied", None),
    },
    {
        "吴军": ("dissatisfied", None),
        "孙丽": ("satisfied", COMMENT),
        "马超": ("fairly_satisfied", None),
        "胡婷": ("basically_satisfied", None),
    },
)

Dump = dict[str, dict[str, list[tuple[Any, ...]]]]


# SQLite hands times back as text.
_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[.\d]*(\+\d\d:\d\d)?")


def _plain(value: object) -> object:
    # Times differ between the runs whatever is stored; the schema test below makes sure no
    # answer carries one.
    if isinstance(value, dt.datetime):
        return "<time>"
    if isinstance(value, dict | list):  # JSON, as PostgreSQL hands it back
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return _TIME.sub("<time>", value) if isinstance(value, str) else value


async def _dump(engine: AsyncEngine) -> Dump:
    """Every table: its rows in natural order, and ordered by each column."""
    postgres = engine.dialect.name == "postgresql"

    def tables(sync: Any) -> dict[str, list[tuple[str, bool]]]:
        inspector = inspect(sync)
        return {
            name: [(c["name"], isinstance(c["type"], JSON)) for c in inspector.get_columns(name)]
            for name in inspector.get_table_names()
        }

    dump: Dump = {}
    async with engine.connect() as conn:
        for table, columns in (await conn.run_sync(tables)).items():
            keys = [
                f'CAST("{c}" AS TEXT)' if postgres and is_json else f'"{c}"'
                for c, is_json in columns
            ]
            orders = {"natural": ""}
            if postgres:
                orders["physical"] = " ORDER BY ctid"
            for (column, _json), key in zip(columns, keys, strict=True):
                orders[column] = " ORDER BY " + ", ".join([key, *keys])
            dump[table] = {
                name: [
                    tuple(_plain(v) for v in row)
                    for row in await conn.execute(text(f'SELECT * FROM "{table}"{order}'))
                ]
                for name, order in orders.items()
            }
    return dump


async def _answer_in_turn(
    url: str,
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    pairing: dict[str, tuple[str, str | None]],
    monkeypatch: pytest.MonkeyPatch,
) -> Dump:
    """Seed the demo, start a campaign, let the four members answer; the database's dump."""
    engine = create_engine(url)
    db = session_factory(engine)
    async with db.begin() as session:
        users = {u.name: u for u in await seed_demo(session)}
    await grading.start_campaign(db)
    monkeypatch.setattr(surveys, "rng", random.Random(2026))
    async with running_bot(settings_for(url, telegram)):
        for name in ORDER:
            member = await client.user(users[name].telegram_id, name, language_code="en")
            await member.send("/survey")
            survey = await member.wait_reply()
            value, comment = pairing[name]
            await member.press(survey, LABELS[value])
            ask = await member.wait_edit()
            if comment is None:
                await member.press(ask, "Skip")
                assert "recorded" in (await member.wait_edit()).text
            else:
                await member.send(comment)
                assert "anonymously" in (await member.wait_reply()).text
    async with db() as session:
        participants = list(await session.scalars(select(SurveyParticipant.person_id)))
        answers = sorted(
            (r.value, r.comment) for r in await session.scalars(select(SatisfactionResponse))
        )
        drafts = list(await session.scalars(select(ConversationRecord.name)))
    assert len(participants) == 4
    assert answers == sorted(pairing.values())
    assert "grading_survey" not in drafts  # no draft outlives the answer it waited for
    dump = await _dump(engine)
    await engine.dispose()
    return dump


async def test_no_column_or_order_pairs_a_participant_with_an_answer(
    database_url: str,
    _migrated: Path | str,
    tmp_path: Path,
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await _answer_in_turn(database_url, telegram, client, PAIRINGS[0], monkeypatch)
    if isinstance(_migrated, Path):
        (tmp_path / "second").mkdir()
        second_url = database.fresh_sqlite(_migrated, tmp_path / "second")
    else:
        await database.empty_postgres(database_url)
        second_url = database_url
    second = await _answer_in_turn(second_url, telegram, client, PAIRINGS[1], monkeypatch)
    assert first.keys() == second.keys()
    for table in first:
        for order in first[table]:
            assert first[table][order] == second[table][order], (table, order)
    # The participants are there, and so are the answers: the dumps are alike because nothing
    # ties one to the other, not because nothing was stored.
    assert len(first["grading_survey_participants"]["natural"]) == 4
    assert len(first["grading_satisfaction"]["natural"]) == 4


def test_an_answer_carries_no_time_and_no_person() -> None:
    columns = {c.key: c for c in inspect(SatisfactionResponse).columns}
    assert set(columns) == {
        "id",
        "campaign_id",
        "branch_id",
        "group",
        "rectification_id",
        "value",
        "comment",
    }
    assert not any(isinstance(c.type, sa_datetime_types()) for c in columns.values())


def sa_datetime_types() -> tuple[type, ...]:
    from sqlalchemy import Date, DateTime

    from storage.models import UTCDateTime

    return (Date, DateTime, UTCDateTime)


async def test_presses_are_not_logged_with_the_chosen_answer(
    bot: Any,
    client: FakeTelegramClient,
    db: Any,
    demo: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await grading.start_campaign(db)
    caplog.set_level(logging.INFO)
    member = await client.user(demo["孙丽"].telegram_id, "孙丽", language_code="en")
    await member.send("/survey")
    survey = await member.wait_reply()
    data = survey.button_data("dissatisfied") or ""
    await member.press(survey, "dissatisfied")
    await member.press(await member.wait_edit(), "Skip")
    await member.wait_edit()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert data not in logged and "dissatisfied" not in logged
