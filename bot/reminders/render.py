"""How reminders read: in the recipient's language and time zone, built at send time."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot.activities import KIND_LABELS
from bot.enums import ReminderKind
from bot.grading.scoring import GRADE_NAMES, Grade
from bot.i18n import N_, Translator
from bot.rules.calendar import DEFAULT_RULES
from bot.telegram_text import split_message
from storage import reminder_queries as rq
from storage.models import OrgUnit, Person
from storage.models_reminders import Reminder, Training

RULE_KINDS = {rule.key: rule.kind for rule in DEFAULT_RULES}

KIND_NAMES: dict[ReminderKind, str] = {
    ReminderKind.TRAINING: N_("trainings"),
    ReminderKind.CALENDAR: N_("activity calendar"),
    ReminderKind.ESCALATION: N_("escalations from branches"),
    ReminderKind.INDUCTION: N_("induction training"),
    ReminderKind.TERM: N_("end of term (branch election)"),
    ReminderKind.GRADING: N_("grading deadlines"),
    ReminderKind.RECTIFICATION: N_("rectification deadlines"),
    ReminderKind.MOBILE_REPORT: N_("mobile member's yearly report"),
    ReminderKind.DIGEST: N_("weekly digest"),
}


def escape(text: str) -> str:
    """Stored user text inside our HTML messages."""
    return html.escape(text, quote=False)


@dataclass(slots=True)
class Names:
    """What reminders mention, loaded once per batch."""

    branches: dict[int, OrgUnit] = field(default_factory=dict)
    people: dict[int, str] = field(default_factory=dict)
    trainings: dict[int, Training] = field(default_factory=dict)

    def branch(self, tr: Translator, branch_id: object) -> str:
        unit = self.branches.get(branch_id) if isinstance(branch_id, int) else None
        return escape(unit.display_name(tr.locale)) if unit else "?"


async def load_names(session: AsyncSession, rows: Sequence[Reminder]) -> Names:
    """Branches, people and trainings the rows' payloads refer to."""
    branch_ids = {r.payload.get("branch_id") for r in rows} - {None}
    person_ids = {r.payload.get("person_id") for r in rows} - {None}
    training_ids = {r.payload.get("training_id") for r in rows} - {None}
    names = Names()
    if branch_ids:
        units = await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(branch_ids)))
        names.branches = {u.id: u for u in units}
    if person_ids:
        people = await session.execute(
            select(Person.id, Person.name).where(Person.id.in_(person_ids))
        )
        names.people = {row[0]: row[1] for row in people}
    if training_ids:
        trainings = await session.scalars(select(Training).where(Training.id.in_(training_ids)))
        names.trainings = {t.id: t for t in trainings}
    return names


def _day(tr: Translator, row: Reminder) -> str:
    value = row.payload.get("due_day") or row.payload.get("ends_on")
    return tr.date(dt.date.fromisoformat(value)) if isinstance(value, str) else "?"


def _activity(tr: Translator, rule_key: object) -> str:
    kind = RULE_KINDS.get(str(rule_key))
    return tr._(KIND_LABELS[kind]) if kind is not None else escape(str(rule_key))


def when(tr: Translator, value: dt.datetime) -> str:
    """A date with its year and a time without seconds, in the reader's zone and locale."""
    return f"{tr.date(value.astimezone(tr.tz).date())} {tr.time(value)}"


def training_line(tr: Translator, training: Training) -> str:
    """A training's title, time and place in one line."""
    return tr._("“{title}” on {time}, {place}").format(
        title=escape(training.title),
        time=when(tr, training.starts_at),
        place=escape(training.place),
    )


def obsolete(row: Reminder, names: Names, now: dt.datetime) -> bool:
    """True when the reminder no longer makes sense (its training started or was cancelled)."""
    if row.kind in (ReminderKind.TRAINING, ReminderKind.TRAINING_INVITE):
        training = names.trainings.get(row.payload.get("training_id", -1))
        if training is None or training.starts_at <= now:
            return True
        # The notice that a training is off is the one message its cancellation leaves.
        return training.cancelled_at is not None and not row.payload.get("cancelled")
    return False


def line(tr: Translator, row: Reminder, names: Names) -> str:
    """One reminder as one line (alone, in a coalesced message, or in the digest)."""
    p = row.payload
    kind = ReminderKind(row.kind)
    if kind in (ReminderKind.TRAINING, ReminderKind.TRAINING_INVITE):
        training = names.trainings.get(p.get("training_id", -1))
        if training is None:
            return "?"
        if p.get("cancelled"):
            text = tr._("Cancelled: the training {training} will not take place.")
        elif p.get("lead") == "1h":
            text = tr._("Training in one hour: {training}")
        elif p.get("lead") == "24h":
            text = tr._("Training tomorrow: {training}")
        else:
            text = tr._("You are invited to a training: {training}")
        return text.format(training=training_line(tr, training))
    if kind is ReminderKind.CALENDAR:
        values = {
            "branch": names.branch(tr, p.get("branch_id")),
            "activity": _activity(tr, p.get("rule")),
            "date": _day(tr, row),
        }
        if p.get("overdue"):
            return tr._("{branch}: the {activity} was due by {date} and is not logged.").format(
                **values
            )
        if p.get("days") == 1:
            return tr._("{branch}: today is the last day for the {activity}.").format(**values)
        return tr._("{branch}: the {activity} is not logged yet; due by {date}.").format(**values)
    if kind is ReminderKind.ESCALATION:
        values = {
            "branch": names.branch(tr, p.get("branch_id")),
            "date": _day(tr, row),
            "name": escape(names.people.get(p.get("person_id", -1), "?")),
            "activity": _activity(tr, p.get("rule")),
        }
        if p.get("about") == ReminderKind.INDUCTION:
            return tr._(
                "{name} ({branch}) has not completed induction training, due by {date}."
            ).format(**values)
        return tr._("{branch} has not logged the {activity}, overdue since {date}.").format(
            **values
        )
    if kind is ReminderKind.INDUCTION:
        if p.get("overdue"):
            return tr._(
                "Your induction training was due by {date}. Please contact the organisation "
                "department."
            ).format(date=_day(tr, row))
        days = int(p.get("days", 0))
        return tr.ngettext(
            "Complete your induction training by {date} ({days} day left).",
            "Complete your induction training by {date} ({days} days left).",
            days,
        ).format(date=_day(tr, row), days=days)
    if kind is ReminderKind.TERM:
        values = {"branch": names.branch(tr, p.get("branch_id")), "date": _day(tr, row)}
        if p.get("months") == 2:
            return tr._(
                "{branch}: the committee's term ends on {date}; the request for the branch "
                "election is due now."
            ).format(**values)
        return tr._(
            "{branch}: the committee's term ends on {date}; start preparing the branch election."
        ).format(**values)
    if kind is ReminderKind.MOBILE_REPORT:
        if p.get("overdue"):
            return tr._("Your yearly report to your home branch was due by {date}.").format(
                date=_day(tr, row)
            )
        return tr._("Send your yearly report to your home branch by {date}.").format(
            date=_day(tr, row)
        )
    if kind is ReminderKind.GRADING:
        values = {
            "branch": names.branch(tr, p.get("branch_id")),
            "year": p.get("year", "?"),
            "date": _day(tr, row),
        }
        if p.get("event") == "opened":
            deadline = p.get("deadline")
            return tr._(
                "{branch}: the classification and grading campaign {year} has started. Answer "
                "the self-assessment by {deadline}: send /grade."
            ).format(
                deadline=tr.datetime(dt.datetime.fromisoformat(deadline), "short")
                if isinstance(deadline, str)
                else "?",
                **values,
            )
        if p.get("event") == "graded":
            grade = p.get("grade")
            text = tr._("{branch}: classification and grading {year}: graded {grade}.").format(
                grade=tr._(GRADE_NAMES[grade]) if grade in GRADE_NAMES else "—", **values
            )
            if grade == Grade.WEAK:
                text += "\n" + tr._(
                    "Please enter the rectification: each problem with its measures, deadline "
                    "and responsible person. Send /grade."
                )
            return text
        if p.get("survey"):
            return tr._(
                "Last day to answer the satisfaction survey about your branch, {branch} "
                "(classification and grading {year}): send /survey."
            ).format(**values)
        if p.get("overdue"):
            return tr._(
                "{branch}: the self-assessment for classification and grading {year} was due by "
                "{date} and is not submitted."
            ).format(**values)
        return tr._(
            "{branch}: submit the self-assessment for classification and grading {year} by {date}."
        ).format(**values)
    # Rectification: the problem as the secretary or admin wrote it.
    title = escape(str(p.get("title", "")))
    if p.get("overdue"):
        return tr._("“{title}” was due by {date}.").format(title=title, date=_day(tr, row))
    return tr._("“{title}” is due by {date}.").format(title=title, date=_day(tr, row))


def rsvp_keyboard(tr: Translator, training_id: int) -> InlineKeyboardMarkup:
    """Attend / decline buttons under an invitation."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(tr._("I will attend"), callback_data=f"trn:y:{training_id}"),
                InlineKeyboardButton(tr._("I can't attend"), callback_data=f"trn:n:{training_id}"),
            ]
        ]
    )


@dataclass(frozen=True, slots=True)
class Message:
    """One message to send and the reminders it carries."""

    ids: tuple[int, ...]
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def _fit(text: str) -> str:
    """One message, whatever the length: a digest is one message by design, so one too long
    for Telegram ends, at a line break, with "…" (cutting the HTML anywhere could break a tag,
    and Telegram would refuse the whole message)."""
    parts = split_message(text, int(MessageLimit.MAX_TEXT_LENGTH) - 2)
    return parts[0] if len(parts) == 1 else parts[0] + "\n…"


async def digest_text(
    session: AsyncSession, tr: Translator, account_id: int, now: dt.datetime
) -> str | None:
    """The weekly digest: overdue, due this week, coming up. None when there is nothing."""
    rows = await rq.digest_items(
        session,
        account_id=account_id,
        start=now - dt.timedelta(days=30),
        end=now + dt.timedelta(days=31),
    )
    latest: dict[str, Reminder] = {}
    for row in rows:
        latest[row.subject] = row  # one line per subject, its latest reminder
    if not latest:
        return None
    names = await load_names(session, list(latest.values()))
    week = now + dt.timedelta(days=7)
    sections: list[tuple[str, list[str]]] = [
        (tr._("<b>Overdue</b>"), []),
        (tr._("<b>Due this week</b>"), []),
        (tr._("<b>Coming up</b>"), []),
    ]
    for row in sorted(latest.values(), key=lambda r: (r.deadline or now, r.id)):
        deadline = row.deadline or now
        index = 0 if deadline <= now else 1 if deadline <= week else 2
        sections[index][1].append("• " + line(tr, row, names))
    parts = [tr._("🗓 <b>Your week</b>")]
    parts += [title + "\n" + "\n".join(items) for title, items in sections if items]
    return _fit("\n\n".join(parts))


async def compose(
    session: AsyncSession,
    tr: Translator,
    account_id: int,
    rows: Sequence[Reminder],
    now: dt.datetime,
) -> tuple[list[Message], list[int]]:
    """The messages for one recipient's claimed reminders, and the ids that are obsolete.

    Invitations go alone (they carry buttons); everything else due at once is one message.
    """
    names = await load_names(session, rows)
    messages: list[Message] = []
    skipped: list[int] = []
    batch: list[Reminder] = []
    for row in rows:
        if obsolete(row, names, now):
            skipped.append(row.id)
        elif row.kind == ReminderKind.TRAINING_INVITE and row.payload.get("cancelled"):
            messages.append(Message((row.id,), _fit("❌ " + line(tr, row, names))))
        elif row.kind == ReminderKind.TRAINING_INVITE:
            text = "📚 " + line(tr, row, names) + "\n\n" + tr._("Will you attend?")
            messages.append(
                Message((row.id,), _fit(text), rsvp_keyboard(tr, row.payload["training_id"]))
            )
        elif row.kind == ReminderKind.DIGEST:
            digest = await digest_text(session, tr, account_id, now)
            if digest is None:
                skipped.append(row.id)
            else:
                messages.append(Message((row.id,), digest))
        else:
            batch.append(row)
    if len(batch) == 1:
        row = batch[0]
        if row.kind == ReminderKind.ESCALATION or row.payload.get("overdue"):
            icon = "⚠️ "
        elif row.payload.get("event"):  # news about grading, not a reminder
            icon = "📋 "
        else:
            icon = "⏰ "
        messages.append(Message((row.id,), _fit(icon + line(tr, row, names))))
    elif batch:
        header = tr.ngettext(
            "🔔 <b>{count} reminder</b>", "🔔 <b>{count} reminders</b>", len(batch)
        ).format(count=len(batch))
        items = ["• " + line(tr, row, names) for row in batch]
        messages.append(
            Message(tuple(row.id for row in batch), _fit(header + "\n" + "\n".join(items)))
        )
    return messages, skipped
