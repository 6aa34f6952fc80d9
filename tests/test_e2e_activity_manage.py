"""/activities, correcting and voiding, /due and /report compliance through the fake Bot API."""

import datetime as dt
import io

import openpyxl
import pytest
from babel.dates import format_skeleton

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import Role
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeUser
from bot.rules.calendar import (
    DEFAULT_RULES,
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
from storage.models_activity import Activity
from tests.support.activity import activities, add_activity, as_user, org_today, pin_clock

K = ActivityKind
ENGLISH = {
    "general_meeting": "branch general meeting",
    "committee_meeting": "branch committee meeting",
    "group_meeting": "party group meeting",
    "lecture": "Party lecture",
    "themed_day": "themed Party day",
    "life_meeting": "organisational life meeting",
    "appraisal": "democratic appraisal of members",
    "talk": "heart-to-heart talk",
}
MARKS = {
    ObligationState.DONE: "✅",
    ObligationState.DUE: "⏳",
    ObligationState.OVERDUE: "❗",
}


# The report is built in a worker process that starts with the first report: on a loaded
# machine that alone can take seconds (the reply is awaited, not timed).
REPORT_WAIT = 60


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's clock stands still (a run across midnight in Shanghai must not matter)."""
    pin_clock(monkeypatch)


def expected_due(facts: list[ActivityFact], on: dt.date, today: dt.date) -> list[str]:
    """The start of each /due line, judged by the rules themselves."""
    lines = []
    for status in compliance(DEFAULT_RULES, facts, [], on, today=today):
        if status.state is ObligationState.NOT_APPLICABLE:
            continue
        lines.append(f"{MARKS[status.state]} {ENGLISH[status.rule.key]} (")
    return lines


def state_of(key: str, facts: list[ActivityFact], on: dt.date, today: dt.date) -> ObligationState:
    """The state the rules give one obligation."""
    [status] = [
        s for s in compliance(DEFAULT_RULES, facts, [], on, today=today) if s.rule.key == key
    ]
    return status.state


async def _open_first(user: FakeUser) -> FakeMessage:
    await user.send("/activities")
    listing = await user.wait_reply()
    await user.press(listing, listing.button_texts[0])
    return await user.wait_edit()


async def test_correct_and_void_from_the_list(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    today = org_today()
    first = await add_activity(db, "DEMO-B1", today, (K.COMMITTEE_MEETING,), topic="Old topic")
    second = await add_activity(db, "DEMO-B1", today - dt.timedelta(days=1), (K.THEMED_DAY,))
    secretary = await as_user(client, demo, "王芳")
    await secretary.send("/activities")
    listing = await secretary.wait_reply()
    assert "Activities (2), page 1 of 1" in listing.text
    assert listing.button_texts[0].endswith("branch committee meeting · Old topic")
    await secretary.press(listing, listing.button_texts[0])
    view = await secretary.wait_edit()
    assert f"Activity #{first}" in view.text and "Topic: Old topic" in view.text
    assert view.button_texts == ["Correct", "Void", "‹ Back to the list"]
    await secretary.press(view, "Correct")
    summary = await secretary.wait_edit()
    assert f"Correcting activity #{first}" in summary.text
    await secretary.press(summary, "Topic")
    await secretary.wait_edit()
    await secretary.send("New topic")
    summary = await secretary.wait_reply()
    await secretary.press(summary, "Kind")
    kinds = await secretary.wait_edit()
    await secretary.press(kinds, "Party lecture")
    kinds = await secretary.wait_edit()
    await secretary.press(kinds, "Done")
    summary = await secretary.wait_edit()
    assert "Kind: branch committee meeting, Party lecture" in summary.text
    await secretary.press(summary, "Save")
    assert f"Corrected activity #{first}" in (await secretary.wait_edit()).text
    # Void the other one, with a reason.
    await secretary.send("/activities")
    listing = await secretary.wait_reply()
    await secretary.press(listing, listing.button_texts[1])
    view = await secretary.wait_edit()
    assert f"Activity #{second}" in view.text
    await secretary.press(view, "Void")
    reason = await secretary.wait_edit()
    assert "Why should this entry be voided?" in reason.text
    await secretary.press(reason, "duplicate entry")
    assert f"Activity #{second} is void: duplicate entry" in (await secretary.wait_edit()).text
    stored = {a.id: a for a in await activities(db)}
    assert stored[first].topic == "New topic"
    assert stored[first].kinds == ["committee_meeting", "lecture"]
    assert stored[second].voided and stored[second].void_reason == "duplicate entry"
    async with db() as session:
        corrected = await queries.audit_entries(session, action="activity.corrected")
        voided = await queries.audit_entries(session, action="activity.voided")
    assert corrected[0].target_id == first
    assert corrected[0].details["changes"]["topic"] == ["Old topic", "New topic"]
    assert voided[0].target_id == second and voided[0].details["reason"] == "duplicate entry"
    # The void entry stays listed, marked, and can no longer be changed.
    await secretary.send("/activities")
    listing = await secretary.wait_reply()
    assert listing.button_texts[1].startswith("✗ ")
    await secretary.press(listing, listing.button_texts[1])
    view = await secretary.wait_edit()
    assert "Void: duplicate entry" in view.text and view.button_texts == ["‹ Back to the list"]
    update_id = await secretary.press_data(view, f"ac:x:{second}")
    assert "void" in (await secretary.callback_answer(update_id))["text"]


async def test_the_list_pages_and_voided_typed_reason(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    today = org_today()
    for days in range(10):
        await add_activity(db, "DEMO-B2", today - dt.timedelta(days=days), (K.TALK,))
    secretary = await as_user(client, demo, "陈静")
    await secretary.send("/activities")
    listing = await secretary.wait_reply()
    assert "page 1 of 2" in listing.text and listing.button_texts[-1] == "Older ›"
    await secretary.press(listing, "Older ›")
    listing = await secretary.wait_edit()
    assert "page 2 of 2" in listing.text and listing.button_texts[-1] == "‹ Newer"
    await secretary.press(listing, listing.button_texts[0])
    view = await secretary.wait_edit()
    await secretary.press(view, "Void")
    await secretary.wait_edit()
    await secretary.send("Logged for the wrong branch")
    assert "Logged for the wrong branch" in (await secretary.wait_reply()).text
    assert [a.void_reason for a in await activities(db) if a.voided] == [
        "Logged for the wrong branch"
    ]


async def test_members_see_their_branch_without_committee_minutes(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    today = org_today()
    committee = await add_activity(
        db, "DEMO-B1", today, (K.COMMITTEE_MEETING,), minutes="Secret deliberations"
    )
    other = await add_activity(db, "DEMO-B2", today, (K.LECTURE,), minutes="Lecture notes")
    member = await as_user(client, demo, "李强")
    view = await _open_first(member)
    assert f"Activity #{committee}" in view.text
    assert "Secret deliberations" not in view.text and "Minutes" not in view.text
    assert view.button_texts == ["‹ Back to the list"]
    # Forged buttons: another branch's entry, correcting, voiding.
    for data in (f"ac:v:{other}:0", f"ac:e:{committee}", f"ac:x:{committee}"):
        update_id = await member.press_data(view, data)
        answer = await member.callback_answer(update_id)
        assert "Nothing was changed" in answer["text"]
    for command in ("/log", "/due", "/report compliance"):
        await member.send(command)
        assert "Nothing was changed" in (await member.wait_reply()).text
    await member.send("committee meeting today 3/4 topic: a member tries to log")
    assert "Only the secretary or deputy" in (await member.wait_reply()).text
    # The admin sees everything in the subtree, read-only, minutes included.
    admin = await as_user(client, demo, "林书记")
    await admin.send("/activities")
    listing = await admin.wait_reply()
    assert {text.split()[0] for text in listing.button_texts} == {"DEMO-B1", "DEMO-B2"}
    await admin.press(listing, next(t for t in listing.button_texts if "DEMO-B1" in t))
    view = await admin.wait_edit()
    assert "Secret deliberations" in view.text and view.button_texts == ["‹ Back to the list"]
    update_id = await admin.press_data(view, f"ac:e:{committee}")
    assert "Nothing was changed" in (await admin.callback_answer(update_id))["text"]
    # (an admin's bare /due offers the subtree's branches: tests/test_e2e_first_hour_admin.py)
    await admin.send("/log")
    assert "Nothing was changed" in (await admin.wait_reply()).text
    for command in ("/due DEMO", "/due NOPE"):  # the committee itself is no branch
        await admin.send(command)
        assert "There is no branch" in (await admin.wait_reply()).text
    # Admins may read any branch's /due in their subtree, and browse it.
    await admin.send("/due DEMO-B2")
    due = await admin.wait_reply()
    assert "What is due: Second Party Branch" in due.text
    await admin.press(due, "‹ Previous period")
    assert "Periods containing" in (await admin.wait_edit()).text
    [stored, _] = await activities(db)
    assert not stored.voided and stored.topic == "学习"


async def test_secretaries_stay_inside_their_branch(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    # Buttons naming another branch's activity or /due (ac:v, ac:e, ac:x, du, this month's and
    # the previous one's) are pressed by tests/test_forged_buttons.py.
    await add_activity(db, "DEMO-B1", org_today(), (K.TALK,))
    secretary = await as_user(client, demo, "陈静")
    await secretary.send("/report compliance")
    assert "Nothing was changed" in (await secretary.wait_reply()).text
    stranger = await client.user(777, "Stranger")
    await stranger.send("/log")
    assert "not registered" in (await stranger.wait_reply()).text
    [stored] = await activities(db)
    assert not stored.voided


async def test_a_secretary_of_two_branches_sees_and_switches_between_both(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    today = org_today()
    await add_activity(db, "DEMO-B1", today, (K.COMMITTEE_MEETING,), topic="B1 committee")
    await add_activity(db, "DEMO-B2", today, (K.THEMED_DAY,), topic="B2 themed day")
    await add_activity(db, "DEMO-B3", today, (K.TALK,), topic="B3 talk")
    async with db.begin() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        b2 = await queries.org_by_code(session, "DEMO-B2")
        assert b1 is not None and b2 is not None
        wang = await queries.person_in_branch(session, branch=b1, name="王芳")
        assert wang is not None
        await queries.grant_role(session, person=wang, org_unit=b2, role=Role.SECRETARY)
    secretary = await as_user(client, demo, "王芳")
    # /activities lists both led branches, each line naming its branch; not the third.
    await secretary.send("/activities")
    listing = await secretary.wait_reply()
    assert "Activities (2)" in listing.text
    labels = " | ".join(listing.button_texts)
    assert "DEMO-B1" in labels and "B1 committee" in labels
    assert "DEMO-B2" in labels and "B2 themed day" in labels
    assert "B3 talk" not in labels
    # /due shows the first branch and offers the other; switching keeps the period.
    await secretary.send("/due")
    due = await secretary.wait_reply()
    assert "First Party Branch" in due.text and "DEMO-B2" in due.button_texts
    await secretary.press(due, "DEMO-B2")
    switched = await secretary.wait_edit()
    assert "Second Party Branch" in switched.text
    assert "✅ themed Party day (" in switched.text
    assert "DEMO-B1" in switched.button_texts
    # A code works too, within what they lead.
    await secretary.send("/due DEMO-B2")
    assert "Second Party Branch" in (await secretary.wait_reply()).text
    await secretary.send("/due DEMO-B3")
    assert "There is no branch DEMO-B3 in your subtree." in (await secretary.wait_reply()).text


async def test_due_before_and_after_logging(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    today = org_today()
    secretary = await as_user(client, demo, "王芳")
    await secretary.send("/due")
    due = await secretary.wait_reply()
    month = format_skeleton("yMMMM", today, locale="en")
    assert f"Periods containing {month}" in due.text
    for line in expected_due([], today, today):
        assert line in due.text
    month_end = period_containing(PeriodKind.MONTH, today).end
    days = (month_end - today).days
    unit = "day" if days == 1 else "days"
    assert f"⏳ branch committee meeting ({month}): due, {days} {unit} left" in due.text
    # One meeting that was both a general meeting and a Party lecture counts for both.
    await secretary.send("general meeting + party lecture today 4/4 topic: the constitution")
    summary = await secretary.wait_reply()
    await secretary.press(summary, "Save")
    await secretary.wait_edit()
    await secretary.send("/due")
    due = await secretary.wait_reply()
    facts = [ActivityFact(1, today, frozenset({K.GENERAL_MEETING, K.LECTURE}))]
    for line in expected_due(facts, today, today):
        assert line in due.text
    done_on = format_skeleton("MMMd", today, locale="en")
    assert "✅ branch general meeting (" in due.text and f"done on {done_on}" in due.text
    assert "✅ Party lecture (" in due.text
    # The previous month's periods: whatever was owed there and not done is overdue.
    await secretary.press(due, "‹ Previous period")
    previous = await secretary.wait_edit()
    last_month = previous_period(period_containing(PeriodKind.MONTH, today))
    label = format_skeleton("yMMMM", last_month.start, locale="en")
    assert f"Periods containing {label}" in previous.text
    assert f"❗ branch committee meeting ({label}): overdue" in previous.text
    for line in expected_due(facts, last_month.end, today):
        assert line in previous.text
    await secretary.press(previous, "Next period ›")
    assert f"Periods containing {month}" in (await secretary.wait_edit()).text


async def test_due_in_chinese(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    today = org_today()
    await add_activity(db, "DEMO-B3", today, (K.THEMED_DAY,))
    secretary = await as_user(client, demo, "周涛", "zh-hans")
    await secretary.send("/due")
    due = await secretary.wait_reply()
    month = format_skeleton("yMMMM", today, locale="zh_Hans_CN")
    assert "待办事项：机关党支部" in due.text
    assert f"✅ 主题党日（{month}）：已于" in due.text
    assert f"⏳ 支部委员会会议（{month}）：待完成，还剩" in due.text


async def test_admin_compliance_report_with_chart_and_spreadsheet(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    today = org_today()
    await add_activity(db, "DEMO-B1", today, (K.COMMITTEE_MEETING,))
    await add_activity(db, "DEMO-B3", today, (K.GENERAL_MEETING, K.LECTURE))
    voided = await add_activity(db, "DEMO-B2", today, (K.COMMITTEE_MEETING,))
    async with db.begin() as session:
        row = await session.get(type((await activities(db))[0]), voided)
        assert row is not None
        row.voided = True
    facts = {
        "DEMO-B1": [ActivityFact(1, today, frozenset({K.COMMITTEE_MEETING}))],
        "DEMO-B2": [],
        "DEMO-B3": [ActivityFact(2, today, frozenset({K.GENERAL_MEETING, K.LECTURE}))],
    }
    admin = await as_user(client, demo, "林书记")
    await admin.send("/report compliance")
    summary = await admin.wait_reply(timeout=REPORT_WAIT)
    assert "Compliance of Demo Sub-district Committee" in summary.text
    assert "3 branches" in summary.text
    for number, rule in enumerate(DEFAULT_RULES, start=1):
        states = [state_of(rule.key, f, today, today) for f in facts.values()]
        done, due, overdue = (
            states.count(s)
            for s in (ObligationState.DONE, ObligationState.DUE, ObligationState.OVERDUE)
        )
        line = next(li for li in summary.text.splitlines() if li.startswith(f"{number}. "))
        if not done + due + overdue:
            assert (
                line
                == f"{number}. {ENGLISH[rule.key]}: does not apply to these branches in this period"
            )
            continue
        assert line.startswith(f"{number}. {ENGLISH[rule.key]} (")
        assert line.endswith(f"): done {done}, due {due}, overdue {overdue}")
    chart = await admin.wait_reply()
    assert chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")
    assert "Rows: branches; columns: the obligations numbered under the chart." in chart.text
    export = await admin.wait_reply()
    assert export.document is not None
    month = period_containing(PeriodKind.MONTH, today)
    assert export.document.filename == f"compliance-{month.key}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(export.document.data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("Branch code", "Branch", "1. branch general meeting", "1. dates")
    assert [r[0] for r in rows[1:]] == ["DEMO-B1", "DEMO-B2", "DEMO-B3"]
    names = {ObligationState.DONE: "done", ObligationState.DUE: "due"}
    names |= {ObligationState.OVERDUE: "overdue", ObligationState.NOT_APPLICABLE: "not applicable"}
    for row in rows[1:]:
        for number, rule in enumerate(DEFAULT_RULES):
            state = state_of(rule.key, facts[row[0]], today, today)
            assert row[2 + 2 * number] == names[state], (row[0], rule.key)
    assert rows[1][5] == today.isoformat()  # DEMO-B1's committee meeting date
    # The previous month, from the button.
    await admin.press(summary, "‹ Previous period")
    previous = await admin.wait_reply()
    label = format_skeleton("yMMMM", previous_period(month).start, locale="en")
    assert f"Periods containing {label}" in previous.text
    assert (await admin.wait_reply()).photo is not None
    assert (await admin.wait_reply()).document is not None


async def test_report_in_chinese_for_a_chosen_month(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    today = org_today()
    last_month = previous_period(period_containing(PeriodKind.MONTH, today))
    await add_activity(db, "DEMO-B2", last_month.end, (K.COMMITTEE_MEETING,))
    admin = await as_user(client, demo, "林书记", "zh-hans")
    await admin.send("/report compliance 2999-01")
    assert (
        "/report grading" in (await admin.wait_reply(timeout=REPORT_WAIT)).text
    )  # the usage lists every report
    await admin.send(f"/report compliance {last_month.key}")
    summary = await admin.wait_reply(timeout=REPORT_WAIT)
    label = format_skeleton("yMMMM", last_month.start, locale="zh_Hans_CN")
    assert f"统计期：包含{label}的各周期；共 3 个党支部。" in summary.text
    assert f"2. 支部委员会会议（{label}）：已完成 1，待完成 0，已逾期 2" in summary.text
    chart = await admin.wait_reply()
    assert "每行一个支部；各列为图下方编号的事项。" in chart.text
    export = await admin.wait_reply()
    assert export.document is not None
    rows = list(openpyxl.load_workbook(io.BytesIO(export.document.data)).active.values)
    assert rows[0][:3] == ("支部代码", "党支部", "1. 支部党员大会")
    assert [(r[0], r[4]) for r in rows[1:]] == [
        ("DEMO-B1", "已逾期"),
        ("DEMO-B2", "已完成"),
        ("DEMO-B3", "已逾期"),
    ]


async def test_help_lists_the_commands_of_each_role(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    expected = {
        "王芳": ({"/log", "/activities", "/due"}, {"/report"}),
        "李强": ({"/activities"}, {"/log", "/due", "/report"}),
        "林书记": ({"/activities", "/report"}, {"/log", "/due"}),
    }
    for name, (shown, hidden) in expected.items():
        user = await as_user(client, demo, name)
        await user.send("/help")
        commands = {line.split()[0] for line in (await user.wait_reply()).text.splitlines()[1:]}
        assert shown <= commands and not hidden & commands, name


async def test_an_activity_too_long_for_one_message_comes_in_parts(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    # A large branch: 2,500 characters of minutes and 200 people absent, over 4,096 in all.
    activity_id = await add_activity(
        db, "DEMO-B1", org_today(), (K.GENERAL_MEETING,), minutes="讨论" * 1250, expected=400
    )
    async with db.begin() as session:
        activity = await session.get(Activity, activity_id)
        assert activity is not None
        activity.absences = [
            {"person_id": None, "name": f"党员{n:03d}", "reason": "work"} for n in range(200)
        ]
    secretary = await as_user(client, demo, "王芳")
    await secretary.send("/activities")
    listing = await secretary.wait_reply()
    await secretary.press(listing, listing.button_texts[0])
    parts = [await secretary.wait_reply()]
    while not parts[-1].button_texts:
        parts.append(await secretary.wait_reply())
    whole = "\n".join(part.text for part in parts)
    assert len(parts) > 1 and all(len(part.text) <= 4096 for part in parts)
    assert f"Activity #{activity_id}" in parts[0].text and "党员199 (on duty at work)" in whole
    # Cut at lines where it can be: the minutes arrive whole; the buttons come with the last.
    assert "Minutes: " + "讨论" * 1250 in whole
    assert "Correct" in parts[-1].button_texts
