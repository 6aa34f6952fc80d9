"""Calendar rule overrides (nearest wins, validated, audited, CLI) and party group meetings."""

import asyncio
import datetime as dt
import random

import pytest
from sqlalchemy import delete, update

from bot.__main__ import main
from bot.app import ZhibuApp
from bot.compliance import (
    OverrideError,
    branch_compliance,
    rule_book,
    set_override,
    subtree_compliance,
)
from bot.demo import DemoUser
from bot.enums import OrgKind, Role
from bot.fake_telegram import FakeTelegramClient
from bot.rules.calendar import (
    ActivityFact,
    ObligationState,
    PeriodKind,
    compliance,
    period_containing,
    previous_period,
)
from bot.rules.kinds import ActivityKind
from storage import queries
from storage.db import SessionFactory
from storage.models import RoleAssignment
from storage.models_activity import Activity
from tests.support.activity import activities, add_activity, as_user, org_today, pin_clock


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's clock stands still (a run across midnight in Shanghai must not matter)."""
    pin_clock(monkeypatch)


async def _periods(db: SessionFactory, code: str) -> dict[str, PeriodKind]:
    today = org_today()
    async with db() as session:
        branch = await queries.org_by_code(session, code)
        assert branch is not None
        statuses = await branch_compliance(session, branch, on=today, today=today)
    return {status.rule.key: status.period.kind for status in statuses}


async def test_the_nearest_override_wins(db: SessionFactory, demo: dict[str, DemoUser]) -> None:
    assert (await _periods(db, "DEMO-B1"))["lecture"] is PeriodKind.QUARTER
    async with db.begin() as session:
        committee = await queries.org_by_code(session, "DEMO")
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert committee is not None and branch is not None
        await set_override(session, org=committee, rule_key="lecture", fields={"period": "half"})
        await set_override(session, org=branch, rule_key="lecture", fields={"period": "quarter"})
        await set_override(session, org=committee, rule_key="talk", fields={"enabled": False})
    b1, b2 = await _periods(db, "DEMO-B1"), await _periods(db, "DEMO-B2")
    assert b1["lecture"] is PeriodKind.QUARTER and b2["lecture"] is PeriodKind.HALF
    assert "talk" not in b1 and "talk" not in b2  # disabled for the whole subtree
    async with db() as session:
        entries = await queries.audit_entries(session, action="calendar.rule_override")
    assert [e.details["rule"] for e in entries] == ["lecture", "lecture", "talk"]


async def test_an_invalid_override_is_refused(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        committee = await queries.org_by_code(session, "DEMO")
        assert committee is not None
        with pytest.raises(OverrideError, match="only_quarter"):
            await set_override(
                session, org=committee, rule_key="committee_meeting", fields={"only_quarter": 4}
            )
        with pytest.raises(OverrideError, match="unknown rule"):
            await set_override(session, org=committee, rule_key="dues", fields={})
        with pytest.raises(OverrideError):
            await set_override(session, org=committee, rule_key="lecture", fields={"min_count": 0})


async def _zhibu_rules(*argv: str) -> int:
    # main() runs its own event loop; keep it off the test's loop.
    return await asyncio.to_thread(main, ["rules", *argv])


async def test_the_command_line_sets_and_shows_rules(
    cli_env: str,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await _zhibu_rules("set", "--org", "DEMO", "--rule", "lecture", "--period", "half") == 0
    assert "lecture: 1 per half" in capsys.readouterr().out
    assert (await _periods(db, "DEMO-B3"))["lecture"] is PeriodKind.HALF
    assert await _zhibu_rules("show", "--org", "NOPE") == 1
    assert (
        await _zhibu_rules("set", "--org", "DEMO", "--rule", "themed_day", "--only-quarter", "2")
        == 1
    )
    assert "refused" in capsys.readouterr().err


async def test_due_follows_an_override(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        committee = await queries.org_by_code(session, "DEMO")
        assert committee is not None
        await set_override(session, org=committee, rule_key="lecture", fields={"period": "half"})
    half = period_containing(PeriodKind.HALF, org_today())
    label = "first half" if half.start.month == 1 else "second half"
    secretary = await as_user(client, demo, "陈静")
    await secretary.send("/due")
    due = await secretary.wait_reply()
    assert f"⏳ Party lecture ({label} of {half.start.year}): due" in due.text


async def test_party_group_meeting_asks_which_group(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert branch is not None
        for code, name in (("DEMO-B1-G1", "First group"), ("DEMO-B1-G2", "Second group")):
            await queries.add_org_unit(
                session, code=code, kind=OrgKind.PARTY_GROUP, name=name, parent=branch
            )
    secretary = await as_user(client, demo, "王芳")
    await secretary.send("/due")
    due = await secretary.wait_reply()
    assert "⏳ party group meeting (" in due.text  # the branch has groups now
    await secretary.send("party group meeting today 3/4 topic: study")
    group = await secretary.wait_reply()
    assert "Which party group" in group.text
    assert group.button_texts == ["First group", "Second group"]
    await secretary.press(group, "Second group")
    summary = await secretary.wait_edit()
    await secretary.press(summary, "Save")
    await secretary.wait_edit()
    [activity] = await activities(db)
    async with db() as session:
        unit = await queries.org_by_code(session, "DEMO-B1-G2")
        assert unit is not None
    assert activity.party_group_id == unit.id and activity.day == org_today()
    today = org_today()
    async with db() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert b1 is not None
        statuses = await branch_compliance(session, b1, on=today, today=today)
    [group_rule] = [s for s in statuses if s.rule.key == "group_meeting"]
    await secretary.send("/due")
    due = await secretary.wait_reply()
    assert "party groups still to meet: First group" in due.text
    # One group met, the other has not yet: the obligation is still due for that group.
    assert group_rule.state is ObligationState.DUE and len(group_rule.missing_groups) == 1


async def test_deputies_log_and_a_lost_role_saves_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        b2 = await queries.org_by_code(session, "DEMO-B2")
        deputy = await queries.person_in_branch(session, branch=b1, name="李强")
        assert b1 is not None and b2 is not None and deputy is not None
        await queries.grant_role(session, person=deputy, org_unit=b1, role=Role.DEPUTY)
        # 王芳 leads two branches: /log asks which one.
        secretary = await queries.person_in_branch(session, branch=b1, name="王芳")
        assert secretary is not None
        await queries.grant_role(session, person=secretary, org_unit=b2, role=Role.SECRETARY)
    wang = await as_user(client, demo, "王芳")
    await wang.send("/log")
    which = await wang.wait_reply()
    assert which.button_texts == ["DEMO-B1", "DEMO-B2"]
    await wang.press(which, "DEMO-B2")
    kinds = await wang.wait_edit()
    assert "What did the branch hold?" in kinds.text
    await wang.send("/cancel")
    await wang.press(await wang.wait_reply(), "Discard draft")
    await wang.wait_edit()
    # A quick log from her asks which branch too, and keeps what the message said.
    await wang.send("committee meeting today 4/5 topic: budget")
    which = await wang.wait_reply()
    await wang.press(which, "DEMO-B2")
    summary = await wang.wait_edit()
    assert "Topic: budget" in summary.text and "4 present out of 5 expected" in summary.text
    await wang.press(summary, "Save")
    await wang.wait_edit()
    [saved] = await activities(db)
    assert saved.branch_id == b2.id and saved.topic == "budget"
    li = await as_user(client, demo, "李强")
    await li.send("themed party day today 3/4 topic: volunteering")
    summary = await li.wait_reply()
    assert "Kind: themed Party day" in summary.text
    async with db.begin() as session:
        await session.execute(delete(RoleAssignment).where(RoleAssignment.role == Role.DEPUTY))
    update_id = await li.press(summary, "Save")
    assert "Nothing was changed" in (await li.callback_answer(update_id))["text"]
    assert [a.topic for a in await activities(db)] == ["budget"]
    await li.send("/cancel")
    assert "nothing to cancel" in (await li.wait_reply()).text


async def test_reading_only_what_counts_gives_the_same_answers(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    rng = random.Random(19)
    today = org_today()
    kinds = list(ActivityKind)
    stored: dict[str, list[ActivityFact]] = {code: [] for code in ("DEMO-B1", "DEMO-B2", "DEMO-B3")}
    for n in range(300):
        code = rng.choice(list(stored))
        day = today - dt.timedelta(days=rng.randrange(500))
        chosen = tuple(rng.sample(kinds, rng.choice((1, 1, 2))))
        activity_id = await add_activity(db, code, day, chosen)
        if rng.random() < 0.1:
            async with db.begin() as session:
                await session.execute(
                    update(Activity).where(Activity.id == activity_id).values(voided=True)
                )
        else:
            stored[code].append(ActivityFact(n, day, frozenset(chosen)))
    async with db.begin() as session:
        committee = await queries.org_by_code(session, "DEMO")
        b2 = await queries.org_by_code(session, "DEMO-B2")
        assert committee is not None and b2 is not None
        await set_override(session, org=committee, rule_key="lecture", fields={"period": "half"})
        await set_override(session, org=b2, rule_key="life_meeting", fields={"only_quarter": 4})
        book = await rule_book(session)
    month = period_containing(PeriodKind.MONTH, today)
    for _ in range(14):
        on = today if today in month else month.end
        async with db() as session:
            assert committee is not None
            rows = await subtree_compliance(session, committee, on=on, today=today)
        for row in rows:
            expected = compliance(
                book.rules_for(row.branch.path), stored[row.branch.code], [], on, today=today
            )
            got = [(s.rule.key, s.state, s.done_dates, s.count) for s in row.statuses]
            want = [(s.rule.key, s.state, s.done_dates, s.count) for s in expected]
            assert got == want, (row.branch.code, on)
        month = previous_period(month)


async def test_admins_change_a_rule_in_the_bot(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    admin = await as_user(client, demo, "林书记")
    await admin.send("/report rules")
    rules = await admin.wait_reply()
    assert "Calendar rules for Demo Sub-district Committee" in rules.text
    assert "4. Party lecture: at least 1 every quarter" in rules.text
    assert "(each party group)" in rules.text
    await admin.send("/report rules lecture half")
    rules = await admin.wait_reply()
    assert rules.text.startswith("Saved.")
    assert "4. Party lecture: at least 1 every half year" in rules.text
    await admin.send("/report rules talk off")
    assert "heart-to-heart talk: at least 1 every year (off)" in (await admin.wait_reply()).text
    await admin.send("/report rules committee_meeting sometimes")
    assert "not possible" in (await admin.wait_reply()).text
    assert (await _periods(db, "DEMO-B1"))["lecture"] is PeriodKind.HALF
    await admin.send("/report rules lecture reset")
    rules = await admin.wait_reply()
    assert "4. Party lecture: at least 1 every quarter" in rules.text
    assert "(off)" in rules.text  # the talk rule stays off: only the lecture was reset
    async with db() as session:
        actions = [e.action for e in await queries.audit_entries(session)]
    assert actions.count("calendar.rule_override") == 2
    assert actions.count("calendar.rule_override_removed") == 1
    secretary = await as_user(client, demo, "王芳")
    await secretary.send("/report rules lecture year")
    assert "Nothing was changed" in (await secretary.wait_reply()).text
    assert (await _periods(db, "DEMO-B1"))["lecture"] is PeriodKind.QUARTER
