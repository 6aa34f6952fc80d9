"""How reminders read: in the recipient's language and time zone, built at send time.

Rendering returns text and what the message offers (an invitation's answer buttons are named
by the training they answer); the keyboards themselves are built on the handlers' side.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.constants import MessageLimit

from bot.activities import KIND_LABELS
from bot.enums import ReminderKind
from bot.grading.scoring import GRADE_NAMES, Grade
from bot.i18n import N_, Translator
from bot.meetings.messages import meeting_messages
from bot.reminders.branch_dates import branch_date_line
from bot.reminders.payloads import (
    CalendarPayload,
    Deadline,
    DigestPayload,
    EscalationPayload,
    GradingNews,
    GradingPayload,
    InductionPayload,
    MeetingPayload,
    MobileReportPayload,
    PayloadError,
    PreparationPayload,
    RectificationPayload,
    ReminderPayload,
    TermPayload,
    ThemedDayPayload,
    TrainingPayload,
    payload_of,
)
from bot.reminders.render_dues import DUES_KIND_NAMES, DUES_LINES, dues_icon
from bot.rules.calendar import DEFAULT_RULES
from bot.telegram_text import split_message
from storage import reminder_queries as rq
from storage.models_reminders import Reminder, Training

log = logging.getLogger(__name__)

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
    ReminderKind.MEETING: N_("meetings (a day and an hour before)"),
    ReminderKind.PREPARATION: N_("preparing the organisational life meeting"),
    ReminderKind.THEMED_DAY: N_("themed Party day"),
    ReminderKind.DEPUTY_CALENDAR: N_("the branch's calendar (as deputy)"),
    **DUES_KIND_NAMES,
}


def escape(text: str) -> str:
    """Stored user text inside our HTML messages."""
    return html.escape(text, quote=False)


@dataclass(frozen=True, slots=True)
class Item:
    """A reminder row with its typed payload."""

    row: Reminder
    payload: ReminderPayload


@dataclass(slots=True)
class Names:
    """What a batch of reminders mentions, loaded once."""

    mentioned: rq.Mentioned

    def branch(self, tr: Translator, branch_id: int | None) -> str:
        unit = self.mentioned.branches.get(branch_id) if branch_id is not None else None
        return escape(unit.display_name(tr.locale)) if unit else "?"

    def person(self, person_id: int | None) -> str:
        name = self.mentioned.people.get(person_id) if person_id is not None else None
        return escape(name) if name is not None else "?"

    def training(self, payload: ReminderPayload) -> Training | None:
        if not isinstance(payload, TrainingPayload):
            return None
        return self.mentioned.trainings.get(payload.training_id)


def _refs(payloads: Sequence[ReminderPayload], name: str) -> set[int]:
    """The ids payloads carry in field `name` (not every kind has every field)."""
    return {v for p in payloads if isinstance(v := getattr(p, name, None), int)}


async def load_names(session: AsyncSession, payloads: Sequence[ReminderPayload]) -> Names:
    """Branches, people and trainings the payloads refer to."""
    return Names(
        await rq.mentioned(
            session,
            branch_ids=_refs(payloads, "branch_id"),
            person_ids=_refs(payloads, "person_id"),
            training_ids=_refs(payloads, "training_id"),
        )
    )


def _day(tr: Translator, value: dt.date | None) -> str:
    return tr.date(value) if value is not None else "?"


def _activity(tr: Translator, rule_key: str | None) -> str:
    kind = RULE_KINDS.get(rule_key or "")
    return tr._(KIND_LABELS[kind]) if kind is not None else escape(str(rule_key))


def when(tr: Translator, value: dt.datetime) -> str:
    """A date with its year and a time without seconds, in the reader's zone and locale."""
    return tr.datetime(value)


def training_line(tr: Translator, training: Training) -> str:
    """A training's title, time and place in one line."""
    return tr._("“{title}” on {time}, {place}").format(
        title=escape(training.title),
        time=when(tr, training.starts_at),
        place=escape(training.place),
    )


def obsolete(item: Item, names: Names, now: dt.datetime) -> bool:
    """True when the reminder no longer makes sense (its training started or was cancelled)."""
    if not isinstance(item.payload, TrainingPayload):
        return False
    training = names.training(item.payload)
    if training is None or training.starts_at <= now:
        return True
    # The notice that a training is off is the one message its cancellation leaves.
    return training.cancelled_at is not None and not item.payload.cancelled


# ---- one line per kind --------------------------------------------------------------------------


def _training(tr: Translator, p: TrainingPayload, names: Names) -> str:
    training = names.training(p)
    if training is None:
        return "?"
    if p.cancelled:
        text = tr._("Cancelled: the training {training} will not take place.")
    elif p.lead == "1h":
        text = tr._("Training in one hour: {training}")
    elif p.lead == "24h":
        text = tr._("Training tomorrow: {training}")
    else:
        text = tr._("You are invited to a training: {training}")
    return text.format(training=training_line(tr, training))


def _calendar(tr: Translator, p: CalendarPayload, names: Names) -> str:
    values = {
        "branch": names.branch(tr, p.branch_id),
        "activity": _activity(tr, p.rule),
        "date": _day(tr, p.due_day),
    }
    if p.overdue:
        return tr._("{branch}: the {activity} was due by {date} and is not logged.").format(
            **values
        )
    if p.days == 1:
        return tr._("{branch}: today is the last day for the {activity}.").format(**values)
    return tr._("{branch}: the {activity} is not logged yet; due by {date}.").format(**values)


def _escalation(tr: Translator, p: EscalationPayload, names: Names) -> str:
    values = {
        "branch": names.branch(tr, p.branch_id),
        "date": _day(tr, p.due_day),
        "name": names.person(p.person_id),
        "activity": _activity(tr, p.rule),
    }
    if p.about is ReminderKind.INDUCTION:
        return tr._(
            "{name} ({branch}) has not completed induction training, due by {date}."
        ).format(**values)
    return tr._("{branch} has not logged the {activity}, overdue since {date}.").format(**values)


def _induction(tr: Translator, p: InductionPayload, names: Names) -> str:
    if p.overdue:
        return tr._(
            "Your induction training was due by {date}. Please contact the organisation department."
        ).format(date=_day(tr, p.due_day))
    days = p.days or 0
    return tr.ngettext(
        "Complete your induction training by {date} ({days} day left).",
        "Complete your induction training by {date} ({days} days left).",
        days,
    ).format(date=_day(tr, p.due_day), days=days)


def _term(tr: Translator, p: TermPayload, names: Names) -> str:
    values = {"branch": names.branch(tr, p.branch_id), "date": _day(tr, p.ends_on)}
    if p.months == 2:
        return tr._(
            "{branch}: the committee's term ends on {date}; the request for the branch "
            "election is due now."
        ).format(**values)
    return tr._(
        "{branch}: the committee's term ends on {date}; start preparing the branch election."
    ).format(**values)


def _mobile_report(tr: Translator, p: MobileReportPayload, names: Names) -> str:
    if p.overdue:
        return tr._("Your yearly report to your home branch was due by {date}.").format(
            date=_day(tr, p.due_day)
        )
    return tr._("Send your yearly report to your home branch by {date}.").format(
        date=_day(tr, p.due_day)
    )


def _grading(tr: Translator, p: GradingPayload, names: Names) -> str:
    values = {
        "branch": names.branch(tr, p.branch_id),
        "year": p.year,
        "date": _day(tr, p.due_day),
    }
    if p.survey:
        return tr._(
            "Last day to answer the satisfaction survey about your branch, {branch} "
            "(classification and grading {year}): send /survey."
        ).format(**values)
    if p.overdue:
        return tr._(
            "{branch}: the self-assessment for classification and grading {year} was due by "
            "{date} and is not submitted."
        ).format(**values)
    return tr._(
        "{branch}: submit the self-assessment for classification and grading {year} by {date}."
    ).format(**values)


def _grading_news(tr: Translator, p: GradingNews, names: Names) -> str:
    branch = names.branch(tr, p.branch_id)
    if p.event == "opened":
        return tr._(
            "{branch}: the classification and grading campaign {year} has started. Answer "
            "the self-assessment by {deadline}: send /grade."
        ).format(
            branch=branch,
            year=p.year,
            deadline=tr.datetime(p.deadline) if p.deadline is not None else "?",
        )
    grade = p.grade
    text = tr._("{branch}: classification and grading {year}: graded {grade}.").format(
        branch=branch,
        year=p.year,
        grade=tr._(GRADE_NAMES[grade]) if grade in GRADE_NAMES else "—",
    )
    if grade == Grade.WEAK:
        text += "\n" + tr._(
            "Please enter the rectification: each problem with its measures, deadline "
            "and responsible person. Send /grade."
        )
    return text


def _rectification(tr: Translator, p: RectificationPayload, names: Names) -> str:
    # The problem as the secretary or admin wrote it.
    title = escape(p.title)
    if p.overdue:
        return tr._("“{title}” was due by {date}.").format(title=title, date=_day(tr, p.due_day))
    return tr._("“{title}” is due by {date}.").format(title=title, date=_day(tr, p.due_day))


def _digest(tr: Translator, p: DigestPayload, names: Names) -> str:
    return ""


def _branch_date(tr: Translator, p: PreparationPayload | ThemedDayPayload, names: Names) -> str:
    return branch_date_line(tr, p, names.branch(tr, p.branch_id))


def _meeting(tr: Translator, p: MeetingPayload, names: Names) -> str:
    # Meeting rows go as messages of their own (bot.meetings.messages); never in a digest.
    return ""


_LINES: dict[type[Any], Callable[[Translator, Any, Names], str]] = {
    TrainingPayload: _training,
    CalendarPayload: _calendar,
    EscalationPayload: _escalation,
    InductionPayload: _induction,
    TermPayload: _term,
    MobileReportPayload: _mobile_report,
    GradingPayload: _grading,
    GradingNews: _grading_news,
    RectificationPayload: _rectification,
    DigestPayload: _digest,
    PreparationPayload: _branch_date,
    ThemedDayPayload: _branch_date,
    MeetingPayload: _meeting,
    **DUES_LINES,
}


def line(tr: Translator, payload: ReminderPayload, names: Names) -> str:
    """One reminder as one line (alone, in a coalesced message, or in the digest)."""
    return _LINES[type(payload)](tr, payload, names)


def icon(item: Item) -> str:
    """The mark of a reminder sent on its own."""
    payload = item.payload
    if (mark := dues_icon(payload)) is not None:
        return mark
    if isinstance(payload, EscalationPayload) or (
        isinstance(payload, Deadline) and payload.overdue
    ):
        return "⚠️ "
    if isinstance(payload, GradingNews):  # news about grading, not a reminder
        return "📋 "
    return "⏰ "


# ---- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One message to send, the reminders it carries, and the training whose invitation it
    is (answered with buttons the handlers' side builds)."""

    ids: tuple[int, ...]
    text: str
    invitation_to: int | None = None
    # What else it offers, as another feature's handlers build it (a meeting's buttons).
    offer: object | None = None


def fit(text: str) -> str:
    """One message, whatever the length: a digest is one message by design, so one too long
    for Telegram ends, at a line break, with "…" (cutting the HTML anywhere could break a tag,
    and Telegram would refuse the whole message)."""
    parts = split_message(text, int(MessageLimit.MAX_TEXT_LENGTH) - 2)
    return parts[0] if len(parts) == 1 else parts[0] + "\n…"


def readable(rows: Sequence[Reminder]) -> tuple[list[Item], list[int]]:
    """The rows whose payload fits their kind, and the ids of those that do not."""
    items, unreadable = [], []
    for row in rows:
        try:
            items.append(Item(row, payload_of(row.kind, row.payload)))
        except PayloadError as exc:
            log.warning("reminder %s has an unreadable payload: %s", row.id, exc)
            unreadable.append(row.id)
    return items, unreadable


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
    items, _ = readable(list(latest.values()))
    if not items:
        return None
    names = await load_names(session, [item.payload for item in items])
    week = now + dt.timedelta(days=7)
    sections: list[tuple[str, list[str]]] = [
        (tr._("<b>Overdue</b>"), []),
        (tr._("<b>Due this week</b>"), []),
        (tr._("<b>Coming up</b>"), []),
    ]
    for item in sorted(items, key=lambda i: (i.row.deadline or now, i.row.id)):
        deadline = item.row.deadline or now
        index = 0 if deadline <= now else 1 if deadline <= week else 2
        sections[index][1].append("• " + line(tr, item.payload, names))
    parts = [tr._("🗓 <b>Your week</b>")]
    parts += [title + "\n" + "\n".join(lines) for title, lines in sections if lines]
    return fit("\n\n".join(parts))


@dataclass(slots=True)
class Composed:
    """The messages for one recipient, and the reminders not to send (with why)."""

    messages: list[Message] = dataclasses.field(default_factory=list)
    obsolete: list[int] = dataclasses.field(default_factory=list)
    unreadable: list[int] = dataclasses.field(default_factory=list)


async def compose(
    session: AsyncSession,
    tr: Translator,
    account_id: int,
    rows: Sequence[Reminder],
    now: dt.datetime,
) -> Composed:
    """The messages for one recipient's claimed reminders.

    Invitations go alone (they carry buttons); everything else due at once is one message.
    """
    items, unreadable = readable(rows)
    names = await load_names(session, [item.payload for item in items])
    composed = Composed(unreadable=unreadable)
    batch: list[Item] = []
    meetings = [(i.row.id, i.payload) for i in items if isinstance(i.payload, MeetingPayload)]
    if meetings:
        rendered = await meeting_messages(session, tr, account_id, meetings, now)
        composed.obsolete += rendered.obsolete
        composed.messages += [Message((i,), fit(t), offer=o) for i, t, o in rendered.messages]
    for item in items:
        payload = item.payload
        if isinstance(payload, MeetingPayload):
            continue
        if obsolete(item, names, now):
            composed.obsolete.append(item.row.id)
        elif item.row.kind == ReminderKind.TRAINING_INVITE and isinstance(payload, TrainingPayload):
            composed.messages.append(_invitation(tr, item, payload, names))
        elif isinstance(payload, DigestPayload):
            digest = await digest_text(session, tr, account_id, now)
            if digest is None:
                composed.obsolete.append(item.row.id)
            else:
                composed.messages.append(Message((item.row.id,), digest))
        else:
            batch.append(item)
    if len(batch) == 1:
        item = batch[0]
        composed.messages.append(
            Message((item.row.id,), fit(icon(item) + line(tr, item.payload, names)))
        )
    elif batch:
        header = tr.ngettext(
            "🔔 <b>{count} reminder</b>", "🔔 <b>{count} reminders</b>", len(batch)
        ).format(count=len(batch))
        lines = ["• " + line(tr, item.payload, names) for item in batch]
        composed.messages.append(
            Message(tuple(item.row.id for item in batch), fit(header + "\n" + "\n".join(lines)))
        )
    return composed


def _invitation(tr: Translator, item: Item, payload: TrainingPayload, names: Names) -> Message:
    if payload.cancelled:
        return Message((item.row.id,), fit("❌ " + line(tr, payload, names)))
    text = "📚 " + line(tr, payload, names) + "\n\n" + tr._("Will you attend?")
    return Message((item.row.id,), fit(text), invitation_to=payload.training_id)
