"""Study hours and training coverage: a person's year in /training against the target (and a
subtree's own target), the admins' /report training (text, chart, XLSX), class hours set on a
training and on a Party lecture, and the grading items suggested from the training record
and the dues ledger."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.dues.ledger import record_payment, set_standard
from bot.dues.local import set_local
from bot.enums import Role, TrainingAudience, TrainingKind
from bot.fake_telegram import FakeTelegramClient, FakeUser
from bot.grading import service
from bot.rules.dues import month_index
from bot.rules.kinds import ActivityKind
from storage import queries
from storage import training_queries as tq
from storage.db import SessionFactory
from storage.models import AuditEntry, RoleAssignment
from storage.models_reminders import Training, TrainingInvitee
from tests.support.dues import branch, meeting, person
from tests.support.reminders import at

NOW = at("2026-11-20 10:00")


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Settings, "now", lambda self: NOW)


async def _training(
    db: SessionFactory,
    when: str,
    audience: TrainingAudience,
    attended: tuple[str, ...],
    *,
    kind: TrainingKind = TrainingKind.ROTATION,
    hours: int | None = None,
) -> int:
    async with db.begin() as session:
        demo_node = await queries.org_by_code(session, "DEMO")
        assert demo_node is not None
        training = await tq.add_training(
            session,
            org=demo_node,
            kind=kind,
            audience=audience,
            title=f"Study {when}",
            place="Room 1",
            starts_at=at(when),
            created_by=None,
        )
        training.class_hours = hours
        for name in attended:
            who = await person(db, name)
            await session.execute(
                update(TrainingInvitee)
                .where(
                    TrainingInvitee.training_id == training.id,
                    TrainingInvitee.person_id == who.id,
                )
                .values(attended=True)
            )
        return training.id


async def _appointed(db: SessionFactory, name: str, when: str) -> None:
    who = await person(db, name)
    async with db.begin() as session:
        await session.execute(
            update(RoleAssignment)
            .where(RoleAssignment.person_id == who.id, RoleAssignment.role == Role.SECRETARY)
            .values(created_at=at(when))
        )


async def _year(db: SessionFactory) -> None:
    """王芳 at a rotation training in June (a full day, 8); 李强 at a two-day training in
    September (16); B1's Party lectures in March (everyone, 4 by default) and September (李强
    absent, 2); 周涛 appointed secretary on June 1 (induction due by November 30)."""
    await _training(db, "2026-06-10 09:00", TrainingAudience.SECRETARIES, ("王芳",))
    await _training(db, "2026-09-10 09:00", TrainingAudience.EVERYONE, ("李强",), hours=16)
    lecture = (ActivityKind.LECTURE,)
    await meeting(db, "DEMO-B1", dt.date(2026, 3, 15), kinds=lecture)
    await meeting(db, "DEMO-B1", dt.date(2026, 9, 15), {"李强": "work"}, lecture, class_hours=2)
    for name in ("王芳", "陈静"):
        await _appointed(db, name, "2024-01-01 10:00")
    await _appointed(db, "周涛", "2026-06-01 10:00")


async def _reply(user: FakeUser, command: str) -> str:
    await user.skip_pending()
    await user.send(command)
    return (await user.wait_reply()).text


async def test_a_persons_year_against_the_target(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _year(db)
    li = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    text = await _reply(li, "/training")
    assert "Your study in 2026: 20 of 32 class hours (the target for members)." in text.replace(
        "<b>", ""
    ).replace("</b>", "")
    assert "Party lectures of your branch: 1 (4 class hours)." in text
    assert "Study 2026-09-10 09:00" in text
    wang = await client.user(demo["王芳"].telegram_id, "王芳", language_code="zh-hans")
    assert "已完成 14 学时，目标 56 学时（书记和支部委员的目标）" in await _reply(wang, "/training")
    # The committee sets a lower target for its members: 李强 has reached it.
    async with db.begin() as session:
        await set_local(session, org=await branch(db, "DEMO"), changes={"study_hours_member": 20})
    assert "20 of 20 class hours" in await _reply(li, "/training")


async def test_admins_see_coverage_and_hours_and_set_class_hours(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _year(db)
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    await admin.send("/report training")
    report = await admin.wait_reply()
    assert "Secretaries with no rotation training this year: 2" in report.text
    assert "• DEMO-B2 陈静" in report.text and "• DEMO-B3 周涛" in report.text
    assert "New secretaries whose induction training is due soon or overdue: 1" in report.text
    assert "• DEMO-B3 周涛: due by Nov 30, 2026" in report.text
    assert "Secretaries and committee members: 0 of 3 reached it" in report.text
    assert "Members: 0 of 9 reached it" in report.text
    chart = await admin.wait_reply()
    assert chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")
    document = await admin.wait_reply()
    assert document.document is not None and document.document.filename == "study-hours-2026.xlsx"
    rows = list(load_workbook(io.BytesIO(document.document.data)).active.values)
    assert rows[0][:6] == (
        "Branch code",
        "Name",
        "Leads the branch",
        "Class hours",
        "Target",
        "Target reached",
    )
    li = next(row for row in rows if row[1] == "李强")
    assert li[:7] == ("DEMO-B1", "李强", "no", 20, 32, "no", 1)
    wang = next(row for row in rows if row[1] == "王芳")
    assert wang[2:5] == ("yes", 14, 56)
    # An upcoming training carries a full day by default; the admin makes it two days.
    upcoming = await _training(db, "2026-12-01 09:00", TrainingAudience.SECRETARIES, ())
    await admin.send("/training")
    menu = await admin.wait_reply()
    await admin.press(menu, next(b for b in menu.button_texts if "2026-12-01" in b))
    view = await admin.wait_edit()
    await admin.press(view, "Class hours: 8")
    choices = await admin.wait_edit()
    await admin.press(choices, "16")
    assert "Saved: 16 class hours." in (await admin.wait_edit()).text
    async with db() as session:
        training = await session.get(Training, upcoming)
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "training.class_hours")
        )
    assert training is not None and training.class_hours == 16
    assert audit is not None and audit.details == {"hours": 16}
    # The secretary sets the class hours of a Party lecture from /activities.
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    await secretary.send("/activities")
    listing = await secretary.wait_reply()
    await secretary.press(listing, next(b for b in listing.button_texts if "09-15" in b))
    activity = await secretary.wait_edit()
    await secretary.press(activity, "Class hours: 2")
    choices = await secretary.wait_edit()
    await secretary.press(choices, "3")
    assert "Saved: 3 class hours." in (await secretary.wait_edit()).text
    assert "15 of 56 class hours" in await _reply(secretary, "/training")


async def test_grading_items_are_suggested_from_the_record_and_the_ledger(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _year(db)
    b1 = await branch(db, "DEMO-B1")
    async with db.begin() as session:
        for name in ("王芳", "李强", "张伟", "刘洋"):
            who = await person(db, name)
            await set_standard(
                session, person=who, from_month=month_index(2026, 1), fen=1000, actor=None, now=NOW
            )
            for month in range(1, 11 if name != "张伟" else 3):
                await record_payment(
                    session,
                    branch=b1,
                    person=who,
                    month=month_index(2026, month),
                    latest=month_index(2026, 12),
                    actor=None,
                    today=NOW.date(),
                )
        root = await queries.org_by_code(session, "DEMO")
        assert root is not None
        await service.start_campaign(
            session,
            root=root,
            deadline=NOW + dt.timedelta(days=30),
            config=service.make_config(),
            now=NOW,
        )
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    await secretary.press(card, "Answer the questionnaire")
    question = await secretary.wait_reply()
    await secretary.press(question, "Skip ▶")
    training = await secretary.wait_edit()
    assert " 2/27" in training.text
    assert "Training record 2026: rotation or induction trainings the secretary attended: 1." in (
        training.text
    )
    assert "Suggested answer: Yes" in training.text
    await secretary.press(training, "Skip ▶")
    study = await secretary.wait_edit()
    assert "Training record 2026: the secretary's class hours: 14 of 56." in study.text
    assert "Suggested answer: 14" in study.text
    message = study
    while "Party dues were collected in full every month" not in message.text:
        await secretary.press(message, "Skip ▶")
        message = await secretary.wait_edit()
    # 张伟 paid January and February only: collected in full in those two months of eleven;
    # his arrears began in March, more than six months before November.
    assert "Dues ledger 2026: collected in full in 2 of 11 months so far." in message.text
    assert "Suggested answer: Partly" in message.text
    await secretary.press(message, "Skip ▶")
    arrears = await secretary.wait_edit()
    assert "Dues ledger: members owing dues for more than six months: 1." in arrears.text
    assert "Suggested answer: 1" in arrears.text
    await secretary.press(arrears, "Skip ▶")
    published = await secretary.wait_edit()
    assert "Dues ledger 2026: the account is not published yet." in published.text
    assert "Suggested answer: No" in published.text
