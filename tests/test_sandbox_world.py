"""The offline sandbox's world: every demo chat exists from the start, a year of history that
every report can show, one clock moved from outside that fires what fell due once (quiet
hours holding what they should), strangers stored only after consent, a fresh start."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import zoneinfo
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import clock
from bot.cli import main
from bot.compliance import subtree_compliance
from bot.delivery import DELIVERY_KEY
from bot.enums import (
    CampaignStatus,
    DeliveryState,
    NoticeAudience,
    PersonStatus,
    RectificationStatus,
    RequestState,
)
from bot.notice_service import confirm_notice, release_notice
from bot.rules.calendar import ObligationState
from bot.sandbox.world import Sandbox, SandboxError
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_activity import Activity
from storage.models_grading import GradingAssessment, GradingCampaign, RectificationItem
from storage.models_notices import NoticeDelivery
from storage.models_relink import RelinkRequest
from storage.models_reminders import Training, TrainingInvitee
from tests.support.sandbox import running_sandbox, sandbox_settings

pytestmark = pytest.mark.slow

SECOND_ROTATION = "基层党组织书记轮训（第二期）"
SECRETARIES = (900010, 900020, 900030)


def _texts(sandbox: Sandbox, chat_id: int) -> list[str]:
    return [
        str(event["message"]["text"] or event["message"]["caption"] or "")
        for event in sandbox.server.bot_events(chat_id, kinds=("message",))
    ]


async def test_every_demo_person_can_be_reached_from_the_start(
    database_url: str, db: SessionFactory
) -> None:
    """A notice to everyone reaches every copy: no demo chat is unknown to the fake Telegram
    (before, the people nobody had acted as got "chat not found")."""
    async with running_sandbox(database_url) as running:
        sandbox = running.sandbox
        now = clock.now()
        async with db.begin() as session:
            committee = await queries.org_by_code(session, "DEMO")
            assert committee is not None
            confirmed = await confirm_notice(
                session,
                org=committee,
                actor=None,
                audience=NoticeAudience.EVERYONE,
                branch_ids=(),
                texts={"zh_Hans": "全体会议通知"},
                primary_locale="zh_Hans",
                require_ack=False,
                media_kind=None,
                media_file_id=None,
                send_at=None,
                now=now,
                chat_id=None,
                message_id=None,
            )
            await release_notice(session, confirmed.notice.id, now)
            notice_id = confirmed.notice.id
        await sandbox.fire()
        await sandbox.application.bot_data[DELIVERY_KEY].drained()
        async with db() as session:
            accounts = list(await session.scalars(select(Account.telegram_id)))
        for telegram_id in accounts:
            events = await sandbox.server.wait_bot_events(telegram_id, timeout=30)
            assert events, f"nothing reached {telegram_id}"
        async with db() as session:
            states = list(
                await session.scalars(
                    select(NoticeDelivery.state).where(NoticeDelivery.notice_id == notice_id)
                )
            )
        assert len(states) == len(accounts) == 13
        assert set(states) == {DeliveryState.SENT}


async def test_the_demo_has_a_year_of_history_for_every_report(
    database_url: str, db: SessionFactory
) -> None:
    async with running_sandbox(database_url) as running:
        sandbox = running.sandbox
        history = sandbox.history
        assert history is not None
        now = clock.now()
        zone = zoneinfo.ZoneInfo("Asia/Shanghai")
        today = now.astimezone(zone).date()
        async with db() as session:
            activities = list(await session.scalars(select(Activity)))
            # Logged through the activity service at the moments they tell of.
            assert len(activities) == history.activities > 50
            assert sum(a.late for a in activities) == history.late >= 2
            assert all(a.created_at < now for a in activities)
            assert min(a.day for a in activities) <= today - dt.timedelta(days=330)
            committee = await queries.org_by_code(session, "DEMO")
            assert committee is not None
            last_month = today.replace(day=1) - dt.timedelta(days=1)
            rows = await subtree_compliance(session, committee, on=last_month, today=today)
            states = {row.branch.code: {s.state for s in row.statuses} for row in rows}
            assert ObligationState.DONE in states["DEMO-B1"]
            assert ObligationState.OVERDUE in states["DEMO-B3"]

            campaign = await session.scalar(select(GradingCampaign))
            assert campaign is not None and campaign.status is CampaignStatus.FINALISED
            grades = dict(
                (
                    await session.execute(
                        select(GradingAssessment.branch_id, GradingAssessment.grade)
                    )
                ).all()
            )
            weak = await queries.org_by_code(session, "DEMO-B3")
            assert weak is not None and grades[weak.id] == "weak"
            assert set(grades.values()) >= {"good", "weak"}
            items = list(await session.scalars(select(RectificationItem)))
            assert {item.branch_id for item in items} == {weak.id}
            assert {item.status for item in items} == {
                RectificationStatus.OPEN,
                RectificationStatus.DONE,
            }

            requests = list(await session.scalars(select(RelinkRequest)))
            assert len(requests) == history.relink_requests == 2
            assert {r.state for r in requests} == {RequestState.SUBMITTED}

            copies = list(await session.scalars(select(NoticeDelivery)))
            acknowledged = [c for c in copies if c.acknowledged_at is not None]
            assert 0 < len(acknowledged) < len(copies)
            assert len(acknowledged) == history.acknowledged

            trainings = list(await session.scalars(select(Training).order_by(Training.starts_at)))
            assert [t.starts_at < now for t in trainings] == [True, False]
            attended = await session.scalar(
                select(func.count())
                .select_from(TrainingInvitee)
                .where(TrainingInvitee.training_id == trainings[0].id, TrainingInvitee.attended)
            )
            assert attended and attended >= 2

            mobile = await session.scalar(select(Person).where(Person.name == "刘洋"))
            assert mobile is not None and mobile.status is PersonStatus.MOBILE
        kinds = {phone.kind for phone in sandbox.phones}
        assert kinds == {"admin", "secretary", "member", "mobile", "newcomer"}
        newcomer = next(phone for phone in sandbox.phones if phone.kind == "newcomer")
        assert newcomer.invite_code
        async with db() as session:
            assert await queries.account_by_telegram_id(session, newcomer.telegram_id) is None


def _next_local(hour: int, zone: dt.tzinfo) -> dt.timedelta:
    """How far the clock is from the next hour:00 in the zone."""
    local = clock.now().astimezone(zone)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= local:
        target += dt.timedelta(days=1)
    return target - local


async def test_moving_the_clock_fires_what_fell_due_once_after_quiet_hours(
    database_url: str,
) -> None:
    """The invitations to the next training wait out the night (quiet hours 22:00-08:00), go
    out once when the clock reaches the morning, and never again."""
    async with running_sandbox(database_url) as running:
        sandbox = running.sandbox
        zone = zoneinfo.ZoneInfo("Asia/Shanghai")
        minutes = int(_next_local(23, zone).total_seconds() // 60) + 1
        await sandbox.advance(f"{minutes}m")
        for chat in SECRETARIES:
            assert not any(SECOND_ROTATION in text for text in _texts(sandbox, chat))
        for _step in range(20):
            fired = await sandbox.advance("next")
            if all(any(SECOND_ROTATION in t for t in _texts(sandbox, c)) for c in SECRETARIES):
                break
        local = fired.now.astimezone(zone)
        assert 8 <= local.hour < 22, local
        await sandbox.advance("1h")
        await sandbox.advance("1d")
        for chat in SECRETARIES:
            sent = [
                event["message"]
                for event in sandbox.server.bot_events(chat, kinds=("message",))
                if SECOND_ROTATION in (event["message"]["text"] or "")
            ]
            # One invitation (with its answer buttons), and no message sent twice; the
            # reminder the day before the training mentions it too.
            assert sum(bool(m["reply_markup"]) for m in sent) == 1
            texts = [m["text"] for m in sent]
            assert len(texts) == len(set(texts)) >= 2


async def test_the_clock_only_moves_in_a_running_sandbox(database_url: str) -> None:
    async with running_sandbox(database_url) as running:
        sandbox = running.sandbox
        with pytest.raises(SandboxError, match="minutes, hours or days"):
            await sandbox.advance("yesterday")
        before = clock.offset()
        await sandbox.advance("2h")
        assert clock.offset() - before == dt.timedelta(hours=2)
    # Stopped: back to real time, and locked.
    assert clock.offset() == dt.timedelta(0)
    with pytest.raises(clock.ClockRefused):
        clock.advance(dt.timedelta(hours=1))


async def test_a_stranger_is_stored_only_after_agreeing_and_a_reset_starts_over(
    database_url: str, db: SessionFactory
) -> None:
    async with running_sandbox(database_url) as running:
        sandbox = running.sandbox
        server = sandbox.server
        stranger = await sandbox.new_stranger()
        assert stranger.kind == "newcomer" and stranger.invite_code
        marker = server.marker
        server.user_sends_text(stranger.telegram_id, f"/start {stranger.invite_code}")
        (notice,) = await server.wait_bot_events(stranger.telegram_id, since=marker)
        assert notice["message"]["reply_markup"]["inline_keyboard"]
        async with db() as session:
            assert await queries.account_by_telegram_id(session, stranger.telegram_id) is None

        # A conversation in a demo phone's chat before the reset, to see it gone after.
        marker = server.marker
        server.user_sends_text(900010, "/help")
        await server.wait_bot_events(900010, since=marker)
        before = {m["text"] for m in server.bot_messages(900010) if "text" in m}
        assert before

        await sandbox.advance("1d")
        await sandbox.reset()
        assert clock.offset() == dt.timedelta(0)
        assert stranger.telegram_id not in {p.telegram_id for p in sandbox.phones}
        # The chat starts empty; the restarted bot may already have sent what fell due at its
        # start (reminders of the demo's history), but nothing of before remains.
        assert not before & {m.get("text") for m in server.bot_messages(900010)}
        assert 900010 in server.users  # every chat exists again at once
        async with db() as session:
            assert await session.scalar(select(func.count()).select_from(Activity)) == (
                sandbox.history.activities if sandbox.history else -1
            )


async def test_a_phone_switches_its_language(database_url: str) -> None:
    async with running_sandbox(database_url) as running:
        sandbox = running.sandbox
        server = sandbox.server
        member = 900011  # 李强, whose phone speaks English
        marker = server.marker
        server.user_sends_text(member, "/help")
        (reply,) = await server.wait_bot_events(member, since=marker)
        assert "What you can do" in reply["message"]["text"]
        changed = await sandbox.set_language(member, "zh-hans")
        assert changed.language_code == "zh-hans"
        marker = server.marker
        server.user_sends_text(member, "/help")
        (reply,) = await server.wait_bot_events(member, since=marker)
        assert "您可以使用" in reply["message"]["text"]


async def test_only_a_page_on_this_computer_may_drive_the_sandbox(database_url: str) -> None:
    """A POST needs the sandbox's header (which another site's page cannot send without asking
    first), and the Host must be a loopback name (no DNS rebinding)."""
    async with running_sandbox(database_url, page=True) as running, aiohttp.ClientSession() as http:
        clock_url = f"{running.url}api/clock"
        async with http.post(clock_url, json={"advance": "1h"}) as response:
            assert response.status == 403
        headers = {"X-Zhibu-Sandbox": "1", "Host": "evil.example:80"}
        async with http.post(clock_url, json={"advance": "1h"}, headers=headers) as response:
            assert response.status == 403
        async with http.get(f"{running.url}api/events", headers={"Host": "evil.example"}) as got:
            assert got.status == 403
        assert clock.offset() == dt.timedelta(0)
        headers = {"X-Zhibu-Sandbox": "1"}
        async with http.post(clock_url, json={"advance": "1h"}, headers=headers) as response:
            body = await response.json()
        assert body["ok"] and body["result"]["offset_seconds"] == 3600


async def test_zhibu_clock_moves_the_running_sandboxs_clock_from_outside(
    database_url: str,
    cli_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The documented control: `zhibu clock advance 1d` calls the sandbox's HTTP endpoint (found
    in data/sandbox.json), and the bot sends what fell due."""
    monkeypatch.chdir(tmp_path)
    async with running_sandbox(database_url, page=True) as running:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "sandbox.json").write_text(json.dumps({"url": running.url}))
        assert await asyncio.to_thread(main, ["clock", "advance", "1d"]) == 0
        assert clock.offset() >= dt.timedelta(days=1)
        assert await asyncio.to_thread(main, ["clock"]) == 0
    out = capsys.readouterr().out
    assert "(Asia/Shanghai):" in out
    assert "1440 minutes ahead of real time" in out


async def test_a_stop_while_starting_over_waits_and_leaves_no_bot_running(
    database_url: str,
) -> None:
    """The page's "start over" announces the empty chats before the new bot is built: a stop
    arriving then (the process ending, a test finishing) waits for it, and stops it too."""
    sandbox = Sandbox(sandbox_settings(), database_url=database_url)
    await sandbox.start(fire=False)
    try:
        with sandbox.server.listen() as queue:
            resetting = asyncio.create_task(sandbox.reset())
            while (await queue.get())["kind"] != "reset":
                pass
    finally:
        await sandbox.stop()
    await resetting
    assert sandbox.application is None
    assert clock.offset() == dt.timedelta(0)
